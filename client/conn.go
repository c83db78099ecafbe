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

// Dial opens the WebSocket as the client's user.
func (c *Client) Dial(ctx context.Context) (*Conn, error) {
	u := "ws" + strings.TrimPrefix(c.base, "http") + "/ws"
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
// ones. Send it right after Dial, before or after reading `registered` (an
// empty map when there is no cursor): until then, or for a short grace period,
// the server holds back new messages so that a replay comes before anything
// newer. A later resume gets only what this connection has not sent yet.
func (c *Conn) Resume(ctx context.Context, cursors map[domain.ConversationID]domain.Sequence) error {
	if cursors == nil {
		cursors = map[domain.ConversationID]domain.Sequence{}
	}
	return c.Send(ctx, domain.EventResume, map[string]any{"conversations": cursors})
}
