package measure

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// ScrapeSum reads a Prometheus text exposition and sums the samples of metric
// name whose labels include every pair of want (nil matches any labels). found
// is false when no sample matched, which tells "no such metric here" (say, a
// node without Kafka has no consumer lag) from a value of 0.
func ScrapeSum(r io.Reader, name string, want map[string]string) (sum float64, found bool, err error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' || !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		var labels string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.LastIndexByte(rest, '}')
			if end < 0 {
				continue
			}
			labels, rest = rest[1:end], rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // a longer name with the same prefix
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			continue
		}
		v, perr := strconv.ParseFloat(f[0], 64)
		if perr != nil {
			continue
		}
		if !labelsMatch(labels, want) {
			continue
		}
		sum += v
		found = true
	}
	return sum, found, sc.Err()
}

// labelsMatch reports whether the label list `a="x",b="y"` holds every pair of
// want. Label values in our metrics hold no quotes or commas.
func labelsMatch(labels string, want map[string]string) bool {
	if len(want) == 0 {
		return true
	}
	have := map[string]string{}
	for _, kv := range strings.Split(labels, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			continue
		}
		have[k] = strings.Trim(v, `"`)
	}
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
