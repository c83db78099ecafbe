package kafka

import (
	"context"
	"log/slog"
	"sync"

	ckafka "github.com/confluentinc/confluent-kafka-go/v2/kafka"
)

// logPump forwards librdkafka's log lines (which it would otherwise print to
// stderr) to a slog.Logger. One pump serves every client of its owner.
type logPump struct {
	ch   chan ckafka.LogEvent
	done chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

func startLogPump(l *slog.Logger) *logPump {
	p := &logPump{ch: make(chan ckafka.LogEvent, 256), done: make(chan struct{})}
	p.wg.Go(func() {
		for {
			select {
			case ev := <-p.ch:
				l.Log(context.Background(), syslogLevel(ev.Level), "librdkafka: "+ev.Message,
					"client", ev.Name, "tag", ev.Tag)
			case <-p.done:
				return
			}
		}
	})
	return p
}

// stop ends the pump once the clients that write to it are closed. It can be
// called twice.
func (p *logPump) stop() {
	p.once.Do(func() { close(p.done) })
	p.wg.Wait()
}

// syslogLevel maps a syslog severity (librdkafka's levels) to a slog level.
func syslogLevel(l int) slog.Level {
	switch {
	case l <= 3:
		return slog.LevelError
	case l == 4:
		return slog.LevelWarn
	case l <= 6:
		return slog.LevelInfo
	default:
		return slog.LevelDebug
	}
}
