package example_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/adapters/kafka"
	"github.com/messenger-go/messenger/adapters/postgres"
	"github.com/messenger-go/messenger/adapters/redis"
	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
	"github.com/messenger-go/messenger/testenv"
	"github.com/stretchr/testify/require"
)

// kafkaLog joins the producer and the consumers into one messenger.Log.
type kafkaLog struct {
	*kafka.Publisher
	*kafka.Subscriber
}

// startNode runs a messenger node on the test's own database, key prefix and
// topic prefix, and returns its base URL.
func startNode(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	dsn, rd, kf := testenv.Postgres(t), testenv.Redis(t), testenv.Kafka(t)

	store, err := postgres.Open(ctx, dsn, postgres.Config{Migrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })

	kc := kafka.Config{Brokers: kf.Brokers, TopicPrefix: kf.TopicPrefix}
	require.NoError(t, kafka.EnsureTopics(ctx, kc, kafka.Topics()))
	pub, err := kafka.NewPublisher(kc)
	require.NoError(t, err)
	sub, err := kafka.NewSubscriber(kc)
	require.NoError(t, err)

	rc, err := redis.Open(redis.Config{MasterName: rd.MasterName, Sentinels: rd.Sentinels, Addr: sentinelOr(rd), Password: rd.Password, KeyPrefix: rd.Prefix})
	require.NoError(t, err)
	t.Cleanup(func() { _ = rc.Close() })
	presence, err := redis.NewPresence(rc, redis.PresenceConfig{})
	require.NoError(t, err)

	passwords, err := auth.NewPasswords(auth.PasswordConfig{Params: auth.TestPasswordParams})
	require.NoError(t, err)
	node, err := messenger.New(messenger.Config{
		Node:      "example-1",
		Store:     store,
		Log:       kafkaLog{pub, sub},
		Presence:  presence,
		Passwords: passwords,
		Fanout: func(local ports.Notifier) (messenger.Fanout, error) {
			return redis.NewFanout(rc, redis.FanoutConfig{Node: "example-1", Presence: presence, Local: local})
		},
	})
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(runCtx) }()
	srv := httptest.NewServer(node.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, node.Shutdown(ctx))
		stop()
		<-done
		_ = sub.Close()
		_ = pub.Close()
	})
	return srv.URL
}

// sentinelOr is the master's address where there are no Sentinels.
func sentinelOr(rd testenv.RedisEnv) string {
	if len(rd.Sentinels) > 0 {
		return ""
	}
	return rd.Addr
}

// TestNodeDeliversThroughRealServices: a message sent over REST is stored in
// PostgreSQL with sequence 1, travels through Kafka and reaches the
// receiver's WebSocket.
func TestNodeDeliversThroughRealServices(t *testing.T) {
	base := startNode(t)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	alice, a, err := client.New(base, nil).Register(ctx, "Alice", "Liddell", "alice@example.com", "correct horse")
	require.NoError(t, err)
	bob, b, err := client.New(base, nil).Register(ctx, "Bob", "Builder", "bob@example.com", "correct horse")
	require.NoError(t, err)
	_, err = alice.SendFriendRequest(ctx, b.User.ID)
	require.NoError(t, err)
	_, err = bob.AcceptFriendRequest(ctx, a.User.ID)
	require.NoError(t, err)

	socket, err := bob.Dial(ctx)
	require.NoError(t, err)
	defer socket.Close()
	_, err = socket.Next(ctx) // registered
	require.NoError(t, err)
	require.NoError(t, socket.Resume(ctx, nil))

	receipt, err := alice.Send(ctx, client.SendRequest{ReceiverID: b.User.ID, Message: "hello through kafka", ClientMessageID: "m1"})
	require.NoError(t, err)
	require.Equal(t, "queued", receipt.Status)

	for {
		f, err := socket.Next(ctx)
		require.NoError(t, err, "waiting for newMessage")
		if f.Event != domain.EventNewMessage {
			continue
		}
		var m domain.Message
		require.NoError(t, f.Decode(&m))
		require.Equal(t, receipt.MessageID, m.ID)
		require.Equal(t, domain.Sequence(1), m.Sequence)
		require.Equal(t, "hello through kafka", m.Text)
		break
	}
	history, _, err := bob.History(ctx, string(receipt.ConversationID), domain.Page{})
	require.NoError(t, err)
	require.Len(t, history, 1)
	require.Equal(t, receipt.MessageID, history[0].ID)
}
