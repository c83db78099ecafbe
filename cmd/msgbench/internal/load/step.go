package load

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

// StepConfig is one rate held for a while.
type StepConfig struct {
	Rate     float64       // messages per second over all users, > 0
	Warmup   time.Duration // sent at the rate, not measured
	Duration time.Duration // measured
	// Drain bounds the wait, after the last send, for accepted messages to
	// reach their sockets while none arrives: the wait goes on as long as
	// deliveries come in (up to 5 minutes). Default 15 s.
	Drain time.Duration
	// SaturationP99 marks the step saturated when the delivery p99 exceeds
	// it. Default 1 s.
	SaturationP99 time.Duration
}

// maxDrain bounds the whole drain of a step.
const maxDrain = 5 * time.Minute

// Send states of a record.
const (
	statePending uint32 = iota
	stateAccepted
	stateFailed
)

// record is what is known of one message.
type record struct {
	state atomic.Uint32
	recv  atomic.Uint32 // deliveries to the receiver's socket
	echo  atomic.Uint32 // deliveries to the sender's socket
}

// stepState is a step in progress.
type stepState struct {
	index       int
	cfg         StepConfig
	sched       measure.Schedule
	windowStart time.Time
	windowEnd   time.Time
	first, end  int64 // measured message indexes [first, end)
	recs        []record
	wg          sync.WaitGroup // sends in flight

	accepted, failed, warmupErrors atomic.Int64
	acceptedInWindow               atomic.Int64 // answers that came back inside the window
	deliveredInWindow              atomic.Int64 // first deliveries inside the window
	dups, late, invalid            atomic.Int64

	mu       sync.Mutex
	send     *measure.Latencies
	delivery *measure.Latencies
	errs     map[string]int64

	result *report.Step
}

func (st *stepState) measured(i int64) bool { return i >= st.first && i < st.end }

func (st *stepState) inWindow(t time.Time) bool {
	return !t.Before(st.windowStart) && t.Before(st.windowEnd)
}

func (st *stepState) fail(i int64, kind string) {
	st.recs[i].state.Store(stateFailed)
	if !st.measured(i) {
		st.warmupErrors.Add(1)
		return
	}
	st.failed.Add(1)
	st.mu.Lock()
	st.errs[kind]++
	st.mu.Unlock()
}

func (st *stepState) accept(i int64, done time.Time) {
	st.recs[i].state.Store(stateAccepted)
	if st.inWindow(done) {
		st.acceptedInWindow.Add(1)
	}
	if !st.measured(i) {
		return
	}
	st.accepted.Add(1)
	at := st.sched.At(i)
	st.mu.Lock()
	st.send.Add(at, done.Sub(at))
	st.mu.Unlock()
}

// delivered records the first arrival of message i at its receiver.
func (st *stepState) delivered(i int64, now time.Time) {
	if st.inWindow(now) {
		st.deliveredInWindow.Add(1)
	}
	if !st.measured(i) {
		return
	}
	at := st.sched.At(i)
	st.mu.Lock()
	st.delivery.Add(at, now.Sub(at))
	st.mu.Unlock()
}

// pair returns the sender and receiver of message i: the pairs take turns,
// and within a pair the two directions alternate.
func (b *Bench) pair(i int64) (from, to *User) {
	pairs := int64(len(b.users) / 2)
	p, dir := i%pairs, (i/pairs)%2
	return b.users[2*p+dir], b.users[2*p+1-dir]
}

// Step sends at cfg.Rate for cfg.Warmup + cfg.Duration, waits for the
// deliveries, and returns the measurements of the window after the warm-up.
func (b *Bench) Step(ctx context.Context, cfg StepConfig) report.Step {
	if cfg.Drain <= 0 {
		cfg.Drain = 15 * time.Second
	}
	if cfg.SaturationP99 <= 0 {
		cfg.SaturationP99 = time.Second
	}
	start := time.Now().Add(20 * time.Millisecond)
	sched := measure.Schedule{Start: start, Rate: cfg.Rate}
	st := &stepState{
		cfg:         cfg,
		sched:       sched,
		windowStart: start.Add(cfg.Warmup),
		windowEnd:   start.Add(cfg.Warmup + cfg.Duration),
		errs:        map[string]int64{},
	}
	st.first, st.end = sched.Window(st.windowStart, st.windowEnd)
	st.recs = make([]record, st.end)
	st.send = measure.NewLatencies(st.windowStart)
	st.delivery = measure.NewLatencies(st.windowStart)
	b.mu.Lock()
	st.index = len(b.steps)
	b.steps = append(b.steps, st)
	b.mu.Unlock()

	b.cfg.Logger.Info("step", "rate", cfg.Rate, "warmup", cfg.Warmup, "duration", cfg.Duration, "messages", st.end)
	stopProgress := b.progress(st)
	profiled := b.profile(ctx, st)
	text := padding(b.cfg.MessageBytes)
	var sent int64
	for sent < st.end && ctx.Err() == nil && b.ctx.Err() == nil {
		due := min(sched.Count(time.Now()), st.end)
		for ; sent < due; sent++ {
			st.wg.Add(1)
			go b.sendOne(st, sent, text)
		}
		if sent < st.end {
			sleep(ctx, time.Until(sched.At(sent)))
		}
	}
	st.wg.Wait()
	load := measure.LoadAverage(b.cfg.ProcRoot)

	// Drain: wait until every accepted message reached both sockets, as
	// long as deliveries keep coming (a saturated step may be far behind).
	drainStart := time.Now()
	lastProgress, lastPending := drainStart, int64(-1)
	for ctx.Err() == nil && time.Since(drainStart) < maxDrain {
		c := st.count()
		pending := c.lost + c.notEchoed
		if pending == 0 {
			break
		}
		if pending != lastPending {
			lastPending, lastProgress = pending, time.Now()
		} else if time.Since(lastProgress) > cfg.Drain {
			break
		}
		sleep(ctx, 100*time.Millisecond)
	}
	drained := time.Since(drainStart)
	stopProgress()

	res := b.stepResult(st, drained)
	res.LoadAverage = load
	res.Profiles = profiled()
	b.mu.Lock()
	st.result = &res
	b.mu.Unlock()
	return res
}

