// Package messenger assembles the messenger core into one embeddable node: the
// use cases, the HTTP API, the WebSocket hub and the message log's consumers,
// on the ports an embedder chooses. With an empty Config the node runs entirely
// in memory.
//
//	m, err := messenger.New(messenger.Config{})
//	mux.Handle("/", m.Handler())
//	go m.Run(ctx)
//	defer m.Shutdown(ctx)
//
// A Messenger is safe for concurrent use. Run owns the background work (the
// consumer groups, the presence heartbeat, the cross-node subscription);
// Shutdown closes every socket and waits for Run to return.
package messenger
