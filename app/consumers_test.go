package app_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/app"
	"github.com/messenger-go/messenger/ports"
)

// groupSubscriber is a Subscriber whose members block until their context
// ends, except those of the group fail, which fail once every member started.
type groupSubscriber struct {
	fail    string
	members int // how many Consume calls to wait for before failing

	mu      sync.Mutex
	started []string // group of each Consume call
	stopped int      // calls that returned after their context ended
	all     chan struct{}
}

var errGroupFailed = errors.New("consumer failed for good")

func (s *groupSubscriber) Consume(ctx context.Context, group, topic string, _ ports.BatchHandler) error {
	s.mu.Lock()
	s.started = append(s.started, group+"/"+topic)
	if len(s.started) == s.members {
		close(s.all)
	}
	s.mu.Unlock()
	if group == s.fail {
		<-s.all
		return errGroupFailed
	}
	<-ctx.Done()
	s.mu.Lock()
	s.stopped++
	s.mu.Unlock()
	return nil
}

// TestRunConsumersStopsEveryGroupWhenOneFails: a group whose consumer fails
// for good ends RunConsumers with its error, and the other groups are stopped
// (their contexts end) and have returned by then, so that the process exits
// or restarts as a whole rather than running on without one of its groups.
func TestRunConsumersStopsEveryGroupWhenOneFails(t *testing.T) {
	const members = 3
	w := newWorld(t, func(c *app.Config) { c.DeliveryMembers = members })
	total := members + 3
	sub := &groupSubscriber{fail: ports.GroupReceiptUpdate, members: total, all: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- w.app.RunConsumers(ctx, sub) }()

	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("RunConsumers kept running after a group failed")
	}
	require.ErrorIs(t, err, errGroupFailed)
	sub.mu.Lock()
	defer sub.mu.Unlock()
	assert.Equal(t, total-1, sub.stopped, "every other member was stopped and returned first")
	assert.ElementsMatch(t, []string{
		ports.GroupMessageDelivery + "/" + ports.TopicChatMessages,
		ports.GroupMessageDelivery + "/" + ports.TopicChatMessages,
		ports.GroupMessageDelivery + "/" + ports.TopicChatMessages,
		ports.GroupTypingBroadcast + "/" + ports.TopicTyping,
		ports.GroupReceiptUpdate + "/" + ports.TopicReadReceipts,
		ports.GroupFriendEvents + "/" + ports.TopicFriendEvents,
	}, sub.started, "DeliveryMembers members of the delivery group, one of each other")
}

func TestRunConsumersReturnsNilWhenItsContextEnds(t *testing.T) {
	w := newWorld(t)
	sub := &groupSubscriber{members: 5, all: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.app.RunConsumers(ctx, sub) }()
	<-sub.all
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("RunConsumers did not return after its context ended")
	}
	sub.mu.Lock()
	assert.Equal(t, 5, sub.stopped)
	sub.mu.Unlock()
}
