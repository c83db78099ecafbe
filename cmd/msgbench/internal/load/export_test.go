package load

import (
	"time"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/report"
)

var (
	ClientMessageIDForTest      = clientMessageID
	ParseClientMessageIDForTest = parseClientMessageID
	OpenMessageIDForTest        = openMessageID
	IsOpenMessageIDForTest      = isOpenMessageID
	ErrorKindForTest            = errorKind
)

func SaturatedForTest(s report.Step, p99 time.Duration) (bool, string) { return saturated(s, p99) }

// PairForTest is the sender and receiver of message i.
func (b *Bench) PairForTest(i int64) (from, to *User) { return b.pair(i) }

// BracketForTest runs sampler.bracket over samples taken at times.
func BracketForTest(times []time.Time, from, to time.Time) (first, last time.Time, ok bool) {
	s := &sampler{}
	for _, t := range times {
		s.samples = append(s.samples, sample{at: t})
	}
	a, b, ok := s.bracket(from, to)
	return a.at, b.at, ok
}
