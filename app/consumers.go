package app

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/messenger-go/messenger/ports"
)

// Consumer is one consumer group of the message log and its handler.
type Consumer struct {
	Group   string
	Topic   string
	Handler ports.BatchHandler
}

// Consumers returns the four consumer groups of the guide with their
// handlers, and push-notifications-group when push is on.
func (a *App) Consumers() []Consumer {
	cs := []Consumer{
		{ports.GroupMessageDelivery, ports.TopicChatMessages, a.HandleChatMessages},
		{ports.GroupTypingBroadcast, ports.TopicTyping, a.HandleTyping},
		{ports.GroupReceiptUpdate, ports.TopicReadReceipts, a.HandleReadReceipts},
		{ports.GroupFriendEvents, ports.TopicFriendEvents, a.HandleFriendEvents},
	}
	if a.push != nil {
		cs = append(cs, Consumer{ports.GroupPushNotifications, ports.TopicChatMessages, a.HandlePush})
	}
	return cs
}

// RunConsumers consumes every group on sub until ctx ends or one fails, with
// Config.DeliveryMembers members in the message-delivery-group and one in
// each of the others (and the sender of push notifications, when push is
// on). When a member fails, the others' contexts end (each
// finishes its batch in flight) and RunConsumers returns that member's error
// once they all returned: a process must not run on with one of its groups
// gone; it restarts, and the group's partitions go to the other nodes
// meanwhile. It returns nil when ctx ends.
func (a *App) RunConsumers(ctx context.Context, sub ports.Subscriber) error {
	g, ctx := errgroup.WithContext(ctx)
	if a.push != nil {
		g.Go(func() error { return a.runPush(ctx) })
	}
	for _, c := range a.Consumers() {
		members := 1
		if c.Group == ports.GroupMessageDelivery {
			members = a.cfg.DeliveryMembers
		}
		for range members {
			g.Go(func() error { return sub.Consume(ctx, c.Group, c.Topic, a.counted(c)) })
		}
	}
	return g.Wait()
}

// counted wraps c's handler to count and log what it rejects.
func (a *App) counted(c Consumer) ports.BatchHandler {
	return func(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		rejected, err := c.Handler(ctx, batch)
		for _, r := range rejected {
			a.cfg.Metrics.DeadLettered(c.Topic)
			a.logger.WarnContext(ctx, "record dead-lettered", "topic", r.Record.Topic,
				"partition", r.Record.Partition, "offset", r.Record.Offset, "reason", r.Reason)
		}
		return rejected, err
	}
}
