package ctlapp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/client/clienttest"
	"github.com/uaaf/uaaf/session/daemon"
	"github.com/uaaf/uaaf/session/sched"
	"github.com/uaaf/uaaf/tools/replay"
	"github.com/uaaf/uaaf/tools/trace"
)

// smallTrace writes a synthetic trace day of n functions active in the
// first minutes.
func smallTrace(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	o := trace.DefaultGenOptions()
	o.Functions, o.Apps, o.Owners, o.Active, o.PeakPerMinute = n, max(n/3, 1), max(n/6, 1), trace.Window{From: 1, To: 3}, 30
	if err := trace.Generate(dir, o); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReplayMalformed: a malformed row of the trace stops uaaf replay with
// one line naming the file and the line, before anything runs: no daemon
// is started (the "uaaf" given would leave a mark), no output written.
func TestReplayMalformed(t *testing.T) {
	dir := smallTrace(t, 10)
	path := filepath.Join(dir, trace.DurationsFile(1))
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	f := strings.Split(lines[3], ",")
	f[3] = "-5" // Average of line 4
	lines[3] = strings.Join(f, ",")
	os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644)

	tmp := t.TempDir()
	mark := filepath.Join(tmp, "started")
	fake := filepath.Join(tmp, "uaaf")
	os.WriteFile(fake, []byte("#!/bin/sh\ntouch "+mark+"\nsleep 5\n"), 0o755)
	out := filepath.Join(tmp, "out")
	r := uaaf(context.Background(), "", nil, "replay", "--uaaf", fake, "--out", out, "--policies", "ttl=10m,pinned", dir)
	want := "uaaf: " + path + `:4: column "Average": "-5" is not a number ≥ 0` + "\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", r.code, r.stderr, want)
	}
	for _, p := range []string{mark, out} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s exists: something ran", p)
		}
	}
}

// TestReplayUsage: wrong usage is one line.
func TestReplayUsage(t *testing.T) {
	dir := smallTrace(t, 6)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "replay takes one TRACE_DIR (got 0 arguments)"},
		{[]string{"--policies", "lru", dir}, `unknown policy: keepalive "lru"`},
		{[]string{"--policies", "pinned,pinned", dir}, `policy "pinned" given twice`},
		{[]string{"--policies", "ttl=1m,ewma,factor=0", dir}, "ewma: factor=0, want > 0"}, // session/sched/contrib is linked in
		{[]string{"--minutes", "0-5", dir}, `minutes "0-5"`},
		{[]string{"--spread", "bursty", dir}, `spread "bursty"`},
		{[]string{"--libraries", "mine", dir}, `libraries "mine"`},
		{[]string{"--speedup", "0.000000001", dir}, "speed-up 1e-09"},
		{[]string{"--socket", "/nonexistent.sock", "--policies", "ttl=1m,pinned", dir}, "give one policy"},
		{[]string{"--image-path", t.TempDir(), dir}, "replay: setup failed: image replay: replay.hvt not found in "},
	} {
		r := uaaf(context.Background(), "", nil, append([]string{"replay"}, tc.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("uaaf replay %q: exit %d, stderr %q; want one line with %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

// TestReplaySocket runs uaaf replay against a running daemon (--socket):
// per-app libraries through the alias directory it writes, the table on
// stdout, the files in --out.
func TestReplaySocket(t *testing.T) {
	kvmtest.Require(t)
	root := kvmtest.RepoRoot(t)
	kvmtest.GuestImage(t, "replay")
	out := filepath.Join(t.TempDir(), "out")
	libs := filepath.Join(root, "libfuncs", "build")
	srv := clienttest.Start(t, daemon.Options{LibPaths: []string{filepath.Join(out, "lib"), libs}, KeepAlive: "ttl=0s",
		Clock: sched.NewScaledClock(time.Now(), 30)})
	r := uaaf(context.Background(), "", nil, "replay", "--socket", srv.Socket, "--policies", "ttl=0s", "--minutes", "1-2", "--speedup", "30",
		"--out", out, "--image-path", filepath.Join(root, "guest", "build"), "--lib-path", libs, smallTrace(t, 12))
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "| `ttl=0s` |") || !strings.Contains(r.stdout, "wrote "+filepath.Join(out, "summary.json")) ||
		!strings.Contains(r.stderr, "must search "+filepath.Join(out, "lib")) {
		t.Errorf("stdout:\n%s\nstderr:\n%s", r.stdout, r.stderr)
	}
	var c replay.Comparison
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil || json.Unmarshal(b, &c) != nil || len(c.Policies) != 1 {
		t.Fatalf("summary.json: %v\n%s", err, b)
	}
	s := c.Policies[0]
	if s.Invocations == 0 || s.Completed != s.Invocations || s.ClockScale != 30 || s.ColdStarts == 0 || s.MemoryTime <= 0 {
		t.Errorf("summary %+v", s)
	}
	for _, f := range []string{"policies.png", "summary.md", "ttl-0s/invocations.csv", "ttl-0s/functions.csv"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}
