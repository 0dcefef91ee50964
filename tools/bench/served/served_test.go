package served

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/daemon"
)

func TestMetricValue(t *testing.T) {
	text := `# HELP uaaf_pool_ready VMs ready in the warm pool.
# TYPE uaaf_pool_ready gauge
uaaf_pool_ready 16
uaaf_pool_ready_extra 3
uaaf_pool_target 16 1700000000000
uaaf_library_refs{library="sha256"} 2
uaaf_weird not-a-number
uaaf_weird 7
`
	tests := []struct {
		name string
		want float64
		ok   bool
	}{
		{"uaaf_pool_ready", 16, true},
		{"uaaf_pool_ready_extra", 3, true},
		{"uaaf_pool_target", 16, true},
		{"uaaf_library_refs", 0, false}, // labelled samples are not looked at
		{"uaaf_weird", 7, true},         // the first parseable sample
		{"uaaf_pool", 0, false},
		{"absent", 0, false},
	}
	for _, tc := range tests {
		got, ok := MetricValue(text, tc.name)
		if got != tc.want || ok != tc.ok {
			t.Errorf("MetricValue(%q) = %v, %v; want %v, %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func FuzzMetricValue(f *testing.F) {
	f.Add("uaaf_pool_ready 16\n", "uaaf_pool_ready")
	f.Add("x{a=\"b\"} 1\nx 2 3\n", "x")
	f.Add("x  NaN\n", "x")
	f.Fuzz(func(t *testing.T, text, name string) {
		v, ok := MetricValue(text, name)
		if !ok && v != 0 {
			t.Fatalf("not found but value %v", v)
		}
		if ok && !strings.Contains(text, name) {
			t.Fatalf("found %q in a text without it", name)
		}
	})
}

// script writes an executable shell script and returns its path.
func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-uaaf")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStartFailures: a daemon that does not start, exits at once, or
// prints something else than its ready line is an ErrStart carrying its
// log, and leaves no process or directory behind.
func TestStartFailures(t *testing.T) {
	tests := []struct {
		name, binary, inErr string
	}{
		{"no binary", "", "no uaaf binary"},
		{"missing binary", "/nonexistent/uaaf", "no such file"},
		{"exits 1", script(t, "echo 'uaaf: bad config' >&2; exit 1"), "uaaf: bad config"},
		{"wrong line", script(t, "echo hello; sleep 30"), `printed "hello"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp) // where Start makes its directory
			d, err := Start(context.Background(), Options{Binary: tc.binary, ReadyTimeout: 10 * time.Second})
			if err == nil {
				d.Close()
				t.Fatal("Start succeeded")
			}
			if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), tc.inErr) {
				t.Errorf("error %v, want ErrStart containing %q", err, tc.inErr)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Errorf("left behind in TMPDIR: %v", left)
			}
		})
	}
	t.Run("not ready in time", func(t *testing.T) {
		d, err := Start(context.Background(), Options{Binary: script(t, "exec sleep 30"), ReadyTimeout: 200 * time.Millisecond})
		if err == nil {
			d.Close()
			t.Fatal("Start succeeded")
		}
		if !errors.Is(err, ErrStart) || !strings.Contains(err.Error(), "not ready after") {
			t.Errorf("error %v", err)
		}
	})
}

// TestDaemon starts the real `uaaf serve`, checks that its client, pid,
// memory and pool work, and that Close stops it cleanly; a daemon killed
// under the benchmark's feet is reported.
func TestDaemon(t *testing.T) {
	kvmtest.Require(t)
	bin, err := kvmtest.BuildUAAF(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := daemon.Config{
		Libraries: []api.LoadLibrary{{Name: "sha256", Path: kvmtest.LibraryImage(t, "sha256"), Pin: true}},
		Images:    []api.AddImage{{Name: "hello", Path: kvmtest.GuestImage(t, "hello"), MemMiB: 8}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	d, err := Start(ctx, Options{Binary: bin, Config: cfg, Args: []string{"--pool-size", "2"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(d.Ready, d.Socket) || d.PID <= 0 {
		t.Errorf("ready %q, pid %d", d.Ready, d.PID)
	}
	if err := d.WaitPool(ctx); err != nil {
		t.Fatal(err)
	}
	r, err := d.Rollup()
	if err != nil || r.Pss == 0 || r.Rss < r.Pss {
		t.Errorf("rollup %+v, %v", r, err)
	}
	if n, err := d.Threads(); err != nil || n < 2 {
		t.Errorf("threads %d, %v", n, err)
	}
	res, err := d.Client.Invoke(ctx, api.Invoke{Image: "hello", Args: []string{"Hello_Solo5"}})
	if err != nil || res.ExitStatus == nil || *res.ExitStatus != 0 || !strings.Contains(res.Output, "SUCCESS") {
		t.Errorf("invoke: %+v, %v", res, err)
	}
	if libs, err := d.Client.Libraries(ctx); err != nil || len(libs) != 1 || libs[0].Name != "sha256" {
		t.Errorf("config not applied: %+v, %v", libs, err)
	}
	dir := filepath.Dir(d.Socket)
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory %s left behind: %v", dir, err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	// Killed behind the benchmark's back.
	d, err = Start(ctx, Options{Binary: bin, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-d.done
	if err := d.Check(); !errors.Is(err, ErrExited) {
		t.Errorf("Check after kill: %v", err)
	}
	if _, err := d.Rollup(); !errors.Is(err, ErrExited) {
		t.Errorf("Rollup after kill: %v", err)
	}
	if err := d.Close(); !errors.Is(err, ErrExited) {
		t.Errorf("Close after kill: %v", err)
	}
}
