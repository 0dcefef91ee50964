#!/usr/bin/env bash
# make fuzz: run every fuzz target of the module for FUZZTIME each (default
# 8s), one after the other. Targets are discovered with `go test -list`, so
# a new FuzzXxx is never forgotten; the list must match docs/fuzzing.md
# (tools/fuzzlist). A crasher go test finds is written to the package's
# testdata/fuzz/FuzzXxx/ — keep it there, as seed corpus, with the fix. Every
# target runs even after a failure; the exit status says whether any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-8s}
# go test minimizes every new interesting input, not only crashers, for up
# to -fuzzminimizetime (60s by default): targets with large inputs (guest
# memory, trace files) spent their whole budget minimizing (FuzzHypercall:
# 3 748 execs in 8 s; with 1000x, 262 850).
MINIMIZE=${FUZZMINIMIZETIME:-1000x}

$GO run ./tools/fuzzlist -check docs/fuzzing.md || exit 1

start=$(date +%s)
listed=$($GO test -list '^Fuzz' ./... | awk '/^Fuzz/ {ts = ts " " $1; next} /^ok/ {if (ts != "") print $2 ts; ts = ""}') || {
	echo "fuzz: go test -list failed" >&2
	exit 1
}
pairs=$(echo "$listed" | awk '{for (i = 2; i <= NF; i++) print $1, $i}' | sort)
if [ "$pairs" != "$($GO run ./tools/fuzzlist -targets | sort)" ]; then
	echo "fuzz: go test -list and tools/fuzzlist disagree on the targets:" >&2
	diff <(echo "$pairs") <($GO run ./tools/fuzzlist -targets | sort) >&2
	exit 1
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT

# fuzz runs one target; a failure that is only Go 1.26's coordinator race at
# the end of -fuzztime ("context deadline exceeded", no failing input
# written: go.dev/issue/75804, fixed in Go 1.27) is run once more.
fuzz() {
	local pkg=$1 target=$2 try
	for try in 1 2; do
		if $GO test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$MINIMIZE" "$pkg" >"$out" 2>&1; then
			return 0
		fi
		if ! grep -q '^    context deadline exceeded$' "$out" || grep -q 'Failing input written' "$out"; then
			return 1
		fi
		echo "     $target: context deadline exceeded without an input (go.dev/issue/75804); again" >&2
	done
	return 1
}

n=0
failed=()
while read -r pkg target; do
	n=$((n + 1))
	t0=$(date +%s)
	if fuzz "$pkg" "$target"; then
		echo "ok   $pkg $target ($(($(date +%s) - t0))s, $(grep -o 'execs: [0-9]*' "$out" | tail -1))"
	else
		echo "FAIL $pkg $target ($(($(date +%s) - t0))s)"
		cat "$out"
		failed+=("$pkg $target")
	fi
done <<<"$pairs"

echo "fuzz: $n targets, FUZZTIME=$FUZZTIME each, $(($(date +%s) - start))s in all, ${#failed[@]} failed"
new=$(git status --porcelain --untracked-files=all -- '*/testdata/fuzz/*')
if [ -n "$new" ]; then
	echo "fuzz: new corpus entries (crashers: keep them with the fix):"
	echo "$new"
fi
[ ${#failed[@]} -eq 0 ]
