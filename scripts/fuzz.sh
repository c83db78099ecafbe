#!/usr/bin/env bash
# Runs every fuzz target of the module, one after the other (`go test -fuzz`
# takes one package and one target at a time), each for FUZZTIME (default
# 10s). A failing input is written by go test under the package's
# testdata/fuzz/<Target>/, where it joins the seed corpus every `go test` run
# replays; commit it with the fix. Exits non-zero if any target failed.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}

targets=$(git ls-files '*_test.go' | xargs grep -HE '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' |
	sed -E 's#^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*#\1 \2#' | sort)
if [ -z "$targets" ]; then
	echo "fuzz: no targets found" >&2
	exit 1
fi

# A run whose only failure is the fuzzing engine's own "context deadline
# exceeded" (the time ran out while it was still handling a new input; no
# failing input was written) is run once more. A real failure writes its
# input under testdata/fuzz/, which the second run replays first, so it fails
# again.
fuzz_one() { # dir name
	local out rc=0
	out="$(mktemp)"
	go test -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" "./$1" 2>&1 | tee "$out" || rc=$?
	if [ "$rc" != 0 ] && grep -q 'context deadline exceeded' "$out" && ! grep -q 'Failing input written' "$out"; then
		echo "== fuzz ./$1 $2: the engine ran out of time on a new input, not a failure; once more" >&2
		rc=0
		go test -run '^$' -fuzz "^${2}\$" -fuzztime "$fuzztime" "./$1" || rc=$?
	fi
	rm -f "$out"
	return "$rc"
}

failed=()
while read -r dir name; do
	echo "== fuzz ./$dir $name for $fuzztime" >&2
	if ! fuzz_one "$dir" "$name"; then
		failed+=("./$dir $name")
	fi
done <<<"$targets"

if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
	exit 1
fi
