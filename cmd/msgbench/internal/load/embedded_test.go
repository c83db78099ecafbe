package load_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/cmd/msgbench/internal/load"
	"github.com/messenger-go/messenger/ports"
)

const testKey = "../../../../testdata/jwt-test-key.pem"

// startEmbedded runs a node of the embedded default in this process, signing
// with the test key, and returns its URL and its metrics listener's.
func startEmbedded(t *testing.T) (url, metricsURL string) {
	t.Helper()
	pem, err := os.ReadFile(testKey)
	require.NoError(t, err)
	tokens, err := auth.NewTokens(auth.TokenConfig{PrivateKeyPEM: pem})
	require.NoError(t, err)
	passwords, err := auth.NewPasswords(auth.PasswordConfig{Params: auth.TestPasswordParams})
	require.NoError(t, err)
	// A benchmark registers every user from one address.
	many := ports.Backoff{Free: 1 << 20, Delay: time.Hour, MaxDelay: time.Hour, Window: time.Hour}
	m, err := messenger.New(messenger.Config{Signer: tokens, Passwords: passwords, Guards: app.Guards{Registration: many}})
	require.NoError(t, err)
	srv := httptest.NewServer(m.Handler())
	metrics := httptest.NewServer(m.Metrics().Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = m.Shutdown(sctx)
		cancel()
		<-done
		srv.Close()
		metrics.Close()
	})
	return srv.URL, metrics.URL
}

// Against the real node: every message is answered, delivered once, in
// order, to both members; the node's own socket count agrees.
func TestStepAgainstEmbeddedNode(t *testing.T) {
	url, metricsURL := startEmbedded(t)
	pem, err := os.ReadFile(testKey)
	require.NoError(t, err)
	b := newBench(t, load.Config{
		Targets: []string{url}, MetricsTargets: []string{metricsURL}, Users: 20, Register: true, KeyPEM: pem,
		ServerPIDs:  []int{os.Getpid()}, // the node runs in this process
		Watch:       []load.Watched{{Name: "test", PID: os.Getpid()}},
		SampleEvery: 200 * time.Millisecond,
	})
	assert.Equal(t, 20, b.Held())
	st := runStep(t, b, 300, 300*time.Millisecond, 1500*time.Millisecond)

	assert.EqualValues(t, 450, st.Scheduled)
	assert.Equal(t, st.Scheduled, st.Accepted, "errors: %v", st.Errors)
	assert.Empty(t, st.Errors)
	assert.EqualValues(t, 0, st.Lost)
	assert.EqualValues(t, 0, st.Duplicated)
	assert.EqualValues(t, 0, st.OutOfOrder)
	assert.EqualValues(t, 0, st.NotEchoed)
	assert.EqualValues(t, 0, st.WarmupErrors)
	assert.Equal(t, 450, st.Delivery.Count)
	assert.Greater(t, st.Delivery.P50, 0.0)
	assert.GreaterOrEqual(t, st.Delivery.Max, st.Delivery.P99)
	// The rates count answers and deliveries inside the window, so on a busy
	// machine they fall short of the target: that is what they measure.
	assert.Greater(t, st.AcceptedRate, 0.0)
	assert.Greater(t, st.DeliveredRate, 0.0)
	assert.False(t, st.LagAvailable, "the memory log has no consumer lag metric")
	assert.EqualValues(t, 20, st.ServerSockets)
	assert.Greater(t, st.ServerCPUCores, 0.0)
	require.Len(t, st.Components, 1)
	assert.Equal(t, "test", st.Components[0].Name)
	assert.Len(t, st.Series, 2)

	// A second step continues the same conversations.
	st2 := runStep(t, b, 200, 0, time.Second)
	assert.Equal(t, st2.Scheduled, st2.Accepted)
	assert.EqualValues(t, 0, st2.Lost+st2.Duplicated+st2.OutOfOrder)

	r := b.Close()
	assert.EqualValues(t, 0, r.MissingSequences)
	assert.EqualValues(t, 0, r.Reconnects)
	assert.Len(t, r.Steps, 2)
	assert.Equal(t, 20, r.Setup.SocketsHeld)
}

