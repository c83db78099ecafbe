package client

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"

	"github.com/messenger-go/messenger/domain"
)

// Frame is one WebSocket frame of the wire contract.
type Frame struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// Decode unmarshals the frame's data into v.
func (f Frame) Decode(v any) error { return json.Unmarshal(f.Data, v) }

// Conn is a WebSocket connection to the server.
type Conn struct {
	ws *websocket.Conn
}

// Dial opens the WebSocket as the client's user. Live messages come at once;
// to have what was missed replayed before them, open it with DialResume.
func (c *Client) Dial(ctx context.Context) (*Conn, error) { return c.dial(ctx, "") }

// DialResume opens the WebSocket announcing a resume (the query parameter
// resume=1) and sends it at once with cursors, the last sequence the caller
// holds per conversation (nil when it has none). The server holds live
// messages back until it has replayed every message after the cursors, so
// that nothing newer comes first.
func (c *Client) DialResume(ctx context.Context, cursors map[domain.ConversationID]domain.Sequence) (*Conn, error) {
	conn, err := c.dial(ctx, "?resume=1")
	if err != nil {
		return nil, err
	}
	if err := conn.Resume(ctx, cursors); err != nil {
		_ = conn.CloseNow()
		return nil, err
	}
	return conn, nil
}

func (c *Client) dial(ctx context.Context, query string) (*Conn, error) {
	u := "ws" + strings.TrimPrefix(c.base, "http") + "/ws" + query
	ws, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + c.token}},
	})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(1 << 20)
	return &Conn{ws: ws}, nil
}

// Next reads the next frame.
func (c *Conn) Next(ctx context.Context) (Frame, error) {
	var f Frame
	err := wsjson.Read(ctx, c.ws, &f)
	return f, err
}

// Send writes a frame.
func (c *Conn) Send(ctx context.Context, event string, data any) error {
	return wsjson.Write(ctx, c.ws, map[string]any{"event": event, "data": data})
}

// Close closes the connection normally.
func (c *Conn) Close() error { return c.ws.Close(websocket.StatusNormalClosure, "") }

// CloseNow drops the connection without a closing handshake.
func (c *Conn) CloseNow() error { return c.ws.CloseNow() }

// Resume asks for every message after each conversation's cursor, then live
// ones (nil or an empty map: none). DialResume sends the first one; on a
// connection opened with Dial live messages do not wait for it. A later
// resume gets only what this connection has not sent yet. A cursor above what
// the server stores is answered with `resync {conversationId, lastSequenceId}`:
// drop what is cached of the conversation and take lastSequenceId as its
// cursor.
func (c *Conn) Resume(ctx context.Context, cursors map[domain.ConversationID]domain.Sequence) error {
	if cursors == nil {
		cursors = map[domain.ConversationID]domain.Sequence{}
	}
	return c.Send(ctx, domain.EventResume, map[string]any{"conversations": cursors})
}

// Ping sends a ping and waits for its pong, so that a client can tell a
// frozen server from a quiet one. Another goroutine must be reading (Next).
func (c *Conn) Ping(ctx context.Context) error { return c.ws.Ping(ctx) }
