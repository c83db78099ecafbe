package app

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/messenger-go/messenger/domain"
	"github.com/messenger-go/messenger/ports"
)

// Defaults of Push.
const (
	DefaultPushCollapse   = 5 * time.Second
	DefaultPushStoredWait = 10 * time.Second
	DefaultPushWorkers    = 4
	DefaultPushTimeout    = 30 * time.Second
	pushQueue             = 1024
)

// Push configures push notifications.
type Push struct {
	// Pushers send to the devices of each platform. A device whose platform
	// has no Pusher gets nothing. Empty: push is off.
	Pushers map[domain.Platform]ports.Pusher
	// Collapse is the shortest time between two notifications of one
	// conversation to one user: messages that come meanwhile are told
	// together, with their count, when it has passed. Default
	// DefaultPushCollapse.
	Collapse time.Duration
	// StoredWait bounds how long the push group waits for a message to be
	// stored by the delivery group before it gives up on telling of it.
	// Default DefaultPushStoredWait.
	StoredWait time.Duration
	// Workers send notifications in parallel; default DefaultPushWorkers.
	Workers int
	// Timeout bounds one Pusher call, its retries included; default
	// DefaultPushTimeout.
	Timeout time.Duration
}

func (p Push) withDefaults() Push {
	if p.Collapse <= 0 {
		p.Collapse = DefaultPushCollapse
	}
	if p.StoredWait <= 0 {
		p.StoredWait = DefaultPushStoredWait
	}
	if p.Workers <= 0 {
		p.Workers = DefaultPushWorkers
	}
	if p.Timeout <= 0 {
		p.Timeout = DefaultPushTimeout
	}
	return p
}

// pushKey is one conversation of one receiver.
type pushKey struct {
	user domain.UserID
	conv domain.ConversationID
}

// pending is what a receiver has not been told of a conversation yet.
type pending struct {
	n        domain.PushNotification // Count counts the messages not told yet
	devices  []domain.Device
	seen     domain.Sequence // the highest sequence counted: redeliveries count once
	lastSent time.Time
	due      time.Time // when to tell, if Count > 0
}

// pushJob is one notification to send to a user's devices.
type pushJob struct {
	user    domain.UserID
	n       domain.PushNotification
	devices []domain.Device
}

// pusher collapses and sends the push notifications of an App.
type pusher struct {
	cfg  Push
	mu   sync.Mutex
	pend map[pushKey]*pending
	kick chan struct{}
	jobs chan pushJob
}

func newPusher(cfg Push) *pusher {
	if len(cfg.Pushers) == 0 {
		return nil
	}
	return &pusher{cfg: cfg.withDefaults(), pend: map[pushKey]*pending{},
		kick: make(chan struct{}, 1), jobs: make(chan pushJob, pushQueue)}
}

// HandlePush is the push-notifications-group handler. It reads the messages
// of the batch (changes and records it cannot read are the delivery group's
// business), keeps those whose receiver has devices and no socket open, waits
// until the delivery group has stored them (read back by id: the sequence,
// and whether it was deleted meanwhile, come from the store), and counts them
// towards their conversation's next notification. A batch whose receivers
// have no device costs one DevicesOf call. A message still not stored after
// Push.StoredWait is not told of (logged and counted as dropped): the
// delivery group is behind or rejected it, and a notification must never
// announce what the receiver cannot read. Errors from the device store are
// returned, and the consumer retries the batch; counting is idempotent by
// sequence.
func (a *App) HandlePush(ctx context.Context, batch []ports.Record) ([]ports.Rejection, error) {
	// The receivers first, read alone: most have no device, and their
	// messages are never decoded whole.
	receivers := map[domain.UserID]bool{}
	for _, rec := range batch {
		var head struct {
			ReceiverID domain.UserID `json:"receiverId"`
		}
		if !isChange(rec.Value) && json.Unmarshal(rec.Value, &head) == nil && head.ReceiverID != "" {
			receivers[head.ReceiverID] = true
		}
	}
	if len(receivers) == 0 {
		return nil, nil
	}
	users := make([]domain.UserID, 0, len(receivers))
	for u := range receivers {
		users = append(users, u)
	}
	devices, err := a.cfg.Devices.DevicesOf(ctx, users)
	if err != nil {
		return nil, err
	}
	if len(devices) == 0 {
		return nil, nil
	}
	offline := map[domain.UserID]bool{}
	for u := range devices {
		offline[u] = !a.online(ctx, u)
	}
	var wanted []domain.Message
	for _, rec := range batch {
		if isChange(rec.Value) {
			continue
		}
		m, reason := decodeMessage(rec.Value)
		switch {
		case reason != "" || m.Type == domain.MessageSystem:
		case offline[m.ReceiverID]:
			wanted = append(wanted, m)
		case devices[m.ReceiverID] != nil:
			a.pushCount("", "receiver_online")
		}
	}
	if len(wanted) == 0 {
		return nil, nil
	}
	stored := a.awaitStored(ctx, wanted)
	names := map[domain.UserID]string{}
	for _, m := range stored {
		name, ok := names[m.SenderID]
		if !ok {
			name = a.senderName(ctx, m.SenderID)
			names[m.SenderID] = name
		}
		a.push.add(m, name, devices[m.ReceiverID], a.now())
	}
	return nil, nil
}

// online tells whether user has a socket open on some node. When presence
// cannot tell, the user counts as offline: a notification too many beats one
// missed.
func (a *App) online(ctx context.Context, user domain.UserID) bool {
	if a.cfg.Presence == nil {
		return false
	}
	nodes, err := a.cfg.Presence.Nodes(ctx, user)
	if err != nil {
		a.logger.WarnContext(ctx, "push: presence unavailable; telling the user's devices", "err", err)
		return false
	}
	return len(nodes) > 0
}

