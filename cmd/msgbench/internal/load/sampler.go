package load

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
)

// sample is one reading of the servers and the watched processes.
type sample struct {
	at       time.Time
	lag      float64 // records behind in message-delivery-group, summed over servers
	lagOK    bool
	sockets  float64 // open sockets by the servers' own count
	sockOK   bool
	server   measure.ProcSample // every server pid summed
	serverOK bool
	comps    []measure.ProcSample
	compOK   []bool
	self     measure.ProcSample
	held     int
}

// sampler reads every SampleEvery and keeps the readings.
type sampler struct {
	cfg  Config
	http *http.Client
	held func() int
	proc measure.Proc

	mu      sync.Mutex
	samples []sample
}

func newSampler(cfg Config, c *http.Client, held func() int) *sampler {
	return &sampler{cfg: cfg, http: c, held: held, proc: measure.Proc{Root: cfg.ProcRoot}}
}

func (s *sampler) run(ctx context.Context) {
	t := time.NewTicker(s.cfg.SampleEvery)
	defer t.Stop()
	for {
		x := s.take(ctx)
		s.mu.Lock()
		s.samples = append(s.samples, x)
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// take reads everything once; the scrapes run in parallel.
func (s *sampler) take(ctx context.Context) sample {
	x := sample{at: time.Now(), held: s.held()}
	type scraped struct {
		lag, sockets     float64
		lagOK, socketsOK bool
	}
	targets := s.cfg.scrapeTargets()
	res := make([]scraped, len(targets))
	var wg sync.WaitGroup
	for i, target := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/metrics", nil)
			if err != nil {
				return
			}
			resp, err := s.http.Do(req)
			if err != nil {
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return
			}
			body, err := readAll(resp)
			if err != nil {
				return
			}
			r := &res[i]
			r.lag, r.lagOK, _ = measure.ScrapeSum(body(), "messenger_consumer_lag", map[string]string{"group": "message-delivery-group"})
			r.sockets, r.socketsOK, _ = measure.ScrapeSum(body(), "messenger_open_sockets", nil)
		}()
	}
	s.readProcs(&x)
	wg.Wait()
	for _, r := range res {
		if r.lagOK {
			x.lag += r.lag
			x.lagOK = true
		}
		if r.socketsOK {
			x.sockets += r.sockets
			x.sockOK = true
		}
	}
	return x
}

func (s *sampler) readProcs(x *sample) {
	x.server = s.serverNow()
	x.serverOK = len(s.cfg.ServerPIDs) > 0 && x.server.RSS > 0
	x.comps = make([]measure.ProcSample, len(s.cfg.Watch))
	x.compOK = make([]bool, len(s.cfg.Watch))
	for i, w := range s.cfg.Watch {
		if p, err := s.proc.Tree(w.PID); err == nil {
			x.comps[i], x.compOK[i] = p, true
		}
	}
	x.self, _ = s.proc.Sample(os.Getpid())
}

// serverNow sums the server processes now (zero when none is configured or
// one cannot be read).
func (s *sampler) serverNow() measure.ProcSample {
	var sum measure.ProcSample
	for _, pid := range s.cfg.ServerPIDs {
		p, err := s.proc.Sample(pid)
		if err != nil {
			return measure.ProcSample{}
		}
		sum.CPU += p.CPU
		sum.RSS += p.RSS
		sum.Writes = measure.AddWrites(sum.Writes, p.Writes)
	}
	return sum
}

// readAll reads a response body and returns a function giving fresh readers
// over it.
func readAll(resp *http.Response) (func() io.Reader, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	return func() io.Reader { return bytes.NewReader(data) }, nil
}

// window returns the samples taken in [from, to].
func (s *sampler) window(from, to time.Time) []sample {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []sample
	for _, x := range s.samples {
		if !x.at.Before(from) && !x.at.After(to) {
			out = append(out, x)
		}
	}
	return out
}

// bracket returns the last sample taken at or before from and the first
// taken at or after to, so that differences between them cover [from, to]
// even when samples are sparse; ok is false without two distinct samples.
func (s *sampler) bracket(from, to time.Time) (first, last sample, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i0, i1 := -1, -1
	for i, x := range s.samples {
		if !x.at.After(from) {
			i0 = i
		}
		if i1 < 0 && !x.at.Before(to) {
			i1 = i
		}
	}
	if i0 < 0 && len(s.samples) > 0 {
		i0 = 0
	}
	if i1 < 0 {
		i1 = len(s.samples) - 1
	}
	if i0 < 0 || i1 <= i0 {
		return sample{}, sample{}, false
	}
	return s.samples[i0], s.samples[i1], true
}

// latest is the last sample taken.
func (s *sampler) latest() (sample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.samples) == 0 {
		return sample{}, false
	}
	return s.samples[len(s.samples)-1], true
}
