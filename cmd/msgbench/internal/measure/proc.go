package measure

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ClockTick is the unit of the CPU times in /proc/<pid>/stat (USER_HZ, 100
// on every Linux platform Go supports).
const ClockTick = 10 * time.Millisecond

// ProcSample is one reading of a process (or a process tree).
type ProcSample struct {
	CPU time.Duration // user + system time consumed so far
	RSS int64         // resident set size in bytes
	// Writes counts the write system calls made so far (syscw of
	// /proc/<pid>/io: write, writev, sendmsg...); -1 when unreadable.
	Writes int64
}

// ParseStat reads the CPU time of a /proc/<pid>/stat line: utime and stime,
// plus cutime and cstime (the time of children the process has waited for),
// together with the parent pid. Counting reaped children keeps a process
// tree's sum from going backwards when a child exits: PostgreSQL's
// postmaster, for one, reaps its backends.
func ParseStat(line []byte) (cpu time.Duration, ppid int, err error) {
	// The command name (field 2) may hold spaces and parentheses: the fields
	// after it start behind its last ')'.
	i := bytes.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed stat line")
	}
	f := strings.Fields(string(line[i+1:]))
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime
	// 16, cstime 17.
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("stat line has %d fields after the name", len(f))
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return 0, 0, fmt.Errorf("malformed ppid %q", f[1])
	}
	var ticks int64
	for _, field := range f[11:15] {
		n, err := strconv.ParseInt(field, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("malformed stat time %q", field)
		}
		ticks += n
	}
	return time.Duration(ticks) * ClockTick, ppid, nil
}

// ParseStatusRSS reads VmRSS from a /proc/<pid>/status file, in bytes.
func ParseStatusRSS(status []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("malformed VmRSS line %q", line)
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed VmRSS line %q", line)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf("no VmRSS (a kernel thread or a zombie?)")
}

// ParseIOWrites reads syscw, the count of write system calls, from a
// /proc/<pid>/io file.
func ParseIOWrites(io []byte) (int64, error) {
	for line := range strings.Lines(string(io)) {
		rest, ok := strings.CutPrefix(line, "syscw:")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("malformed syscw line %q", strings.TrimSpace(line))
		}
		return n, nil
	}
	return 0, fmt.Errorf("no syscw")
}

// Proc reads processes from a /proc tree (root "/proc" on a live system).
type Proc struct {
	Root string
}

// Sample reads one process.
func (p Proc) Sample(pid int) (ProcSample, error) {
	dir := filepath.Join(p.Root, strconv.Itoa(pid))
	stat, err := os.ReadFile(filepath.Join(dir, "stat"))
	if err != nil {
		return ProcSample{}, err
	}
	cpu, _, err := ParseStat(stat)
	if err != nil {
		return ProcSample{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	status, err := os.ReadFile(filepath.Join(dir, "status"))
	if err != nil {
		return ProcSample{}, err
	}
	rss, err := ParseStatusRSS(status)
	if err != nil {
		return ProcSample{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	writes := int64(-1) // another user's process, or no task I/O accounting
	if io, err := os.ReadFile(filepath.Join(dir, "io")); err == nil {
		if n, err := ParseIOWrites(io); err == nil {
			writes = n
		}
	}
	return ProcSample{CPU: cpu, RSS: rss, Writes: writes}, nil
}

// AddWrites adds two counts of write calls, either of which may be unknown
// (-1).
func AddWrites(a, b int64) int64 {
	if a < 0 || b < 0 {
		return -1
	}
	return a + b
}

// Tree sums pid and every live descendant of it (PostgreSQL's backends, for
// instance, are children of the postmaster). A descendant that exited and
// was reaped counts through its parent's cutime and cstime; one that exits
// between the two reads of a sample is skipped, so a delta over a tree may
// miss its last moments.
func (p Proc) Tree(pid int) (ProcSample, error) {
	root, err := p.Sample(pid)
	if err != nil {
		return ProcSample{}, err
	}
	entries, err := os.ReadDir(p.Root)
	if err != nil {
		return root, err
	}
	children := map[int][]int{}
	for _, e := range entries {
		cpid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(p.Root, e.Name(), "stat"))
		if err != nil {
			continue
		}
		if _, ppid, err := ParseStat(stat); err == nil {
			children[ppid] = append(children[ppid], cpid)
		}
	}
	sum := root
	queue := children[pid]
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if s, err := p.Sample(c); err == nil {
			sum.CPU += s.CPU
			sum.RSS += s.RSS
			sum.Writes = AddWrites(sum.Writes, s.Writes)
		}
		queue = append(queue, children[c]...)
	}
	return sum, nil
}

// LoadAverage reads the 1-minute load average from procRoot's loadavg; -1
// when it cannot.
func LoadAverage(procRoot string) float64 {
	data, err := os.ReadFile(filepath.Join(procRoot, "loadavg"))
	if err != nil {
		return -1
	}
	f, _, _ := strings.Cut(string(data), " ")
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return -1
	}
	return v
}
