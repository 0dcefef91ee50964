#!/bin/sh
# The demo `make demo` runs: uaaf's main job, the resident daemon serving
# sessions that share preloaded library functions. Each step prints the
# command it runs, so the output doubles as a tutorial.
#
#   tools/demo/demo.sh [BINDIR]     (default: bin, from the repository root)
#
# It starts `uaaf serve` on a socket of its own (in a temporary directory,
# so it never meets a system daemon), drives it with the CLI verbs and stops
# it with SIGTERM. Everything it creates is removed on exit.
set -eu

BIN=${1:-}
if [ -n "$BIN" ]; then
	BIN=$(cd "$BIN" && pwd) || exit 1 # before the cd below: relative to the caller
fi
cd "$(dirname "$0")/../.."
BIN=${BIN:-bin}
UAAF="$BIN/uaaf"
TMP=$(mktemp -d /tmp/uaaf-demo.XXXXXX)
UAAF_SOCKET="$TMP/uaaf.sock"
export UAAF_SOCKET
DAEMON=

cleanup() {
	status=$?
	if [ -n "$DAEMON" ] && kill -0 "$DAEMON" 2>/dev/null; then
		kill -TERM "$DAEMON" 2>/dev/null || true
		wait "$DAEMON" 2>/dev/null || true
	fi
	if [ "$status" -ne 0 ] && [ -s "$TMP/daemon.log" ]; then
		echo "--- the daemon's log ($TMP/daemon.log):" >&2
		tail -n 20 "$TMP/daemon.log" >&2
	fi
	rm -rf "$TMP"
	exit "$status"
}
trap cleanup EXIT INT TERM

BOLD= PLAIN=
if [ -t 1 ]; then
	BOLD=$(printf '\033[1m') PLAIN=$(printf '\033[0m')
fi
step() {
	printf '\n%s## %s%s\n' "$BOLD" "$*" "$PLAIN"
}

# show runs a command after printing it the way a user would type it.
show() {
	printf '$ %s\n' "$*" | sed "s|$TMP|\$TMP|g"
	"$@"
}

for f in "$UAAF" "$BIN/uaaf-ctl" guest/build/demo.hvt libfuncs/build/sha256.hvt; do
	if [ ! -e "$f" ]; then
		echo "demo: $f is missing; run \`make all\` first (or \`make demo\`, which does)" >&2
		exit 1
	fi
done

step "Start the daemon: it preloads four library functions once (pinned) and registers three session images (tools/demo/uaaf.json)"
printf '$ %s serve --config tools/demo/uaaf.json &\n' "$UAAF"
"$UAAF" serve --config tools/demo/uaaf.json >"$TMP/ready" 2>"$TMP/daemon.log" &
DAEMON=$!
i=0
until [ -s "$TMP/ready" ]; do
	if ! kill -0 "$DAEMON" 2>/dev/null || [ $i -ge 200 ]; then
		echo "demo: uaaf serve did not become ready" >&2
		exit 1
	fi
	i=$((i + 1))
	sleep 0.05
done
sed "s|$TMP|\$TMP|g" "$TMP/ready"

step "The libraries it holds: loaded once, shared by every session"
show "$UAAF" lib ls

step "Invoke a session that calls all four: each call switches to the library's view and back"
show "$UAAF" invoke demo

step "Eight invocations at once, each with its own input; the same four libraries serve them all"
printf '$ for i in 1 … 8; do echo "request $i" | %s invoke --input - digest & done; wait\n' "$UAAF"
pids=
for i in 1 2 3 4 5 6 7 8; do
	echo "request $i" | "$UAAF" invoke --input - digest >"$TMP/out.$i" 2>&1 &
	pids="$pids $!"
done
for p in $pids; do
	wait "$p" || true
done
for i in 1 2 3 4 5 6 7 8; do
	printf 'request %s → %s\n' "$i" "$(grep '^sha256:' "$TMP/out.$i" || echo "FAILED: $(cat "$TMP/out.$i")")"
done
if grep -L '^sha256:' "$TMP"/out.* | grep -q .; then
	echo "demo: an invocation failed" >&2
	exit 1
fi

step "Two sessions kept running: the S-F table lists each one's function views, the library list the refcounts"
ID1=$("$UAAF" session create --start idle)
ID2=$("$UAAF" session create --start idle)
printf '$ %s session create --start idle     # → session %s\n' "$UAAF" "$ID1"
printf '$ %s session create --start idle     # → session %s\n' "$UAAF" "$ID2"
for id in "$ID1" "$ID2"; do
	i=0
	until "$UAAF" session logs "$id" | grep -q 'idle: ready'; do
		i=$((i + 1))
		if [ $i -ge 400 ]; then
			echo "demo: session $id did not get ready" >&2
			exit 1
		fi
		sleep 0.05
	done
done
show "$UAAF" ps
show "$UAAF" lib ls

step "Where a session's start went: from request to its first instruction, phase by phase"
show "$UAAF" session get "$ID2"
show "$UAAF" session kill "$ID1"
show "$UAAF" session kill "$ID2"
"$UAAF" session rm "$ID1" >/dev/null
"$UAAF" session rm "$ID2" >/dev/null

step "A short session (idle 0: one call to each library, then exit) from the shell: through the daemon, and cold as one process that loads its own libraries"
# wall prints how long a command took, in µs, from the shell's view.
wall() {
	t0=$(date +%s%N)
	"$@" >/dev/null
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000))
}
: >"$TMP/warm"
: >"$TMP/cold"
for i in 1 2 3 4 5 6 7 8 9; do # alternating, so both see the same machine
	wall "$UAAF" invoke idle 0 >>"$TMP/warm"
	wall "$UAAF" run --mem=8 --lib-path libfuncs/build guest/build/idle.hvt 0 >>"$TMP/cold"
done
median() { sort -n "$1" | sed -n 5p; }
printf '$ %-68s median %6s µs\n' "$UAAF invoke idle 0" "$(median "$TMP/warm")"
printf '$ %-68s median %6s µs\n' "$UAAF run --mem=8 --lib-path libfuncs/build guest/build/idle.hvt 0" "$(median "$TMP/cold")"
echo "(wall time of each command from the shell, process start to exit, 9 runs each, alternating;"
echo " both include starting the uaaf process; \`uaaf bench fig10\` measures the phases properly)"

step "Stop the daemon: SIGTERM drains running sessions and exits 0"
printf '$ kill -TERM %s\n' "$DAEMON"
kill -TERM "$DAEMON"
rc=0
wait "$DAEMON" || rc=$?
DAEMON=
echo "uaaf serve exited with status $rc"
[ "$rc" -eq 0 ]
