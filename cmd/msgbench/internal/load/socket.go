package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
)

// connectAll opens every user's socket, DialConcurrency at a time, and
// returns the handshake latencies (until the registered frame) and the
// number of users left without a socket.
func (b *Bench) connectAll(ctx context.Context) ([]time.Duration, int64) {
	var (
		mu     sync.Mutex
		lat    = make([]time.Duration, 0, len(b.users))
		failed int64
	)
	_ = parallel(ctx, len(b.users), b.cfg.DialConcurrency, func(ctx context.Context, i int) error {
		u := b.users[i]
		t := time.Now()
		err := b.dial(ctx, u, nil)
		d := time.Since(t)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed++
			b.failed.Add(1)
			b.countSocketError("connect: " + errorKind(err))
			if failed <= 3 {
				b.cfg.Logger.Warn("socket did not open", "user", i, "err", err)
			}
			return nil
		}
		lat = append(lat, d)
		b.held.Add(1)
		b.wg.Add(1)
		go b.readLoop(u)
		return nil
	})
	return lat, failed
}

// dial opens u's socket, writes first (when set) right after the handshake,
// and waits for the registered frame.
func (b *Bench) dial(ctx context.Context, u *User, first []byte) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	url := "ws" + strings.TrimPrefix(b.cfg.Targets[u.Target], "http") + "/ws"
	if first != nil {
		url += "?resume=1" // first is the resume: live messages wait for its replay
	}
	conn, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: b.ws,
		HTTPHeader: http.Header{"Authorization": {u.auth}},
	})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("http_%d: %w", resp.StatusCode, err)
		}
		return err
	}
	conn.SetReadLimit(1 << 20)
	if first != nil {
		if err := conn.Write(ctx, websocket.MessageText, first); err != nil {
			_ = conn.CloseNow()
			return fmt.Errorf("writing first frame: %w", err)
		}
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		_ = conn.CloseNow()
		return fmt.Errorf("waiting for registered: %w", err)
	}
	var f inFrame
	if err := decodeFrame(data, &f); err != nil || f.Event != "registered" {
		_ = conn.CloseNow()
		return fmt.Errorf("first frame is %q, want registered", truncate(data, 80))
	}
	u.mu.Lock()
	u.conn = conn
	u.mu.Unlock()
	return nil
}

// readLoop reads u's socket until Close; when the server closes it, it
// reconnects and resumes from the highest sequence seen.
func (b *Bench) readLoop(u *User) {
	defer b.wg.Done()
	for {
		u.mu.Lock()
		conn := u.conn
		u.mu.Unlock()
		err := b.readFrames(u, conn)
		if b.ctx.Err() != nil {
			return
		}
		b.held.Add(-1)
		b.countSocketError("closed: " + closeKind(err))
		// The resume goes with the handshake, so the server holds live
		// messages back until the replay is out.
		var resume []byte
		if u.Conv != "" {
			u.mu.Lock()
			last := u.stream.Max()
			u.mu.Unlock()
			resume = fmt.Appendf(nil, `{"event":"resume","data":{"conversations":{%q:%d}}}`, u.Conv, last)
		}
		for attempt := 0; ; attempt++ {
			sleep(b.ctx, min(100*time.Millisecond<<attempt, 2*time.Second))
			if b.ctx.Err() != nil {
				return
			}
			err := b.dial(b.ctx, u, resume)
			if err == nil {
				break
			}
			b.countSocketError("reconnect: " + errorKind(err))
		}
		b.reconnects.Add(1)
		b.held.Add(1)
	}
}

func (b *Bench) readFrames(u *User, conn *websocket.Conn) error {
	var (
		buf bytes.Buffer // reused: a frame is done with before the next is read
		f   inFrame
	)
	for {
		_, r, err := conn.Reader(b.ctx)
		if err != nil {
			return err
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return err
		}
		now := time.Now()
		if err := decodeFrame(buf.Bytes(), &f); err != nil {
			b.countSocketError("malformed frame")
			continue
		}
		switch f.Event {
		case "newMessage":
			b.onMessage(u, &f, now)
		case "sendResult":
			b.onAnswer(&f, now)
		case "error":
			if !b.onAnswer(&f, now) {
				b.countSocketError("error event: " + f.Data.Code)
			}
		}
	}
}

// onMessage accounts for one newMessage frame on u's socket.
func (b *Bench) onMessage(u *User, f *inFrame, now time.Time) {
	u.mu.Lock()
	verdict := u.stream.Observe(f.Data.SequenceID)
	u.mu.Unlock()
	step, idx, ok := parseClientMessageID(b.cfg.RunID, f.Data.ClientMessageID)
	var st *stepState
	if ok {
		b.mu.Lock()
		if step < len(b.steps) {
			st = b.steps[step]
		}
		b.mu.Unlock()
	}
	if st == nil || idx >= int64(len(st.recs)) {
		if !isOpenMessageID(b.cfg.RunID, f.Data.ClientMessageID) {
			b.foreign.Add(1)
		}
		return
	}
	switch verdict {
	case measure.Duplicate:
		st.dups.Add(1)
	case measure.Late:
		st.late.Add(1)
	case measure.Invalid:
		st.invalid.Add(1)
	}
	rec := &st.recs[idx]
	if f.Data.SenderID == string(u.ID) {
		rec.echo.Add(1)
		return
	}
	if rec.recv.Add(1) == 1 {
		st.delivered(idx, now)
	}
}

// ackLoop acknowledges, for every socket, what arrived since the last round.
func (b *Bench) ackLoop() {
	defer b.wg.Done()
	t := time.NewTicker(b.cfg.AckEvery)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case <-t.C:
		}
		for _, u := range b.users {
			u.mu.Lock()
			upTo, conn := u.stream.Contiguous(), u.conn
			if upTo <= u.acked || conn == nil {
				u.mu.Unlock()
				continue
			}
			u.acked = upTo
			u.mu.Unlock()
			data := fmt.Appendf(nil, `{"event":"ack","data":{"conversationId":%q,"upToSequenceId":%d}}`, u.Conv, upTo)
			ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
			if err := conn.Write(ctx, websocket.MessageText, data); err != nil && b.ctx.Err() == nil {
				b.countSocketError("ack: " + errorKind(err))
			}
			cancel()
		}
	}
}

// closeKind names why a socket ended: its close code when the server sent one.
func closeKind(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return fmt.Sprintf("%d %s", int(ce.Code), ce.Reason)
	}
	return errorKind(err)
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
