package baseline

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// script writes an executable shell script into a temp dir and returns its
// path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRunFailures(t *testing.T) {
	wantSuccess := Expect{Stdout: []string{"SUCCESS"}}
	tests := []struct {
		name    string
		argv    []string
		want    Expect
		timeout time.Duration
		status  string // RunError.Status
		reason  string // substring of RunError.Reason
		stderr  string // RunError.Stderr, exactly
		wrapped error  // errors.Is target besides ErrBaselineFailed
	}{
		{name: "exit 1", argv: []string{"/bin/false"}, status: "exit status 1", reason: "exit status 1, want 0"},
		{name: "right status, no output", argv: []string{"/bin/true"}, want: wantSuccess, status: "exit status 0", reason: `stdout lacks "SUCCESS"`},
		{name: "nonexistent binary", argv: []string{"/nonexistent/solo5-hvt", "x.hvt"}, status: "not started", reason: "could not start", wrapped: fs.ErrNotExist},
		{name: "empty command", argv: nil, status: "not started", reason: "empty command"},
		{name: "wrong output", argv: []string{script(t, "echo FAILURE: sha256; echo some detail >&2; exit 0")}, want: wantSuccess,
			status: "exit status 0", reason: `stdout lacks "SUCCESS"`, stderr: "some detail"},
		{name: "success text but wrong status", argv: []string{script(t, "echo SUCCESS; exit 3")}, want: wantSuccess,
			status: "exit status 3", reason: "exit status 3, want 0"},
		{name: "expected nonzero status not met", argv: []string{"/bin/true"}, want: Expect{ExitCode: 1}, status: "exit status 0", reason: "exit status 0, want 1"},
		{name: "stderr tail keeps the last 8 lines", argv: []string{script(t, "for i in 1 2 3 4 5 6 7 8 9 10; do echo line$i >&2; done; exit 2")},
			status: "exit status 2", reason: "want 0", stderr: "line3\nline4\nline5\nline6\nline7\nline8\nline9\nline10"},
		{name: "killed by a signal", argv: []string{script(t, "echo SUCCESS; kill -9 $$")}, want: wantSuccess, status: "signal: killed", reason: "killed by signal 9 (killed)"},
		{name: "timeout", argv: []string{script(t, "exec sleep 10")}, timeout: 100 * time.Millisecond, status: "signal: killed", reason: "context deadline exceeded", wrapped: context.DeadlineExceeded},
	}
	runners := map[string]func(context.Context, []string, Expect) (Result, error){"Run": Run, "RunFirstOutput": RunFirstOutput}
	for _, tc := range tests {
		for rname, run := range runners {
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				ctx := context.Background()
				if tc.timeout > 0 {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, tc.timeout)
					defer cancel()
				}
				res, err := run(ctx, tc.argv, tc.want)
				if err == nil {
					t.Fatalf("run succeeded (%+v), want a failure", res)
				}
				if res.Wall != 0 || res.Stdout != nil || res.FirstOutput != 0 {
					t.Errorf("a failed run returned data: %+v", res)
				}
				var re *RunError
				if !errors.As(err, &re) || !errors.Is(err, ErrBaselineFailed) {
					t.Fatalf("error %v (%T) is not a *RunError wrapping ErrBaselineFailed", err, err)
				}
				if tc.wrapped != nil && !errors.Is(err, tc.wrapped) {
					t.Errorf("error %v does not wrap %v", err, tc.wrapped)
				}
				if re.Status != tc.status || !strings.Contains(re.Reason, tc.reason) || re.Stderr != tc.stderr {
					t.Errorf("RunError{Status %q, Reason %q, Stderr %q}, want status %q, reason ~%q, stderr %q",
						re.Status, re.Reason, re.Stderr, tc.status, tc.reason, tc.stderr)
				}
				if len(tc.argv) > 0 && (len(re.Cmd) != len(tc.argv) || re.Cmd[0] != tc.argv[0]) {
					t.Errorf("Cmd = %q, want %q", re.Cmd, tc.argv)
				}
				msg := err.Error()
				if !strings.HasPrefix(msg, "baseline: run failed: ") || (tc.stderr != "" && !strings.Contains(msg, "; stderr: ")) {
					t.Errorf("message %q lacks the command or the stderr tail", msg)
				}
			})
		}
	}
}

