package messenger_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	messenger "github.com/messenger-go/messenger"
	"github.com/messenger-go/messenger/adapters/auth"
	"github.com/messenger-go/messenger/client"
	"github.com/messenger-go/messenger/domain"
)

// A host service embeds a whole messenger node on its own mux, here entirely in
// memory, and talks to it over HTTP and the WebSocket like any client.
func Example() {
	ctx := context.Background()
	passwords, _ := auth.NewPasswords(auth.PasswordConfig{Params: auth.TestPasswordParams})
	node, err := messenger.New(messenger.Config{Passwords: passwords})
	if err != nil {
		panic(err)
	}
	go node.Run(ctx)
	defer node.Shutdown(ctx)

	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "the host's own route") })
	mux.Handle("/", node.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	alice, a, _ := client.New(srv.URL, nil).Register(ctx, "Alice", "Liddell", "alice@example.com", "correct horse")
	bob, b, _ := client.New(srv.URL, nil).Register(ctx, "Bob", "Builder", "bob@example.com", "correct horse")
	alice.SendFriendRequest(ctx, b.User.ID)
	bob.AcceptFriendRequest(ctx, a.User.ID)

	socket, _ := bob.Dial(ctx)
	defer socket.Close()
	socket.Next(ctx)        // registered
	socket.Resume(ctx, nil) // no cursor yet: go live at once

	for _, text := range []string{"hi", "how are you?"} {
		alice.Send(ctx, client.SendRequest{ReceiverID: b.User.ID, Message: text})
	}
	for received := 0; received < 2; {
		f, _ := socket.Next(ctx)
		if f.Event != domain.EventNewMessage {
			continue // friend events arrive too, in their own time
		}
		var m domain.Message
		f.Decode(&m)
		fmt.Println(f.Event, m.Sequence, m.Text)
		received++
	}
	// Output:
	// newMessage 1 hi
	// newMessage 2 how are you?
}
