package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// The tests in this file drive the real socket.io-client (testdata/socketio,
// pinned by its lockfile, installed by scripts/node-deps.sh) on Node.js
// against the server's /socket.io/ endpoint, beside /ws users of the Go
// client.

// repoRoot is the module's directory.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var nodeDeps struct {
	sync.Once
	err error
}

// sioReport is one line the driver reports.
type sioReport struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	Event     string            `json:"event"`
	Data      json.RawMessage   `json:"data"`
	Message   string            `json:"message"`
	Reason    string            `json:"reason"`
	Transport string            `json:"transport"`
	Engine    string            `json:"engine"`
	Tag       string            `json:"tag"`
	Args      []json.RawMessage `json:"args"`
}

func (r sioReport) String() string {
	return fmt.Sprintf("%s %s %s %s%s%s", r.Type, r.Event, r.Data, r.Message, r.Reason, r.Tag)
}

func (r sioReport) decode(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.Data, v), "%s %s", r.Event, r.Data)
}

// sioDriver is one Node.js process running testdata/socketio/client.mjs.
type sioDriver struct {
	t     *testing.T
	stdin io.WriteCloser

	mu      sync.Mutex
	sockets map[string]*sioSocket
	errs    []string
}

// startSIO installs the Node packages (once per test process) and starts a
// driver, which ends with the test.
func startSIO(t *testing.T) *sioDriver {
	t.Helper()
	if testing.Short() {
		// As testenv does for services: -short is the one request to leave
		// out what needs more than Go.
		t.Skip("drives socket.io-client on Node.js; skipped by -short")
	}
	nodeDeps.Do(func() {
		cmd := exec.Command("bash", "scripts/node-deps.sh")
		cmd.Dir = repoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			nodeDeps.err = fmt.Errorf("scripts/node-deps.sh: %v\n%s", err, out)
		}
	})
	require.NoError(t, nodeDeps.err, "the Socket.IO tests need Node.js and the packages of testdata/socketio")

	cmd := exec.Command("node", "client.mjs")
	cmd.Dir = filepath.Join(repoRoot(), "testdata", "socketio")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	d := &sioDriver{t: t, stdin: stdin, sockets: map[string]*sioSocket{}}
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var r sioReport
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				d.fail("unreadable report %q", sc.Text())
				continue
			}
			switch r.Type {
			case "ready":
				close(ready)
			case "error":
				d.fail("driver: %s", r.Message)
			default:
				d.socket(r.ID).add(r)
			}
		}
	}()
	t.Cleanup(func() {
		_ = stdin.Close() // the driver disconnects its sockets and exits
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		_ = cmd.Wait()
		d.mu.Lock()
		defer d.mu.Unlock()
		for _, e := range d.errs {
			t.Error(e)
		}
	})
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatal("the socket.io-client driver did not start")
	}
	return d
}

func (d *sioDriver) fail(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errs = append(d.errs, fmt.Sprintf(format, args...))
}

func (d *sioDriver) socket(id string) *sioSocket {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sockets[id]
	if s == nil {
		s = &sioSocket{d: d, id: id, changed: make(chan struct{})}
		d.sockets[id] = s
	}
	return s
}

// command writes one command; id names its socket.
func (d *sioDriver) command(t *testing.T, cmd map[string]any) {
	t.Helper()
	b, err := json.Marshal(cmd)
	require.NoError(t, err)
	d.mu.Lock()
	defer d.mu.Unlock()
	_, err = d.stdin.Write(append(b, '\n'))
	require.NoError(t, err)
}

