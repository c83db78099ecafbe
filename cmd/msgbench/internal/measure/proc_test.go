package measure_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
)

// statLine is a /proc/<pid>/stat line with the given name, ppid, utime and
// stime, and no reaped children.
func statLine(pid int, name string, ppid, utime, stime int) string {
	return statLineReaped(pid, name, ppid, utime, stime, 0, 0)
}

// statLineReaped is statLine with the cutime and cstime of reaped children.
func statLineReaped(pid int, name string, ppid, utime, stime, cutime, cstime int) string {
	return strconv.Itoa(pid) + " (" + name + ") S " + strconv.Itoa(ppid) +
		" 1 1 0 -1 4194560 100 0 0 0 " + strconv.Itoa(utime) + " " + strconv.Itoa(stime) +
		" " + strconv.Itoa(cutime) + " " + strconv.Itoa(cstime) + " 20 0 8 0 123 456789 1234 18446744073709551615\n"
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name    string
		line    string
		cpu     time.Duration
		ppid    int
		wantErr bool
	}{
		{"plain", statLine(42, "messenger", 1, 150, 50), 2 * time.Second, 1, false},
		{"name with spaces and parens", statLine(7, "a (b) c", 3, 1, 2), 30 * time.Millisecond, 3, false},
		{"reaped children count", statLineReaped(10, "postgres", 1, 100, 20, 300, 80), 5 * time.Second, 1, false},
		{"no child times", "42 (x) S 1 1 1 0 -1 4194560 100 0 0 0 150 50", 0, 0, true},
		{"truncated", "42 (x) S 1 2 3", 0, 0, true},
		{"no name", "garbage", 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cpu, ppid, err := measure.ParseStat([]byte(tc.line))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.cpu, cpu)
			assert.Equal(t, tc.ppid, ppid)
		})
	}
}

func TestParseStatusRSS(t *testing.T) {
	tests := []struct {
		name    string
		status  string
		want    int64
		wantErr bool
	}{
		{"present", "Name:\tx\nVmPeak:\t  9 kB\nVmRSS:\t   2048 kB\nThreads:\t3\n", 2048 << 10, false},
		{"absent", "Name:\tkthreadd\nThreads:\t1\n", 0, true},
		{"bad unit", "VmRSS:\t 12 MB\n", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := measure.ParseStatusRSS([]byte(tc.status))
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestProcTreeSumsDescendants(t *testing.T) {
	root := t.TempDir()
	write := func(pid, ppid, utime, rssKiB int) {
		t.Helper()
		dir := filepath.Join(root, strconv.Itoa(pid))
		require.NoError(t, os.MkdirAll(dir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(statLine(pid, "p", ppid, utime, 0)), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "status"), []byte("VmRSS:\t"+strconv.Itoa(rssKiB)+" kB\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "io"), []byte("syscr: 1\nsyscw: "+strconv.Itoa(2*utime)+"\n"), 0o644))
	}
	write(10, 1, 100, 1000) // postmaster
	write(11, 10, 10, 100)  // backend
	write(12, 11, 1, 10)    // grandchild
	write(20, 1, 500, 5000) // unrelated
	require.NoError(t, os.MkdirAll(filepath.Join(root, "self"), 0o755))

	p := measure.Proc{Root: root}
	one, err := p.Sample(10)
	require.NoError(t, err)
	assert.Equal(t, measure.ProcSample{CPU: time.Second, RSS: 1000 << 10, Writes: 200}, one)

	tree, err := p.Tree(10)
	require.NoError(t, err)
	assert.Equal(t, measure.ProcSample{CPU: 1110 * time.Millisecond, RSS: 1110 << 10, Writes: 222}, tree)

	require.NoError(t, os.Remove(filepath.Join(root, "12", "io")))
	partial, err := p.Tree(10)
	require.NoError(t, err)
	assert.EqualValues(t, -1, partial.Writes, "a process whose writes cannot be read makes the sum unknown")

	_, err = p.Sample(99)
	assert.Error(t, err, "a missing pid is an error")

	// The backend exits and the postmaster reaps it: the tree's CPU stays.
	require.NoError(t, os.RemoveAll(filepath.Join(root, "11")))
	require.NoError(t, os.RemoveAll(filepath.Join(root, "12")))
	require.NoError(t, os.WriteFile(filepath.Join(root, "10", "stat"), []byte(statLineReaped(10, "p", 1, 100, 0, 11, 0)), 0o644))
	after, err := p.Tree(10)
	require.NoError(t, err)
	assert.Equal(t, tree.CPU, after.CPU, "a reaped child's CPU moves to its parent")
}

func TestProcReadsThisProcess(t *testing.T) {
	s, err := measure.Proc{Root: "/proc"}.Sample(os.Getpid())
	require.NoError(t, err)
	assert.Greater(t, s.RSS, int64(1<<20), "a Go test binary holds more than 1 MiB")
	assert.Positive(t, s.Writes, "a test binary has written (its output, at least)")
}

func TestLoadAverage(t *testing.T) {
	dir := t.TempDir()
	assert.Equal(t, -1.0, measure.LoadAverage(dir), "no loadavg")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "loadavg"), []byte("1.73 0.92 0.40 3/512 4242\n"), 0o644))
	assert.Equal(t, 1.73, measure.LoadAverage(dir))
}

func TestParseIOWrites(t *testing.T) {
	io := "rchar: 1234\nwchar: 99\nsyscr: 10\nsyscw: 4242\nread_bytes: 0\n"
	n, err := measure.ParseIOWrites([]byte(io))
	require.NoError(t, err)
	assert.EqualValues(t, 4242, n)
	_, err = measure.ParseIOWrites([]byte("rchar: 1\n"))
	require.Error(t, err)
	_, err = measure.ParseIOWrites([]byte("syscw: many\n"))
	require.Error(t, err)
}
