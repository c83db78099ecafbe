package app

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// typingRecord is a record of the typing-indicators topic.
type typingRecord struct {
	SenderID   domain.UserID `json:"senderId"`
	ReceiverID domain.UserID `json:"receiverId"`
	IsTyping   bool          `json:"isTyping"`
}

// Typing queues a typing indicator for receiver. It is ephemeral: the publish
// is bounded by TypingTimeout, and nothing is stored. Indicators beyond
// Guards.TypingInterval's pace are dropped here, silently, before they cost
// the log or the receiver anything (typingGate).
func (a *App) Typing(ctx context.Context, sender, receiver domain.UserID, isTyping bool) error {
	conv, err := domain.NewConversationID(sender, receiver)
	if err != nil {
		return err
	}
	if err := a.canMessage(ctx, sender, receiver); err != nil {
		return err
	}
	if !a.cfg.Guards.typing.pass(sender, receiver, isTyping, a.now()) {
		return nil
	}
	value, err := json.Marshal(typingRecord{SenderID: sender, ReceiverID: receiver, IsTyping: isTyping})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.TypingTimeout)
	defer cancel()
	return a.cfg.Log.Publish(ctx, ports.TopicTyping, []byte(conv), value)
}

// DefaultTypingInterval is Guards.TypingInterval's default.
const DefaultTypingInterval = 2 * time.Second

// typingGate paces the typing indicators of each (sender, receiver) pair on
// this node, so that a flood of typing frames reaches neither the log nor the
// receiver's socket:
//
//   - a start (isTyping true) goes out when the pair's last start went out
//     at least interval ago: repeats of a start refresh the receiver's
//     indicator at most that often;
//   - a stop goes out when the last indicator that went out was a start:
//     one stop per start, so an indicator the receiver shows never sticks;
//   - a pair quiet for interval starts afresh: anything goes out.
//
// So a pair sends the receiver at most a start and a stop per interval. The
// state is per node, in memory, not in Redis: a sender's typing comes from
// its sockets, which are usually on one node, and a shared count would cost
// a round trip per keystroke to protect against what the per-socket frame
// limit and the socket cap already bound (a sender on k nodes paces each
// node's pairs, at most k times the rate). Safe for concurrent use; a nil
// gate lets everything through.
type typingGate struct {
	interval time.Duration

	mu    sync.Mutex
	pairs map[typingPair]typingState
	swept time.Time
}

type typingPair struct{ sender, receiver domain.UserID }

type typingState struct {
	last    time.Time // when the pair's last indicator went out
	started time.Time // when its last start went out
	showing bool      // the last one was a start
}

// newTypingGate returns a gate of interval, or nil (none) when it is negative.
func newTypingGate(interval time.Duration) *typingGate {
	if interval < 0 {
		return nil
	}
	return &typingGate{interval: interval, pairs: make(map[typingPair]typingState)}
}

// pass reports whether the indicator of sender to receiver, at now, goes out,
// and records it when it does.
func (g *typingGate) pass(sender, receiver domain.UserID, isTyping bool, now time.Time) bool {
	if g == nil {
		return true
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if now.Sub(g.swept) >= g.interval {
		g.sweep(now)
	}
	k := typingPair{sender, receiver}
	st, known := g.pairs[k]
	if known && now.Sub(st.last) < g.interval {
		if isTyping && now.Sub(st.started) < g.interval {
			return false
		}
		if !isTyping && !st.showing {
			return false
		}
	}
	st.last, st.showing = now, isTyping
	if isTyping {
		st.started = now
	}
	g.pairs[k] = st
	return true
}

// sweep forgets the pairs quiet for interval, which pass treats as new
// anyway: the map holds only the pairs of the last interval or two.
func (g *typingGate) sweep(now time.Time) {
	g.swept = now
	for k, st := range g.pairs {
		if now.Sub(st.last) >= g.interval {
			delete(g.pairs, k)
		}
	}
}

// typingMaxAge is how old a typing indicator may be and still be worth
// showing; older ones (a backlog after an outage, or a new consumer group
// starting from the oldest record) are dropped.
const typingMaxAge = 5 * time.Second

// HandleTyping is the typing-broadcast-group handler: typingIndicator to the receiver.
func (a *App) HandleTyping(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
	var rejected []ports.Rejection
	now := a.now()
	for _, rec := range batch {
		if !rec.Time.IsZero() && now.Sub(rec.Time) > typingMaxAge {
			continue
		}
		var t typingRecord
		if err := json.Unmarshal(rec.Value, &t); err != nil {
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: "undecodable typing indicator: " + err.Error()})
			continue
		}
		conv, err := domain.NewConversationID(t.SenderID, t.ReceiverID)
		if err != nil {
			rejected = append(rejected, ports.Rejection{Record: rec, Reason: "invalid typing indicator: " + err.Error()})
			continue
		}
		a.notify(ctx, []domain.UserID{t.ReceiverID}, domain.Event{Name: domain.EventTypingIndicator, Data: domain.TypingPayload{
			SenderID: t.SenderID, ConversationID: conv, IsTyping: t.IsTyping,
		}})
	}
	return rejected, nil
}
