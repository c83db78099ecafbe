package measure

// Verdict classifies one arrival of a sequence number on a Stream.
type Verdict int

const (
	// InOrder: a new sequence higher than every one seen before. It may skip
	// numbers; those count as missing until they arrive.
	InOrder Verdict = iota
	// Late: a new sequence lower than one already seen (out of order).
	Late
	// Duplicate: a sequence seen before.
	Duplicate
	// Invalid: a sequence below 1.
	Invalid
)

func (v Verdict) String() string {
	switch v {
	case InOrder:
		return "in order"
	case Late:
		return "out of order"
	case Duplicate:
		return "duplicate"
	default:
		return "invalid"
	}
}

// Stream checks what one receiver sees of one conversation: the server numbers
// a conversation's messages 1, 2, 3, ... and a receiver should see each number
// once, in increasing order. Not safe for concurrent use.
type Stream struct {
	seen       []uint64 // bit s set when sequence s arrived
	max        int64
	contiguous int64 // every sequence in 1..contiguous arrived
	count      int64 // distinct sequences seen
	late, dups int64
}

// Observe records an arrival of seq and classifies it.
func (s *Stream) Observe(seq int64) Verdict {
	if seq < 1 {
		return Invalid
	}
	w, bit := seq/64, uint64(1)<<(seq%64)
	for int64(len(s.seen)) <= w {
		s.seen = append(s.seen, 0)
	}
	if s.seen[w]&bit != 0 {
		s.dups++
		return Duplicate
	}
	s.seen[w] |= bit
	s.count++
	for s.has(s.contiguous + 1) {
		s.contiguous++
	}
	if seq < s.max {
		s.late++
		return Late
	}
	s.max = seq
	return InOrder
}

func (s *Stream) has(seq int64) bool {
	w := seq / 64
	return w < int64(len(s.seen)) && s.seen[w]&(1<<(seq%64)) != 0
}

// Max is the highest sequence seen (0 for none).
func (s *Stream) Max() int64 { return s.max }

// Contiguous is the highest n such that 1..n all arrived.
func (s *Stream) Contiguous() int64 { return s.contiguous }

// Missing is how many sequences below Max never arrived.
func (s *Stream) Missing() int64 { return s.max - s.count }

// MissingUpTo is how many of 1..n never arrived, for a receiver that should
// have seen n messages (n may exceed Max when the last ones were lost).
func (s *Stream) MissingUpTo(n int64) int64 {
	var got int64
	if n >= s.max {
		got = s.count
	} else {
		for q := int64(1); q <= n; q++ {
			if s.has(q) {
				got++
			}
		}
	}
	return max(n-got, 0)
}

// Late is how many arrivals came after a higher sequence.
func (s *Stream) Late() int64 { return s.late }

// Duplicates is how many arrivals repeated a sequence.
func (s *Stream) Duplicates() int64 { return s.dups }
