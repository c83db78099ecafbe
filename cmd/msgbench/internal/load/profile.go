package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// profile fetches a CPU profile from every server over st's measured window
// when Config.ProfileDir is set. The returned function waits for the
// profiles and lists the files written.
func (b *Bench) profile(ctx context.Context, st *stepState) func() []string {
	if b.cfg.ProfileDir == "" {
		return func() []string { return nil }
	}
	secs := max(int(st.cfg.Duration/time.Second), 1)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		files []string
	)
	for k, target := range b.cfg.scrapeTargets() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sleep(ctx, time.Until(st.windowStart))
			name := filepath.Join(b.cfg.ProfileDir, fmt.Sprintf("step%d-%.0fps-node%d.pprof", st.index, st.cfg.Rate, k+1))
			if err := b.fetchProfile(ctx, target, secs, name); err != nil {
				b.noteOnce("profile: " + err.Error())
				return
			}
			mu.Lock()
			files = append(files, name)
			mu.Unlock()
		}()
	}
	return func() []string {
		wg.Wait()
		return files
	}
}

func (b *Bench) fetchProfile(ctx context.Context, target string, secs int, name string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs+30)*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", target, secs), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{}).Do(req)
	if err != nil {
		return fmt.Errorf("%s: %s", target, errorKind(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s serves no /debug/pprof/profile (HTTP %d)", target, resp.StatusCode)
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// noteOnce adds a note to the run's result unless it is there already.
func (b *Bench) noteOnce(note string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range b.result.Notes {
		if n == note {
			return
		}
	}
	b.result.Notes = append(b.result.Notes, note)
}
