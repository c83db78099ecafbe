package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/internal/server"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue writes a server certificate for localhost and 127.0.0.1, signed by
// ca, to certFile and keyFile (each replaced in one rename, as a renewal
// tool does), and returns its serial number.
func (ca *testCA) issue(t *testing.T, serial int64, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "localhost"},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	writeAtomically(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
	writeAtomically(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func writeAtomically(t *testing.T, name string, data []byte) {
	t.Helper()
	tmp := name + ".new"
	require.NoError(t, os.WriteFile(tmp, data, 0o600))
	require.NoError(t, os.Rename(tmp, name))
}

// trusting is an HTTP client that trusts only ca, without a timeout (the
// WebSocket dialer refuses one).
func trusting(ca *testCA) *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool}}}
}

// servedSerial is the serial number of the certificate the server at addr
// presents on a new connection, verified against ca.
func servedSerial(t *testing.T, addr string, ca *testCA) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.pool, ServerName: "localhost"})
	require.NoError(t, err)
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

// TestTLSEndToEnd: the server serves HTTPS and wss:// itself from the
// certificate files, a message goes from one user to the other's secure
// socket, plain HTTP on the TLS port is refused, and a certificate replaced
// on disk is served on the next connection without a restart.
func TestTLSEndToEnd(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	ca := newTestCA(t, "first test CA")
	ca.issue(t, 101, certFile, keyFile)

	l := startListening(t, map[string]string{"MESSENGER_TLS_CERT_FILE": certFile, "MESSENGER_TLS_KEY_FILE": keyFile})
	require.True(t, l.TLS)
	base := baseURL(l)
	require.Equal(t, "https://"+l.Addr, base)
	ctx := context.Background()
	hc := trusting(ca)

	resp, err := hc.Get(base + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 1, resp.ProtoMajor, "HTTP/1.1, so that WebSockets upgrade on any connection")
	require.NotNil(t, resp.TLS)
	assert.GreaterOrEqual(t, resp.TLS.Version, uint16(tls.VersionTLS12))

	resp, err = http.Get("http://" + l.Addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "plain HTTP on the TLS port is refused")
	_, err = (&http.Client{}).Get(base + "/healthz")
	require.Error(t, err, "a client that does not trust the CA refuses the certificate")

	c := client.New(base, hc)
	aliceC, alice, err := c.Register(ctx, "Alice", "Tls", "alice.tls@example.com", "correct horse battery")
	require.NoError(t, err)
	bobC, bob, err := c.Register(ctx, "Bob", "Tls", "bob.tls@example.com", "correct horse battery")
	require.NoError(t, err)
	_, err = aliceC.SendFriendRequest(ctx, bob.User.ID)
	require.NoError(t, err)
	_, err = bobC.AcceptFriendRequest(ctx, alice.User.ID)
	require.NoError(t, err)

	ws, _, err := websocket.Dial(ctx, "wss://"+l.Addr+"/ws", &websocket.DialOptions{
		HTTPClient: hc,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + bobC.Token()}},
	})
	require.NoError(t, err, "wss:// with the test CA")
	defer ws.CloseNow()
	next := func(event string) domain.Message {
		t.Helper()
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		for {
			var f struct {
				Event string         `json:"event"`
				Data  domain.Message `json:"data"`
			}
			require.NoError(t, wsjson.Read(rctx, ws, &f))
			if f.Event == event {
				return f.Data
			}
		}
	}
	next(domain.EventRegistered)
	_, err = aliceC.Send(ctx, client.SendRequest{ReceiverID: bob.User.ID, Message: "over TLS", ClientMessageID: "tls-1"})
	require.NoError(t, err)
	m := next(domain.EventNewMessage)
	assert.Equal(t, "over TLS", m.Text)

	// Renewal: a new certificate from another CA replaces the files.
	assert.EqualValues(t, 101, servedSerial(t, l.Addr, ca))
	renewed := newTestCA(t, "second test CA")
	renewed.issue(t, 202, certFile, keyFile)
	assert.EqualValues(t, 202, servedSerial(t, l.Addr, renewed), "the replaced certificate is served without a restart")

	// A half-written pair (a key that does not match) keeps the last good one.
	other := filepath.Join(dir, "other")
	require.NoError(t, os.Mkdir(other, 0o700))
	ca.issue(t, 303, filepath.Join(other, "tls.crt"), filepath.Join(other, "tls.key"))
	data, err := os.ReadFile(filepath.Join(other, "tls.key"))
	require.NoError(t, err)
	writeAtomically(t, keyFile, data)
	assert.EqualValues(t, 202, servedSerial(t, l.Addr, renewed), "a pair that does not load leaves the previous certificate in service")

	// The socket opened before the renewal is still there.
	_, err = aliceC.Send(ctx, client.SendRequest{ReceiverID: bob.User.ID, Message: "after renewal", ClientMessageID: "tls-2"})
	require.NoError(t, err)
	assert.Equal(t, "after renewal", next(domain.EventNewMessage).Text)
}

func TestTLSFilesThatDoNotLoadStopTheStart(t *testing.T) {
	dir := t.TempDir()
	certFile := filepath.Join(dir, "tls.crt")
	require.NoError(t, os.WriteFile(certFile, []byte("not a certificate"), 0o600))
	vars := map[string]string{
		"MESSENGER_ADDR": "127.0.0.1:0", "MESSENGER_METRICS_ADDR": "off",
		"MESSENGER_TLS_CERT_FILE": certFile, "MESSENGER_TLS_KEY_FILE": certFile,
		"MESSENGER_PASSWORD_MEMORY_KIB": "64", "MESSENGER_PASSWORD_ITERATIONS": "1",
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := server.Serve(ctx, env(vars), io.Discard, func(server.Listening) {
		t.Error("the server started with a certificate that does not load")
		cancel()
	})
	require.ErrorContains(t, err, "MESSENGER_TLS_CERT_FILE")
}

// TestMakeCertMakesACertificateTheServerServes: scripts/cert.sh (make cert)
// writes a pair the server loads and a client that trusts the certificate
// accepts for localhost and 127.0.0.1.
func TestMakeCertMakesACertificateTheServerServes(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	dir := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(filepath.Dir(file), "..", "..", "scripts", "cert.sh"), dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	fi, err := os.Stat(keyFile)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the key is readable by its owner only")

	l := startListening(t, map[string]string{"MESSENGER_TLS_CERT_FILE": certFile, "MESSENGER_TLS_KEY_FILE": keyFile})
	data, err := os.ReadFile(certFile)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(data))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	_, port, _ := net.SplitHostPort(l.Addr)
	for _, host := range []string{"localhost", "127.0.0.1"} {
		resp, err := hc.Get("https://" + net.JoinHostPort(host, port) + "/healthz")
		require.NoError(t, err, host)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	}

	out, err = exec.Command("bash", filepath.Join(filepath.Dir(file), "..", "..", "scripts", "cert.sh"), dir).CombinedOutput()
	require.NoError(t, err)
	assert.Contains(t, string(out), "keeping it", "an existing pair is kept")
}
