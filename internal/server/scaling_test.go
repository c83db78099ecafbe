package server_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScalingPlanIsCurrent: the capacity table of docs/scaling.md is what
// scripts/scaling.py computes from the figures of docs/benchmarks.md, so a
// new benchmark run or a changed model shows up as a diff here.
func TestScalingPlanIsCurrent(t *testing.T) {
	out, err := exec.Command("python3", repoFile("scripts", "scaling.py"), "--model").CombinedOutput()
	require.NoError(t, err, "%s", out)
	want := strings.TrimSpace(string(out))
	doc, err := os.ReadFile(repoFile("docs", "scaling.md"))
	require.NoError(t, err)
	const begin, end = "<!-- scaling.py: begin -->", "<!-- scaling.py: end -->"
	_, rest, ok := strings.Cut(string(doc), begin)
	require.True(t, ok, "docs/scaling.md has the marker %s", begin)
	got, _, ok := strings.Cut(rest, end)
	require.True(t, ok, "docs/scaling.md has the marker %s", end)
	assert.Equal(t, want, strings.TrimSpace(got), "docs/scaling.md is out of date: paste the output of python3 scripts/scaling.py --model")
	assert.Contains(t, want, "| 1M users | 100,000 |", "the plan reaches 100,000 msg/s")
}
