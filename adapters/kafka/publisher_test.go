package kafka_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/domain"
)

func TestPublishErrors(t *testing.T) {
	cfg := env(t)
	cfg.MaxMessageBytes = 64 << 10
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{"known": 1}))
	p := newPublisher(t, cfg)
	// Only the unknown topic's publisher gives up on new topics' metadata
	// early: the others wait for the known topic's as long as a node does.
	impatient := cfg
	impatient.TopicWait = 500 * time.Millisecond
	pImpatient := newPublisher(t, impatient)

	// A producer limit above the broker's (1 MiB by default) lets the broker
	// be the one that refuses.
	big := cfg
	big.MaxMessageBytes = 4 << 20
	pBig := newPublisher(t, big)

	cancelled, cancel := context.WithCancel(t.Context())
	cancel()

	tests := []struct {
		name  string
		p     *kafka.Publisher
		ctx   context.Context
		topic string
		value []byte
		kind  domain.Kind
	}{
		{name: "record over the producer limit", p: p, topic: "known", value: bytes.Repeat([]byte("x"), 65<<10), kind: domain.KindTooLarge},
		{name: "record over the broker limit", p: pBig, topic: "known", value: bytes.Repeat([]byte("x"), 2<<20), kind: domain.KindTooLarge},
		{name: "illegal topic name", p: p, topic: "no spaces allowed", value: []byte("v"), kind: domain.KindInvalid},
		{name: "empty topic name", p: p, topic: "", value: []byte("v"), kind: domain.KindInvalid},
		{name: "unknown topic", p: pImpatient, topic: "unknown-" + random(8), value: []byte("v"), kind: domain.KindInvalid},
		{name: "context already ended", p: p, ctx: cancelled, topic: "known", value: []byte("v"), kind: domain.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = t.Context()
			}
			err := tt.p.Publish(ctx, tt.topic, []byte("k"), tt.value)
			require.Error(t, err)
			assert.Equal(t, tt.kind, domain.KindOf(err), "error: %v", err)
		})
	}
	t.Run("a publish after the failures succeeds", func(t *testing.T) {
		require.NoError(t, p.Publish(t.Context(), "known", []byte("k"), []byte("v")))
		require.NoError(t, pBig.Publish(t.Context(), "known", []byte("k"), bytes.Repeat([]byte("x"), 512<<10)))
	})
}

func TestPublishUnreachable(t *testing.T) {
	cfg := kafka.Config{Brokers: "127.0.0.1:1", DeliveryTimeout: 500 * time.Millisecond, Logger: logger(t)}
	p := newPublisher(t, cfg)
	tests := []struct {
		name    string
		timeout time.Duration
	}{
		{name: "delivery timeout first", timeout: time.Minute},
		{name: "context first", timeout: 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			start := time.Now()
			err := p.Publish(ctx, "any", []byte("k"), []byte("v"))
			require.Error(t, err)
			assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "error: %v", err)
			assert.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

// A record held for the whole delivery timeout retires the producer that
// held it: a new one starts from fresh metadata, and publishing goes on
// through it.
func TestProducerReplacedAfterStaleRecord(t *testing.T) {
	cfg := kafka.Config{Brokers: "127.0.0.1:1", DeliveryTimeout: 300 * time.Millisecond, Logger: logger(t)}
	p := newPublisher(t, cfg)
	first := kafka.CurrentProducer(p)
	err := p.Publish(t.Context(), "any", []byte("k"), []byte("v"))
	require.Error(t, err)
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "error: %v", err)
	require.Eventually(t, func() bool { return kafka.CurrentProducer(p) != first }, waitFor, 10*time.Millisecond,
		"the producer that held the record is replaced")
	err = p.Publish(t.Context(), "any", []byte("k"), []byte("v"))
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "the new producer reports the same outage: %v", err)
}

// TestPublisherCloseAcknowledgesWhatIsInFlight holds records in the producer
// (a linger longer than the test) when Close starts: Close sends them, each
// Publish returns nil, and the log holds every one of them.
func TestPublisherCloseAcknowledgesWhatIsInFlight(t *testing.T) {
	cfg := env(t)
	cfg.Linger = 20 * time.Second // only Close's flush sends them
	const topic, n = "close", 50
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{topic: 1}))
	p, err := kafka.NewPublisher(cfg)
	require.NoError(t, err)

	errs := make(chan error, n)
	var want []string
	for i := range n {
		v := "v" + strconv.Itoa(i)
		want = append(want, v)
		go func() { errs <- p.Publish(t.Context(), topic, nil, []byte(v)) }()
	}
	require.Eventually(t, func() bool { return kafka.Queued(p) == n }, waitFor, time.Millisecond,
		"every record is in the producer when Close starts")
	require.NoError(t, p.Close())
	require.NoError(t, p.Close(), "second Close")
	for range n {
		require.NoError(t, <-errs, "a record in flight when Close started is acknowledged")
	}
	assert.ElementsMatch(t, want, readValues(t, cfg.Brokers, cfg.TopicPrefix+topic, n), "and it is in the log")

	err = p.Publish(t.Context(), topic, nil, []byte("late"))
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "publish after Close: %v", err)
}