// Sends over the sockets: each is answered by its sendResult and delivered
// once, in order, to both members, with no HTTP send in the step.
func TestSocketSendsAgainstEmbeddedNode(t *testing.T) {
	url, metricsURL := startEmbedded(t)
	pem, err := os.ReadFile(testKey)
	require.NoError(t, err)
	b := newBench(t, load.Config{
		Targets: []string{url}, MetricsTargets: []string{metricsURL}, Users: 20, Register: true, KeyPEM: pem,
		SendOver: load.SendOverSocket, SampleEvery: 200 * time.Millisecond,
	})
	posted := accepted202(t, metricsURL)
	st := runStep(t, b, 300, 300*time.Millisecond, time.Second)
	assert.Equal(t, posted, accepted202(t, metricsURL), "no send went over HTTP")
	assert.EqualValues(t, 300, st.Scheduled)
	assert.Equal(t, st.Scheduled, st.Accepted, "errors: %v", st.Errors)
	assert.Empty(t, st.Errors)
	assert.Equal(t, 300, st.Send.Count, "every send answered by its sendResult")
	assert.Greater(t, st.Send.P50, 0.0)
	assert.EqualValues(t, 0, st.Lost+st.Duplicated+st.OutOfOrder+st.NotEchoed+st.WarmupErrors)
	assert.Equal(t, 300, st.Delivery.Count)
	r := b.Close()
	assert.Equal(t, load.SendOverSocket, r.SendOver)
	assert.EqualValues(t, 0, r.MissingSequences)
	assert.Empty(t, r.SocketErrors)
}

// accepted202 reads the node's count of HTTP requests answered 202.
func accepted202(t *testing.T, metricsURL string) float64 {
	t.Helper()
	resp, err := http.Get(metricsURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for line := range strings.Lines(string(body)) {
		if strings.HasPrefix(line, "messenger_http_request_duration_seconds_count{") && strings.Contains(line, `code="202"`) {
			n, err := strconv.ParseFloat(strings.TrimSpace(line[strings.LastIndexByte(line, ' ')+1:]), 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no 202 count in the metrics")
	return 0
}

func TestSendOverIsChecked(t *testing.T) {
	_, err := load.New(load.Config{Targets: []string{"http://127.0.0.1:9"}, Users: 2, Register: true, SendOver: "carrier-pigeon"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "carrier-pigeon")
}

// Sockets of users the node never registered, with minted tokens.
func TestLocalHolderHoldsSockets(t *testing.T) {
	url, metricsURL := startEmbedded(t)
	pem, err := os.ReadFile(testKey)
	require.NoError(t, err)
	h, err := load.NewLocalHolder(load.Config{Targets: []string{url}, Users: 30, KeyPEM: pem, Settle: -1})
	require.NoError(t, err)
	res := load.MeasureConns(context.Background(), load.ConnsConfig{
		Targets: []string{url}, MetricsTargets: []string{metricsURL}, ServerPIDs: []int{os.Getpid()}, Hold: 500 * time.Millisecond, Target: 30,
	}, []load.Holder{h})
	h.Close()
	assert.Equal(t, 30, res.Held)
	assert.Equal(t, 30, res.HeldAtEnd)
	assert.EqualValues(t, 0, res.Failed)
	assert.EqualValues(t, 30, res.ServerSockets)
	assert.Greater(t, res.ServerRSSAfter, int64(0))
	assert.Greater(t, res.ClientRSSPerSocket, 0.0)
	assert.Empty(t, res.Errors)
	assert.Greater(t, res.ConnectSeconds, 0.0)
	assert.GreaterOrEqual(t, res.ReadySeconds, res.ConnectSeconds, "ready includes minting")
	assert.InDelta(t, 30/res.ConnectSeconds, res.ConnectRate, 1e-6)
}

// The after-setup hook runs once, after every socket is open and before any
// step; its time is reported, and its failure fails Setup.
func TestAfterSetupHook(t *testing.T) {
	url, _ := startEmbedded(t)
	pem, err := os.ReadFile(testKey)
	require.NoError(t, err)

	var (
		b          *load.Bench
		calls      int
		heldAtHook int
	)
	cfg := load.Config{Targets: []string{url}, Users: 10, Register: true, KeyPEM: pem, Settle: -1,
		AfterSetup: func(ctx context.Context) error {
			calls++
			heldAtHook = b.Held()
			time.Sleep(20 * time.Millisecond)
			return nil
		}}
	b, err = load.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, b.Setup(ctx))
	assert.Equal(t, 1, calls)
	assert.Equal(t, 10, heldAtHook, "the hook runs once the sockets are open")
	st := runStep(t, b, 100, 0, 500*time.Millisecond)
	assert.Equal(t, st.Scheduled, st.Accepted)
	r := b.Close()
	assert.Equal(t, 1, calls, "steps do not run the hook again")
	assert.GreaterOrEqual(t, r.Setup.AfterSetupSeconds, 0.02)

	hookErr := errors.New("statistics unavailable")
	cfg.AfterSetup = func(context.Context) error { return hookErr }
	cfg.RunID = "second"
	failing, err := load.New(cfg)
	require.NoError(t, err)
	defer failing.Close()
	err = failing.Setup(ctx)
	require.ErrorIs(t, err, hookErr)
	assert.Contains(t, err.Error(), "after setup")
}