// awaitStored reads msgs back from the store, polling until each is stored
// or Push.StoredWait has passed, and returns the stored ones that are not
// deleted, in the order given.
func (a *App) awaitStored(ctx context.Context, msgs []domain.Message) []domain.Message {
	found := make([]*domain.Message, len(msgs))
	deadline := time.Now().Add(a.push.cfg.StoredWait)
	wait := 5 * time.Millisecond
	for {
		missing := 0
		for i, m := range msgs {
			if found[i] != nil {
				continue
			}
			got, err := a.cfg.Messages.MessageByID(ctx, m.ID)
			if err == nil {
				found[i] = &got
				continue
			}
			missing++
		}
		if missing == 0 || ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
	var out []domain.Message
	for i, f := range found {
		switch {
		case f == nil:
			a.pushCount(domain.Platform(""), "dropped")
			a.logger.WarnContext(ctx, "push: message not stored in time; not told", "messageId", msgs[i].ID,
				"wait", a.push.cfg.StoredWait)
		case f.DeletedAt == nil:
			out = append(out, *f)
		}
	}
	return out
}

// senderName is what a notification calls the sender; empty when the sender
// cannot be read (a deleted account).
func (a *App) senderName(ctx context.Context, id domain.UserID) string {
	u, err := a.cfg.Users.UserByID(ctx, id)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// add counts m towards its conversation's next notification to its receiver.
func (p *pusher) add(m domain.Message, sender string, devices []domain.Device, now time.Time) {
	key := pushKey{m.ReceiverID, m.ConversationID}
	p.mu.Lock()
	e := p.pend[key]
	if e == nil {
		e = &pending{}
		p.pend[key] = e
	}
	if m.Sequence <= e.seen {
		p.mu.Unlock()
		return
	}
	e.seen = m.Sequence
	e.devices = devices
	e.n.ConversationID, e.n.SenderID, e.n.SenderName = m.ConversationID, m.SenderID, sender
	e.n.Text = previewText(m)
	e.n.LastSequence, e.n.At = m.Sequence, m.SentAt
	e.n.Count++
	e.due = e.lastSent.Add(p.cfg.Collapse)
	if e.due.Before(now) {
		e.due = now
	}
	p.mu.Unlock()
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// previewText is the text a PreviewText device may show of m.
func previewText(m domain.Message) string {
	if m.Type == domain.MessageText {
		return m.Text
	}
	var meta struct {
		FileName string `json:"fileName"`
	}
	_ = json.Unmarshal(m.Metadata, &meta)
	return strings.TrimSpace("[" + string(m.Type) + "] " + meta.FileName)
}

// due takes the notifications due at now out of the pending ones, forgets
// conversations quiet for a whole Collapse, and returns when the next one is
// due (zero: none pending).
func (p *pusher) due(now time.Time) ([]pushJob, time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var jobs []pushJob
	var next time.Time
	for key, e := range p.pend {
		switch {
		case e.n.Count > 0 && !e.due.After(now):
			jobs = append(jobs, pushJob{user: key.user, n: e.n, devices: e.devices})
			e.n.Count, e.lastSent = 0, now
		case e.n.Count > 0:
			if next.IsZero() || e.due.Before(next) {
				next = e.due
			}
		case now.Sub(e.lastSent) >= p.cfg.Collapse:
			delete(p.pend, key)
		}
	}
	return jobs, next
}

// runPush sends the due notifications until ctx ends.
func (a *App) runPush(ctx context.Context) error {
	p := a.push
	var wg sync.WaitGroup
	for range p.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Done():
					return
				case j := <-p.jobs:
					a.send(ctx, j)
				}
			}
		}()
	}
	defer wg.Wait()
	timer := time.NewTimer(p.cfg.Collapse)
	defer timer.Stop()
	for {
		jobs, next := p.due(a.now())
		for _, j := range jobs {
			if a.online(ctx, j.user) {
				continue // they see the messages themselves
			}
			select {
			case p.jobs <- j:
			default:
				a.pushCount(domain.Platform(""), "dropped")
				a.logger.WarnContext(ctx, "push: queue full; notification dropped", "conversationId", j.n.ConversationID)
			}
		}
		wait := p.cfg.Collapse
		if !next.IsZero() {
			wait = max(next.Sub(a.now()), time.Millisecond)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-p.kick:
		case <-timer.C:
		}
	}
}

// send pushes j to each of its devices, as each device's preview allows, and
// forgets the devices their push service no longer knows.
func (a *App) send(ctx context.Context, j pushJob) {
	for _, d := range j.devices {
		pusher := a.push.cfg.Pushers[d.Platform]
		if pusher == nil {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, a.push.cfg.Timeout)
		err := pusher.Push(pctx, d, j.n.For(d))
		cancel()
		switch {
		case err == nil:
			a.pushCount(d.Platform, "sent")
		case domain.KindOf(err) == domain.KindNotFound:
			a.pushCount(d.Platform, "unregistered")
			if err := a.cfg.Devices.ForgetToken(ctx, d.Platform, d.Token); err != nil {
				a.logger.WarnContext(ctx, "push: forgetting an unregistered device failed", "deviceId", d.ID, "err", err)
			}
		default:
			a.pushCount(d.Platform, "failed")
			a.logger.WarnContext(ctx, "push: notification failed", "platform", d.Platform, "deviceId", d.ID, "err", err)
		}
	}
}

func (a *App) pushCount(platform domain.Platform, outcome string) {
	if m, ok := a.cfg.Metrics.(ports.PushMetrics); ok {
		m.Pushed(platform, outcome)
	}
}