// sioOptions are the io() options of a socket the tests set.
type sioOptions struct {
	Transports   []string          `json:"transports,omitempty"`
	Auth         map[string]any    `json:"auth,omitempty"`
	Query        map[string]string `json:"query,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	Reconnection bool              `json:"reconnection,omitempty"`
}

// open creates a socket.io-client socket to base and returns it before it
// connected.
func (d *sioDriver) open(t *testing.T, id, base string, o sioOptions) *sioSocket {
	t.Helper()
	s := d.socket(id)
	d.command(t, map[string]any{
		"cmd": "connect", "id": id, "url": base, "transports": o.Transports, "auth": o.Auth,
		"query": o.Query, "headers": o.Headers, "reconnection": o.Reconnection,
	})
	return s
}

// sioSocket is the reports of one socket.io-client socket.
type sioSocket struct {
	d  *sioDriver
	id string

	mu      sync.Mutex
	log     []sioReport   // every report, in order
	next    int           // the first report expect has not passed
	changed chan struct{} // closed, and replaced, by each report
}

func (s *sioSocket) add(r sioReport) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, r)
	close(s.changed)
	s.changed = make(chan struct{})
}

// expect waits for the next report that match accepts, passing the others.
func (s *sioSocket) expect(t *testing.T, what string, match func(sioReport) bool) sioReport {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		s.mu.Lock()
		for s.next < len(s.log) {
			r := s.log[s.next]
			s.next++
			if match(r) {
				s.mu.Unlock()
				return r
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-timeout:
			s.mu.Lock()
			defer s.mu.Unlock()
			t.Fatalf("socket %s: no %s within 20s; reports: %v", s.id, what, s.log)
		}
	}
}

// event waits for the next event named name.
func (s *sioSocket) event(t *testing.T, name string) sioReport {
	t.Helper()
	return s.expect(t, name, func(r sioReport) bool { return r.Type == "event" && r.Event == name })
}

// connected waits for the socket's connect and registered, and returns the
// connect report.
func (s *sioSocket) connected(t *testing.T, user domain.UserID) sioReport {
	t.Helper()
	c := s.expect(t, "connect", func(r sioReport) bool {
		require.NotEqual(t, "connect_error", r.Type, "socket %s: %s %s", s.id, r.Message, r.Data)
		return r.Type == "connect"
	})
	var reg domain.RegisteredPayload
	s.event(t, domain.EventRegistered).decode(t, &reg)
	require.Equal(t, user, reg.UserID)
	return c
}

// command sends the driver command cmd for the socket, with args.
func (s *sioSocket) command(t *testing.T, cmd string, args map[string]any) {
	t.Helper()
	c := map[string]any{"cmd": cmd, "id": s.id}
	for k, v := range args {
		c[k] = v
	}
	s.d.command(t, c)
}

// emit sends event with data; with a tag, it asks for an acknowledgement,
// which ack waits for.
func (s *sioSocket) emit(t *testing.T, event string, data any, tag string) {
	t.Helper()
	cmd := map[string]any{"cmd": "emit", "id": s.id, "event": event, "data": data}
	if tag != "" {
		cmd["ack"] = tag
	}
	s.d.command(t, cmd)
}

// ack waits for the acknowledgement tagged tag and returns its arguments.
func (s *sioSocket) ack(t *testing.T, tag string) []json.RawMessage {
	t.Helper()
	return s.expect(t, "ack "+tag, func(r sioReport) bool { return r.Type == "ack" && r.Tag == tag }).Args
}

// messages returns the newMessage events of conv the socket received from
// report from on, waiting until there are n.
func (s *sioSocket) messages(t *testing.T, conv domain.ConversationID, from, n int) []domain.Message {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.mu.Lock()
		var out []domain.Message
		for _, r := range s.log[min(from, len(s.log)):] {
			if r.Type != "event" || r.Event != domain.EventNewMessage {
				continue
			}
			var m domain.Message
			require.NoError(t, json.Unmarshal(r.Data, &m))
			if m.ConversationID == conv {
				out = append(out, m)
			}
		}
		changed := s.changed
		s.mu.Unlock()
		if len(out) >= n {
			return out
		}
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("socket %s: %d of %d messages of %s within 20s: %v", s.id, len(out), n, conv, sequences(out))
		}
	}
}

// upgraded waits for the socket's upgrade, which may come before or after
// its connect, and returns the transport it upgraded to.
func (s *sioSocket) upgraded(t *testing.T) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s.mu.Lock()
		for _, r := range s.log {
			if r.Type == "upgrade" {
				s.mu.Unlock()
				return r.Transport
			}
		}
		changed := s.changed
		s.mu.Unlock()
		select {
		case <-changed:
		case <-time.After(time.Until(deadline)):
			t.Fatalf("socket %s: no upgrade within 20s", s.id)
		}
	}
}

// mark is the position a later messages call counts from.
func (s *sioSocket) mark() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// sioUser is a registered user who talks through socket.io-client.
type sioUser struct {
	*user
	sock *sioSocket
}

// connectSIO connects u's socket.io-client socket to base, with the token
// in auth, and waits for registered.
func connectSIO(t *testing.T, d *sioDriver, u *user, id, base string, transports []string) *sioUser {
	t.Helper()
	s := d.open(t, id, base, sioOptions{Transports: transports, Auth: map[string]any{"token": u.Token()}})
	c := s.connected(t, u.id)
	if len(transports) == 1 {
		require.Equal(t, transports[0], c.Transport)
	} else {
		require.Equal(t, "websocket", s.upgraded(t), "socket.io-client upgrades long-polling to a WebSocket")
	}
	return &sioUser{user: u, sock: s}
}

// The transports socket.io-client is tested with: long-polling alone, the
// WebSocket alone, and its default, long-polling upgraded to a WebSocket.
var sioTransports = map[string][]string{
	"polling":   {"polling"},
	"websocket": {"websocket"},
	"upgrade":   {"polling", "websocket"},
}

// socketIOScenario runs the checks with alice on socket.io-client
// through baseA, bob on /ws through baseB and carol on socket.io-client
// through baseB: sends with acknowledgements, newMessage from a /ws user and
// from a Socket.IO user, typing both ways, a resume after a forced
// disconnect with nothing lost and nothing twice.
func socketIOScenario(t *testing.T, d *sioDriver, baseA, baseB string, transports []string) {
	ctx := context.Background()
	alice, bob, carol := register(t, baseA, "Alice"), register(t, baseB, "Bob"), register(t, baseB, "Carol")
	bob.connect(t, baseB)
	befriend(t, alice, bob)
	befriend(t, alice, carol)
	a := connectSIO(t, d, alice, t.Name()+"/alice", baseA, transports)
	c := connectSIO(t, d, carol, t.Name()+"/carol", baseB, transports)
	ab, err := domain.NewConversationID(alice.id, bob.id)
	require.NoError(t, err)
	ac, err := domain.NewConversationID(alice.id, carol.id)
	require.NoError(t, err)

	// alice sends to bob on /ws: answered by sendResult and through the ack.
	a.sock.emit(t, domain.EventSend, map[string]any{"receiverId": bob.id, "message": "hi bob", "clientMessageId": "a-1"}, "send-1")
	want := ports.SendReceipt{MessageID: domain.DeriveMessageID(alice.id, "a-1"), ClientMessageID: "a-1", ConversationID: ab, Status: "queued"}
	var result ports.SendReceipt
	a.sock.event(t, domain.EventSendResult).decode(t, &result)
	require.Equal(t, want, result)
	args := a.sock.ack(t, "send-1")
	require.Len(t, args, 1)
	var receipt ports.SendReceipt
	require.NoError(t, json.Unmarshal(args[0], &receipt))
	require.Equal(t, want, receipt)
	got := bob.messages(t, 1)[0]
	require.Equal(t, domain.Sequence(1), got.Sequence)
	require.Equal(t, "hi bob", got.Text)
	require.Equal(t, want.MessageID, got.ID)

	// bob, on /ws, answers through his socket's send; carol, on Socket.IO,
	// writes too: alice gets both as newMessage, as does the sender.
	require.NoError(t, bob.conn.Send(ctx, domain.EventSend, map[string]any{"receiverId": alice.id, "message": "hi alice", "clientMessageId": "b-1"}))
	var bobResult ports.SendReceipt
	require.NoError(t, bob.expect(t, domain.EventSendResult).Decode(&bobResult))
	require.Equal(t, "b-1", bobResult.ClientMessageID)
	fromBob := a.sock.messages(t, ab, 0, 2)
	require.Equal(t, []domain.Sequence{1, 2}, sequences(fromBob))
	require.Equal(t, bob.id, fromBob[1].SenderID)
	require.Equal(t, "hi alice", fromBob[1].Text)

	c.sock.emit(t, domain.EventSend, map[string]any{"receiverId": alice.id, "message": "hi from carol", "clientMessageId": "c-1"}, "send-c")
	require.NoError(t, json.Unmarshal(c.sock.ack(t, "send-c")[0], &receipt))
	require.Equal(t, ac, receipt.ConversationID)
	fromCarol := a.sock.messages(t, ac, 0, 1)[0]
	require.Equal(t, carol.id, fromCarol.SenderID)
	require.Equal(t, "hi from carol", fromCarol.Text)
	require.Equal(t, []domain.Sequence{1}, sequences(c.sock.messages(t, ac, 0, 1)), "the sender learns the sequence")

	// A refused send is answered with its clientMessageId, through the ack
	// and the error event.
	stranger := register(t, baseA, "Stranger")
	a.sock.emit(t, domain.EventSend, map[string]any{"receiverId": stranger.id, "message": "hello?", "clientMessageId": "a-x"}, "send-x")
	var refused struct {
		Code, Message, ClientMessageID string
	}
	a.sock.event(t, domain.EventError).decode(t, &refused)
	require.Equal(t, "forbidden", refused.Code)
	require.Equal(t, "a-x", refused.ClientMessageID)
	args = a.sock.ack(t, "send-x")
	require.NoError(t, json.Unmarshal(args[0], &refused))
	require.Equal(t, "forbidden", refused.Code)
	require.Equal(t, "a-x", refused.ClientMessageID)

	// Typing, both ways between Socket.IO and /ws.
	a.sock.emit(t, domain.EventTyping, map[string]any{"receiverId": bob.id, "isTyping": true}, "")
	var typing domain.TypingPayload
	require.NoError(t, bob.expect(t, domain.EventTypingIndicator).Decode(&typing))
	require.Equal(t, domain.TypingPayload{SenderID: alice.id, ConversationID: ab, IsTyping: true}, typing)
	require.NoError(t, bob.conn.Send(ctx, domain.EventTyping, map[string]any{"receiverId": alice.id, "isTyping": false}))
	a.sock.event(t, domain.EventTypingIndicator).decode(t, &typing)
	require.Equal(t, domain.TypingPayload{SenderID: bob.id, ConversationID: ab, IsTyping: false}, typing)

	// joinChat with an acknowledgement: the ack carries chatRegistered's data.
	a.sock.emit(t, domain.EventJoinChat, map[string]any{"conversationId": ab}, "join")
	var joined domain.ConversationPayload
	require.NoError(t, json.Unmarshal(a.sock.ack(t, "join")[0], &joined))
	require.Equal(t, ab, joined.ConversationID)

	// A forced disconnect: the transport under alice's socket closes, bob
	// writes meanwhile, alice reconnects announcing a resume and resumes
	// from sequence 2. She gets 3, 4, 5 and then the live 6, each once.
	a.sock.command(t, "auth", map[string]any{"auth": map[string]any{"token": alice.Token(), "resume": true}})
	a.sock.command(t, "drop", nil)
	a.sock.expect(t, "disconnect", func(r sioReport) bool { return r.Type == "disconnect" })
	for i := 3; i <= 5; i++ {
		_, err := bob.Send(ctx, clientSend(alice.id, fmt.Sprintf("while away %d", i)))
		require.NoError(t, err)
	}
	from := a.sock.mark()
	a.sock.command(t, "reconnect", nil)
	a.sock.connected(t, alice.id)
	a.sock.emit(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{ab: 2}}, "")
	_, err = bob.Send(ctx, clientSend(alice.id, "live again"))
	require.NoError(t, err)
	resumed := a.sock.messages(t, ab, from, 4)
	// Everything queued for alice before this ack has been written: a
	// repeat would show before it.
	a.sock.emit(t, domain.EventJoinChat, map[string]any{"conversationId": ab}, "after-resume")
	a.sock.ack(t, "after-resume")
	resumed = a.sock.messages(t, ab, from, 4)
	require.Equal(t, []domain.Sequence{3, 4, 5, 6}, sequences(resumed), "nothing lost, nothing twice")
	require.Equal(t, "while away 3", resumed[0].Text)
	require.Equal(t, "live again", resumed[3].Text)

	// A bad token, and none, are refused with a connect error.
	bad := d.open(t, t.Name()+"/bad", baseA, sioOptions{Transports: transports, Auth: map[string]any{"token": "not-a-token"}})
	refusal := bad.expect(t, "connect_error", func(r sioReport) bool { return r.Type == "connect_error" })
	var payload domain.ErrorPayload
	require.NoError(t, json.Unmarshal(refusal.Data, &payload))
	assert.Equal(t, "unauthenticated", payload.Code)
	assert.NotEmpty(t, refusal.Message)
	none := d.open(t, t.Name()+"/none", baseA, sioOptions{Transports: transports})
	none.expect(t, "connect_error", func(r sioReport) bool { return r.Type == "connect_error" })
}

func clientSend(to domain.UserID, text string) client.SendRequest {
	return client.SendRequest{ReceiverID: to, Message: text}
}

func TestSocketIOEmbedded(t *testing.T) {
	d := startSIO(t)
	base := startServer(t, nil)
	for name, transports := range sioTransports {
		t.Run(name, func(t *testing.T) { socketIOScenario(t, d, base, base, transports) })
	}
}

// TestSocketIOTokenPlaces: the token may also come in the handshake's
// access_token query parameter or Authorization header, as on /ws.
func TestSocketIOTokenPlaces(t *testing.T) {
	d := startSIO(t)
	base := startServer(t, nil)
	u := register(t, base, "Dora")
	for name, transports := range sioTransports {
		t.Run(name, func(t *testing.T) {
			q := d.open(t, "query-"+name, base, sioOptions{Transports: transports, Query: map[string]string{"access_token": u.Token()}})
			q.connected(t, u.id)
			h := d.open(t, "header-"+name, base, sioOptions{Transports: transports, Headers: map[string]string{"Authorization": "Bearer " + u.Token()}})
			h.connected(t, u.id)
		})
	}
}

// startNginx runs nginx with deploy/nginx.conf in front of the nodes, each
// named by its node id (server-1, server-2, as the file's replicas are), and
// returns its base URL. It stops with the test.
func startNginx(t *testing.T, nodes map[string]*node) string {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		bin = "/usr/sbin/nginx"
	}
	_, err = os.Stat(bin)
	require.NoError(t, err, "the Socket.IO cluster test runs deploy/nginx.conf in a real nginx")

	conf, err := os.ReadFile(filepath.Join(repoRoot(), "deploy", "nginx.conf"))
	require.NoError(t, err)
	dir := t.TempDir()
	port := freePort(t)
	site := string(conf)
	for name, n := range nodes {
		require.Contains(t, site, "server "+name+":3000;", "deploy/nginx.conf names the replica %s", name)
		require.Contains(t, site, `~^`+name+`\.`, "deploy/nginx.conf routes the sessions of %s", name)
		site = strings.ReplaceAll(site, "server "+name+":3000;", "server "+strings.TrimPrefix(n.base, "http://")+";")
	}
	site = strings.Replace(site, "listen 3000;", "listen 127.0.0.1:"+port+";", 1)
	site = strings.ReplaceAll(site, "/var/log/nginx/access.log", filepath.Join(dir, "access.log"))
	main := fmt.Sprintf(`daemon off;
worker_processes 1;
user root root;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 256; }
http {
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/site.conf;
}
`, dir)
	if os.Geteuid() != 0 {
		main = strings.Replace(main, "user root root;\n", "", 1)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "site.conf"), []byte(site), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(main), 0o600))
	cmd := exec.Command(bin, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"))
	out, err := os.Create(filepath.Join(dir, "stderr"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			logs, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("--- nginx error log ---\n%s", logs)
		}
	})
	base := "http://127.0.0.1:" + port
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-done:
			logs, _ := os.ReadFile(filepath.Join(dir, "stderr"))
			t.Fatalf("nginx exited: %v\n%s", err, logs)
		default:
		}
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base
			}
		}
		require.True(t, time.Now().Before(deadline), "nginx did not answer within 20s")
		time.Sleep(50 * time.Millisecond)
	}
}

// connectOn connects u through the load balancer at base until the session
// lands on the node named nodeName (handshakes go to any node), and returns
// the connected socket.
func connectOn(t *testing.T, d *sioDriver, u *user, id, base, nodeName string, transports []string) *sioUser {
	t.Helper()
	for attempt := range 20 {
		sid := fmt.Sprintf("%s/%d", id, attempt)
		s := d.open(t, sid, base, sioOptions{Transports: transports, Auth: map[string]any{"token": u.Token()}})
		c := s.connected(t, u.id)
		if len(transports) > 1 {
			require.Equal(t, "websocket", s.upgraded(t))
		}
		if strings.HasPrefix(c.Engine, nodeName+".") {
			return &sioUser{user: u, sock: s}
		}
		s.command(t, "disconnect", nil)
	}
	t.Fatalf("no session of %s landed on %s in 20 handshakes", u.email, nodeName)
	return nil
}

// TestSocketIOCluster runs the Socket.IO checks against two real nodes of
// one deployment: alice on node 1, bob (/ws) and carol on node 2, with each
// transport; and then through nginx with deploy/nginx.conf, where a
// long-polling session's requests must reach the node that holds it.
func TestSocketIOCluster(t *testing.T) {
	s := newStack(t)
	n1, n2 := s.start(t, "server-1"), s.start(t, "server-2")
	d := startSIO(t)
	for _, name := range []string{"polling", "websocket", "upgrade"} {
		t.Run("direct/"+name, func(t *testing.T) { socketIOScenario(t, d, n1.base, n2.base, sioTransports[name]) })
	}

	lb := startNginx(t, map[string]*node{"server-1": n1, "server-2": n2})
	for _, name := range []string{"polling", "upgrade"} {
		t.Run("nginx/"+name, func(t *testing.T) {
			ctx := context.Background()
			transports := sioTransports[name]
			alice, carol := register(t, lb, "Alice"), register(t, lb, "Carol")
			befriend(t, alice, carol)
			a := connectOn(t, d, alice, t.Name()+"/alice", lb, "server-1", transports)
			c := connectOn(t, d, carol, t.Name()+"/carol", lb, "server-2", transports)
			conv, err := domain.NewConversationID(alice.id, carol.id)
			require.NoError(t, err)

			for i := 1; i <= 3; i++ {
				a.sock.emit(t, domain.EventSend, map[string]any{"receiverId": carol.id, "message": fmt.Sprint("via nginx ", i), "clientMessageId": fmt.Sprint("n-", i)}, fmt.Sprint("s", i))
				var r ports.SendReceipt
				require.NoError(t, json.Unmarshal(a.sock.ack(t, fmt.Sprint("s", i))[0], &r))
				require.Equal(t, "queued", r.Status)
			}
			require.Equal(t, []domain.Sequence{1, 2, 3}, sequences(c.sock.messages(t, conv, 0, 3)), "across nodes, in order")
			c.sock.emit(t, domain.EventTyping, map[string]any{"receiverId": alice.id, "isTyping": true}, "")
			var typing domain.TypingPayload
			a.sock.event(t, domain.EventTypingIndicator).decode(t, &typing)
			require.Equal(t, carol.id, typing.SenderID)

			// carol's session drops; alice writes on; carol reconnects
			// through nginx, to whichever node, and resumes.
			c.sock.command(t, "auth", map[string]any{"auth": map[string]any{"token": carol.Token(), "resume": true}})
			c.sock.command(t, "drop", nil)
			c.sock.expect(t, "disconnect", func(r sioReport) bool { return r.Type == "disconnect" })
			for i := 4; i <= 5; i++ {
				_, err := alice.Send(ctx, clientSend(carol.id, fmt.Sprint("while away ", i)))
				require.NoError(t, err)
			}
			from := c.sock.mark()
			c.sock.command(t, "reconnect", nil)
			c.sock.connected(t, carol.id)
			c.sock.emit(t, domain.EventResume, map[string]any{"conversations": map[domain.ConversationID]domain.Sequence{conv: 3}}, "resumed")
			c.sock.ack(t, "resumed") // after the replay
			require.Equal(t, []domain.Sequence{4, 5}, sequences(c.sock.messages(t, conv, from, 2)), "nothing lost, nothing twice")
		})
	}
}

// TestSocketIOReadmeExample runs the README's socket.io-client snippet,
// testdata/socketio/example.mjs, against the embedded server, and checks
// that the README shows it as it is.
func TestSocketIOReadmeExample(t *testing.T) {
	example, err := os.ReadFile(filepath.Join(repoRoot(), "testdata", "socketio", "example.mjs"))
	require.NoError(t, err)
	readme, err := os.ReadFile(filepath.Join(repoRoot(), "README.md"))
	require.NoError(t, err)
	require.Contains(t, string(readme), "```js\n"+string(example)+"```", "README.md shows testdata/socketio/example.mjs")

	startSIO(t) // the packages
	base := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "example.mjs", base)
	cmd.Dir = filepath.Join(repoRoot(), "testdata", "socketio")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Regexp(t, `^connected as [0-9a-f-]{36}\n$`, string(out))
}

// TestSocketIOLongPollDoesNotHoldShutdown stops a server while a
// long-polling client waits on it: the node drains the long polls when the
// HTTP server starts shutting down, which would otherwise wait for them past
// its deadline (and the server would stop with an error).
func TestSocketIOLongPollDoesNotHoldShutdown(t *testing.T) {
	d := startSIO(t) // stops after the server
	base := startServer(t, map[string]string{"MESSENGER_SHUTDOWN_TIMEOUT": "5s"})
	u := register(t, base, "Eve")
	connectSIO(t, d, u, t.Name(), base, []string{"polling"})
}
