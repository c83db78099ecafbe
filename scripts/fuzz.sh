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

failed=()
while read -r dir name; do
	echo "== fuzz ./$dir $name for $fuzztime" >&2
	if ! go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "./$dir"; then
		failed+=("./$dir $name")
	fi
done <<<"$targets"

if [ ${#failed[@]} -gt 0 ]; then
	printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
	exit 1
fi