type counts struct{ lost, notEchoed, afterFailure int64 }

func (st *stepState) count() counts {
	var c counts
	for i := range st.recs {
		r := &st.recs[i]
		switch r.state.Load() {
		case stateAccepted:
			if r.recv.Load() == 0 {
				c.lost++
			}
			if r.echo.Load() == 0 {
				c.notEchoed++
			}
		case stateFailed:
			if r.recv.Load() > 0 {
				c.afterFailure++
			}
		}
	}
	return c
}

// padding is the message text: n bytes of printable ASCII.
func padding(n int) string {
	const alphabet = "msgbench load message 0123456789 abcdefghijklmnopqrstuvwxyz "
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[i%len(alphabet)]
	}
	return string(b)
}

// sendOne sends message i of st and records the outcome.
func (b *Bench) sendOne(st *stepState, i int64, text string) {
	defer st.wg.Done()
	from, to := b.pair(i)
	at := st.sched.At(i)
	ctx, cancel := context.WithDeadline(b.ctx, at.Add(b.cfg.SendTimeout))
	defer cancel()
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		st.fail(i, "timeout waiting for a free connection")
		return
	}
	defer func() { <-b.sem }()

	cid := clientMessageID(b.cfg.RunID, st.index, i)
	var (
		done time.Time
		fail string
	)
	if b.cfg.SendOver == SendOverSocket {
		done, fail = b.sendOverSocket(ctx, from, to, cid, text)
	} else {
		fail = b.sendOverHTTP(ctx, from, to, cid, text)
		done = time.Now()
	}
	if fail != "" {
		st.fail(i, fail)
		return
	}
	st.accept(i, done)
}

// sendBody is a send's payload, the same over HTTP and inside a send event.
func sendBody(to *User, cid, text string, prefix, suffix string) []byte {
	body := make([]byte, 0, 160+len(prefix)+len(text))
	body = append(body, prefix...)
	body = append(body, `{"receiverId":"`...)
	body = append(body, to.ID...)
	body = append(body, `","messageType":"text","clientMessageId":"`...)
	body = append(body, cid...)
	body = append(body, `","message":`...)
	body = strconv.AppendQuote(body, text)
	body = append(body, '}')
	body = append(body, suffix...)
	return body
}

// sendOverHTTP posts one message and returns why it failed, or "".
func (b *Bench) sendOverHTTP(ctx context.Context, from, to *User, cid, text string) string {
	status, data, err := b.send.post(ctx, from.Target, "/messages/send", from.auth, sendBody(to, cid, text, "", ""))
	if err != nil {
		return errorKind(err)
	}
	if status != http.StatusAccepted {
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		_ = json.Unmarshal(data, &e)
		return fmt.Sprintf("http %d %s", status, e.Error.Code)
	}
	return ""
}

// socketAnswer is the answer to a send over a socket: the error code of an
// error event, or "" for sendResult, and when it was read.
type socketAnswer struct {
	code string
	at   time.Time
}

// sendOverSocket writes one send event on from's socket and waits for its
// answer, matched by clientMessageId; it returns when the answer was read
// and why the send failed, or "".
func (b *Bench) sendOverSocket(ctx context.Context, from, to *User, cid, text string) (time.Time, string) {
	from.mu.Lock()
	conn := from.conn
	from.mu.Unlock()
	if conn == nil {
		return time.Time{}, "no socket"
	}
	if ctx.Err() != nil {
		return time.Time{}, "timeout before writing"
	}
	answer := make(chan socketAnswer, 1)
	b.answers.Store(cid, answer)
	defer b.answers.Delete(cid)
	// Not ctx: the library closes a connection whose write outlives its
	// context, and one late send must not cut the others of the socket. A
	// server that stops reading is dropped by its own clock.
	if err := conn.Write(b.ctx, websocket.MessageText, sendBody(to, cid, text, `{"event":"send","data":`, "}")); err != nil {
		return time.Time{}, "socket write: " + errorKind(err)
	}
	select {
	case a := <-answer:
		if a.code != "" {
			return a.at, "error event " + a.code
		}
		return a.at, ""
	case <-ctx.Done():
		return time.Time{}, "timeout waiting for sendResult"
	}
}

// onAnswer hands the answer to a send over a socket, read at now, to its
// sender; it reports whether one was waiting.
func (b *Bench) onAnswer(f *inFrame, now time.Time) bool {
	if f.Data.ClientMessageID == "" {
		return false
	}
	v, ok := b.answers.Load(f.Data.ClientMessageID)
	if !ok {
		return false
	}
	code := ""
	if f.Event == "error" {
		code = f.Data.Code
	}
	select {
	case v.(chan socketAnswer) <- socketAnswer{code: code, at: now}:
	default: // answered already
	}
	return true
}
