package memory_test

import (
	"context"
	"fmt"

	"github.com/messenger-go/messenger/adapters/memory"
	"github.com/messenger-go/messenger/ports"
)

// A Log with the guide's topics: records of one key come out in publish order,
// in batches, to a consumer group.
func ExampleLog() {
	l, err := memory.NewLog(memory.LogConfig{})
	if err != nil {
		panic(err)
	}
	defer l.Close()

	ctx := context.Background()
	for _, v := range []string{"hello", "how are you?", "bye"} {
		if err := l.Publish(ctx, ports.TopicChatMessages, []byte("conversation-1"), []byte(v)); err != nil {
			panic(err)
		}
	}

	ctx, cancel := context.WithCancel(ctx)
	seen := 0
	err = l.Consume(ctx, ports.GroupMessageDelivery, ports.TopicChatMessages, func(_ context.Context, batch []ports.Record) ([]ports.Rejection, error) {
		for _, r := range batch {
			fmt.Printf("%s: %s\n", r.Key, r.Value)
		}
		if seen += len(batch); seen == 3 {
			cancel() // Consume returns once this batch is committed
		}
		return nil, nil
	})
	fmt.Println("consume returned", err)
	// Output:
	// conversation-1: hello
	// conversation-1: how are you?
	// conversation-1: bye
	// consume returned <nil>
}