// TestRunFirstOutput: the time to the first byte on stdout is measured
// from before fork, so it is at least the time the program waited before
// writing, and at most the whole run; a run that writes nothing, or whose
// stdout a descendant keeps open after it exited, fails.
func TestRunFirstOutput(t *testing.T) {
	p := script(t, "sleep 0.2; echo SUCCESS; echo more; echo note >&2")
	res, err := RunFirstOutput(context.Background(), []string{p}, Expect{Stdout: []string{"SUCCESS\nmore\n"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstOutput < 200*time.Millisecond || res.FirstOutput > res.Wall {
		t.Errorf("FirstOutput %v, Wall %v: want 200ms ≤ FirstOutput ≤ Wall", res.FirstOutput, res.Wall)
	}
	if string(res.Stdout) != "SUCCESS\nmore\n" || string(res.Stderr) != "note\n" {
		t.Errorf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
	if r, err := Run(context.Background(), []string{p}, Expect{}); err != nil || r.FirstOutput != 0 {
		t.Errorf("Run measured FirstOutput %v (%v); only RunFirstOutput does", r.FirstOutput, err)
	}

	_, err = RunFirstOutput(context.Background(), []string{script(t, "echo quiet >&2")}, Expect{})
	var re *RunError
	if !errors.As(err, &re) || re.Reason != "no output on stdout" || re.Stderr != "quiet" {
		t.Errorf("silent run: %v", err)
	}

	_, err = RunFirstOutput(context.Background(), []string{script(t, "(exec sleep 3) & echo SUCCESS")}, Expect{})
	if !errors.As(err, &re) || !strings.Contains(re.Reason, "stdout still open") {
		t.Errorf("stdout held by a descendant: %v", err)
	}
}

func TestRunSuccess(t *testing.T) {
	p := script(t, `echo "args: $*"; echo SUCCESS; echo note >&2`)
	res, err := Run(context.Background(), []string{p, "a", "b c"}, Expect{Stdout: []string{"args: a b c", "SUCCESS"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Wall <= 0 || res.MaxRSS <= 0 {
		t.Errorf("Wall %v, MaxRSS %d: want both positive", res.Wall, res.MaxRSS)
	}
	if string(res.Stdout) != "args: a b c\nSUCCESS\n" || string(res.Stderr) != "note\n" {
		t.Errorf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
}

func TestTail(t *testing.T) {
	long := strings.Repeat("x", 2000) + "\nlast\n"
	tests := map[string]string{
		"":                            "",
		"one\n":                       "one",
		"a\nb\n\n":                    "a\nb",
		long:                          "last",
		"1\n2\n3\n4\n5\n6\n7\n8\n9\n": "2\n3\n4\n5\n6\n7\n8\n9",
	}
	for in, want := range tests {
		if got := tail([]byte(in)); got != want {
			t.Errorf("tail(%.20q) = %q, want %q", in, got, want)
		}
	}
}

// alive reports whether pid exists (as a process or an unreaped zombie).
func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func TestGroup(t *testing.T) {
	p := script(t, `echo "idle: ready"; exec sleep 30`)
	g, err := StartGroup(context.Background(), []string{p}, 3, "idle: ready")
	if err != nil {
		t.Fatal(err)
	}
	pids := g.PIDs()
	if g.Len() != 3 || len(pids) != 3 {
		t.Fatalf("%d processes, want 3", len(pids))
	}
	if err := g.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
	pss, err := g.Pss()
	if err != nil || pss == 0 {
		t.Errorf("Pss = %d, %v", pss, err)
	}
	if err := g.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("pid %d still exists after Close", pid)
		}
	}
	if err := g.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := g.Pss(); !errors.Is(err, ErrBaselineFailed) {
		t.Errorf("Pss after Close: %v", err)
	}
}

// TestGroupNoReadyMarker: with ready "" StartGroup waits for nothing and
// returns the running processes.
func TestGroupNoReadyMarker(t *testing.T) {
	g, err := StartGroup(context.Background(), []string{"sleep", "30"}, 2, "")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if g.Len() != 2 {
		t.Errorf("%d processes, want 2", g.Len())
	}
	if err := g.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

func TestGroupFailures(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		timeout time.Duration
		status  string
		reason  string
		stderr  string
	}{
		{name: "exits at once", body: "echo broken >&2; exit 3", status: "exit status 3", reason: `exited before it printed "ready"`, stderr: "broken"},
		{name: "never ready", body: "exec sleep 30", timeout: 200 * time.Millisecond, status: "running", reason: "not ready"},
		{name: "ready, then gone", body: "echo ready; exit 0", status: "exit status 0", reason: "exited"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tc.timeout)
				defer cancel()
			}
			g, err := StartGroup(ctx, []string{script(t, tc.body)}, 2, "ready")
			if err == nil {
				// "ready, then gone" may win the race and start: then Check
				// must report it once it has exited.
				defer g.Close()
				deadline := time.Now().Add(5 * time.Second)
				for err == nil && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
					err = g.Check()
				}
				if _, perr := g.Pss(); !errors.Is(perr, ErrBaselineFailed) {
					t.Errorf("Pss of a group with an exited process: %v", perr)
				}
			}
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RunError", err)
			}
			if re.Status != tc.status || !strings.Contains(re.Reason, tc.reason) || re.Stderr != tc.stderr {
				t.Errorf("RunError{Status %q, Reason %q, Stderr %q}, want %q, ~%q, %q", re.Status, re.Reason, re.Stderr, tc.status, tc.reason, tc.stderr)
			}
		})
	}
}

func TestStartGroupCleansUpOnFailure(t *testing.T) {
	// The first process is ready and sleeps; the marker file makes every
	// later one fail. The sleeping one must be gone after the failure.
	dir := t.TempDir()
	pidfile := filepath.Join(dir, "first.pid")
	// The later ones fail only once the first has written its pid, so
	// that the failure cannot come before there is something to clean up.
	p := script(t, `if mkdir "`+dir+`/lock" 2>/dev/null; then echo $$ > "`+pidfile+`.tmp"; mv "`+pidfile+`.tmp" "`+pidfile+`"; echo ready; exec sleep 30; fi; `+
		`while [ ! -s "`+pidfile+`" ]; do sleep 0.01; done; exit 4`)
	_, err := StartGroup(context.Background(), []string{p}, 3, "ready")
	if !errors.Is(err, ErrBaselineFailed) {
		t.Fatalf("StartGroup: %v, want a failure", err)
	}
	b, rerr := os.ReadFile(pidfile)
	if rerr != nil {
		t.Fatalf("first process never ran: %v", rerr)
	}
	var pid int
	for _, c := range strings.TrimSpace(string(b)) {
		pid = pid*10 + int(c-'0')
	}
	if alive(pid) {
		t.Errorf("first process %d still exists after StartGroup failed", pid)
	}
}