func TestPublisherCloseContextKeepsTheDeadline(t *testing.T) {
	// Nothing listens: a record cannot be acknowledged before DeliveryTimeout,
	// which is longer than the close deadline. A publish that gave up on its
	// context leaves its record queued.
	p := newPublisher(t, kafka.Config{Brokers: "127.0.0.1:1", DeliveryTimeout: time.Minute, Logger: logger(t)})
	pctx, pcancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer pcancel()
	err := p.Publish(pctx, "any", []byte("k"), []byte("v"))
	require.Equal(t, domain.KindUnavailable, domain.KindOf(err), "error: %v", err)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = p.CloseContext(ctx)
	assert.Less(t, time.Since(start), 10*time.Second, "the close stops waiting at the deadline, not after DeliveryTimeout")
	require.Error(t, err, "the unacknowledged record is reported")
	assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "error: %v", err)
	assert.NoError(t, p.Close(), "a second close has nothing left to report")
}

func TestNewPublisherConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  kafka.Config
	}{
		{name: "no brokers", cfg: kafka.Config{}},
		{name: "illegal prefix", cfg: kafka.Config{Brokers: "127.0.0.1:9092", TopicPrefix: "a b"}},
		{name: "negative replication factor", cfg: kafka.Config{Brokers: "127.0.0.1:9092", ReplicationFactor: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := kafka.NewPublisher(tt.cfg)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error: %v", err)
			_, err = kafka.NewSubscriber(tt.cfg)
			assert.Equal(t, domain.KindInvalid, domain.KindOf(err), "error: %v", err)
		})
	}
}

// TestProducerReplacedAfterFatalError shows that a Publisher whose idempotent
// producer failed for good recovers with a new one: a record the failed
// producer held fails as unavailable (it is not left waiting), and later
// publishes succeed.
func TestProducerReplacedAfterFatalError(t *testing.T) {
	cfg := env(t)
	require.NoError(t, kafka.EnsureTopics(t.Context(), cfg, map[string]int{"fatal": 1}))
	p := newPublisher(t, cfg)
	require.NoError(t, p.Publish(t.Context(), "fatal", nil, []byte("before")))

	held := cfg
	held.Linger = 20 * time.Second // the record waits in the producer that fails
	hp := newPublisher(t, held)
	inFlight := make(chan error, 1)
	go func() { inFlight <- hp.Publish(t.Context(), "fatal", nil, []byte("in flight")) }()
	require.Eventually(t, func() bool { return kafka.Queued(hp) == 1 }, waitFor, time.Millisecond)
	kafka.FailProducer(hp)
	select {
	case err := <-inFlight:
		require.Error(t, err, "the failed producer's record is not acknowledged")
		assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "error: %v", err)
	case <-time.After(waitFor):
		t.Fatal("a record of the failed producer was left waiting")
	}

	kafka.FailProducer(p)
	require.Eventually(t, func() bool {
		err := p.Publish(t.Context(), "fatal", nil, []byte("after"))
		if err != nil {
			assert.Equal(t, domain.KindUnavailable, domain.KindOf(err), "error: %v", err)
		}
		return err == nil
	}, waitFor, 10*time.Millisecond, "publishing works again")
	values := readValues(t, cfg.Brokers, cfg.TopicPrefix+"fatal", 2)
	assert.Equal(t, []string{"before", "after"}, values[:2])
}

func TestPing(t *testing.T) {
	cfg := env(t)
	p := newPublisher(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, p.Ping(ctx))

	down := newPublisher(t, kafka.Config{Brokers: "127.0.0.1:1"})
	ctx, cancel = context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := down.Ping(ctx)
	require.Error(t, err)
	require.Equal(t, domain.KindUnavailable, domain.KindOf(err))

	require.NoError(t, p.Close())
	require.Equal(t, domain.KindUnavailable, domain.KindOf(p.Ping(context.Background())))
}
