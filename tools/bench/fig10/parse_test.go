package fig10

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/tools/bench"
	"github.com/uaaf/uaaf/tools/bench/baseline"
	"github.com/uaaf/uaaf/tools/bench/report"
)

func TestParseRunStats(t *testing.T) {
	tests := []struct {
		name   string
		stderr string
		want   time.Duration
		err    error
	}{
		{"real", `{"image":"demo.hvt","exit_status":0,"phases_ms":{"bind":0.737,"preload":17.277,"run_to_halt":14.878}}` + "\n", 17277 * time.Microsecond, nil},
		{"after a log line", "uaaf: something\n" + `{"phases_ms":{"preload":0.5}}`, 500 * time.Microsecond, nil},
		{"no preload", `{"phases_ms":{"bind":1}}`, 0, ErrStats},
		{"negative", `{"phases_ms":{"preload":-1}}`, 0, ErrStats},
		{"broken JSON", `{"phases_ms":{"preload":1`, 0, ErrStats},
		{"no stats", "uaaf: exit\n", 0, ErrStats},
		{"empty", "", 0, ErrStats},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseRunStats([]byte(tc.stderr))
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err == nil && (got < tc.want-time.Microsecond || got > tc.want+time.Microsecond) {
				t.Errorf("preload %v, want %v", got, tc.want)
			}
		})
	}
}

func FuzzParseRunStats(f *testing.F) {
	f.Add([]byte(`{"phases_ms":{"preload":17.277}}`))
	f.Add([]byte("x\n{\"phases_ms\":{\"preload\":1e9}}\n"))
	f.Add([]byte(`{"phases_ms":null}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseRunStats(b)
		if err == nil && d < 0 {
			t.Fatalf("negative preload %v from %q", d, b)
		}
		if err != nil && !errors.Is(err, ErrStats) {
			t.Fatalf("error %v does not wrap ErrStats", err)
		}
	})
}

func FuzzParseBench(f *testing.F) {
	f.Add("BENCH calls 1000 ns 201900000\n")
	f.Add("BENCH hypercalls 1 ns 0")
	f.Add("BENCH calls 99999999999999999999 ns 1")
	f.Fuzz(func(t *testing.T, s string) {
		n, _, err := bench.ParseBench(s)
		if err == nil && n == 0 {
			t.Fatalf("%q: no error with zero operations", s)
		}
	})
}

func TestSteps(t *testing.T) {
	tests := map[int][]int{
		1:    {1},
		2:    {1, 2},
		7:    {1, 2, 5, 7},
		100:  {1, 2, 5, 10, 20, 50, 100},
		1000: {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		300:  {1, 2, 5, 10, 20, 50, 100, 200, 300},
	}
	for max, want := range tests {
		if got := Steps(max); !slices.Equal(got, want) {
			t.Errorf("Steps(%d) = %v, want %v", max, got, want)
		}
	}
}

func TestCheckInvoke(t *testing.T) {
	zero, one := 0, 1
	ok := api.InvokeResult{Session: api.Session{State: api.StateExited, ExitStatus: &zero}, Output: "Hello, World\nSUCCESS\n"}
	tests := []struct {
		name   string
		r      api.InvokeResult
		reason string // substring; "" for a pass
	}{
		{"pass", ok, ""},
		{"exit 1", api.InvokeResult{Session: api.Session{State: api.StateExited, ExitStatus: &one}, Output: ok.Output}, "exit status 1"},
		{"killed", api.InvokeResult{Session: api.Session{State: api.StateKilled, Error: "timeout"}}, "killed"},
		{"no SUCCESS", api.InvokeResult{Session: api.Session{State: api.StateExited, ExitStatus: &zero}, Output: "Hello, World\n"}, `lacks "SUCCESS\n"`},
		{"truncated", api.InvokeResult{Session: api.Session{State: api.StateExited, ExitStatus: &zero, Truncated: true}, Output: ok.Output}, "truncated"},
	}
	for _, tc := range tests {
		got := checkInvoke(tc.r, expectHello)
		if (got == "") != (tc.reason == "") || !strings.Contains(got, tc.reason) {
			t.Errorf("%s: reason %q, want ~%q", tc.name, got, tc.reason)
		}
	}
}

// TestLookImages: a missing image names the flag that says where to look.
func TestLookImages(t *testing.T) {
	dir := t.TempDir()
	guest, libs := filepath.Join(dir, "guest"), filepath.Join(dir, "libs")
	for _, d := range []string{guest, libs} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	touch := func(dir string, names ...string) {
		for _, n := range names {
			if err := os.WriteFile(filepath.Join(dir, n+".hvt"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := Config{GuestDir: guest, LibDir: libs}
	if _, err := lookImages(cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "--guest-dir") || !strings.Contains(err.Error(), "demo.hvt") {
		t.Errorf("no guest images: %v", err)
	}
	touch(guest, "demo", "idle", "hello", "pause", "callbench")
	if _, err := lookImages(cfg); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "--lib-dir") {
		t.Errorf("no library images: %v", err)
	}
	touch(libs, "base64", "sha256", "crc32", "sort", "testfns")
	im, err := lookImages(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(im.demo) || len(im.libs) != 5 {
		t.Errorf("images %+v", im)
	}
}

func TestConfigCheck(t *testing.T) {
	good := Defaults(true)
	good.UAAF = "/bin/true"
	if err := good.check(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, mod := range map[string]func(*Config){
		"no binary":      func(c *Config) { c.UAAF = "" },
		"missing binary": func(c *Config) { c.UAAF = "/nonexistent/uaaf" },
		"no instances":   func(c *Config) { c.MaxInstances = 0 },
		"negative cap":   func(c *Config) { c.MaxProcesses = -1 },
		"no rounds":      func(c *Config) { c.Rounds = 0 },
		"no probes":      func(c *Config) { c.Probes = 0 },
		"no calls":       func(c *Config) { c.CallN = 0 },
		"too little mem": func(c *Config) { c.MemMiB = 1 },
		"no concurrency": func(c *Config) { c.Concurrency = 0 },
		"no invocations": func(c *Config) { c.Invocations = 0 },
	} {
		c := good
		mod(&c)
		if err := c.check(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
	c := good
	c.MaxInstances, c.MaxProcesses = 1000, 0
	if c.maxProcesses() != 1000 {
		t.Errorf("maxProcesses default %d", c.maxProcesses())
	}
	c.MaxProcesses = 200
	if c.maxProcesses() != 200 {
		t.Errorf("maxProcesses %d", c.maxProcesses())
	}
}

// TestChecks evaluates the goals on made-up measurements: values where
// both sides were measured, Missing (never a value) where a baseline
// failed or was skipped, the fallback baseline without solo5-hvt, and
// memory extrapolated from a line when a baseline stopped short.
func TestChecks(t *testing.T) {
	find := func(cs []report.Check, prefix string) report.Check {
		t.Helper()
		for _, c := range cs {
			if strings.HasPrefix(c.Goal, prefix) {
				return c
			}
		}
		t.Fatalf("no check %q in %+v", prefix, cs)
		return report.Check{}
	}
	newBench := func() *Bench {
		b := &Bench{failed: map[string]bool{}, skipped: map[string]bool{}, measured: map[string]map[string]float64{}}
		b.solo5 = &baseline.Solo5HVT{Path: "/x"}
		b.recordSamples(SysUAAF, keyStartSamples, []float64{0.2, 0.3, 0.25})
		b.recordSamples(SysUAAF, keyTrivial, []float64{2, 2, 2})
		b.recordSamples(SysSolo5, keyColdRun, []float64{4, 5, 6})
		b.recordSamples(SysIsolated, keyStartSamples, []float64{30, 30, 30})
		b.recordSamples(SysIsolated, keyTrivial, []float64{8, 8, 8})
		b.record(SysUAAF, keyMaxN, 1000)
		b.record(SysUAAF, keyPssAtMax, 230)
		b.record(SysIsolated, keyMaxN, 200)
		b.record(SysIsolated, keyPssAtMax, 330)
		b.record(SysIsolated, keySlope, 1600)
		b.record(SysIsolated, keyIntercept, 3*1024)
		b.record(SysUAAF, keyIdleRSS, 18)
		return b
	}

	b := newBench()
	cs := b.checks()
	c := find(cs, "p50 session start ≤ 0.02×")
	if c.Missing != "" || c.Value != 0.25/5 || c.Met {
		t.Errorf("start vs solo5: %+v", c)
	}
	c = find(cs, "p50 session start ≤ 0.1×")
	if c.Value != 0.25/30 || !c.Met {
		t.Errorf("start vs isolated: %+v", c)
	}
	c = find(cs, "total Pss with 1000 live ≤ 0.3×")
	want := 230 / ((3*1024 + 1600*1000) / 1024.0)
	if c.Missing != "" || c.Value != want || !strings.Contains(c.Basis, "extrapolated") {
		t.Errorf("memory vs isolated: %+v, want value %v, extrapolated", c, want)
	}
	if c := find(cs, "total Pss with 1000 live below solo5-hvt"); c.Missing != "memory not measured" || c.Met {
		t.Errorf("memory vs solo5 without its ramp: %+v", c)
	}
	if c := find(cs, "idle daemon RSS"); c.Value != 18 || !c.Met {
		t.Errorf("idle RSS: %+v", c)
	}

	// A failed solo5-hvt: no value from it, the reason instead.
	b = newBench()
	b.fail(SysSolo5, errors.New("exit status 1"))
	delete(b.samples, SysSolo5)
	cs = b.checks()
	if c := find(cs, "p50 session start ≤ 0.02×"); c.Missing != "solo5-hvt failed" || c.Value != 0 || c.Met {
		t.Errorf("failed solo5-hvt: %+v", c)
	}
	if c := find(cs, "API start p50"); c.Missing != "solo5-hvt failed" {
		t.Errorf("failed solo5-hvt, issue 9: %+v", c)
	}

	// No solo5-hvt at all: issue 9 falls back to a cold `uaaf run`.
	b = newBench()
	b.solo5 = nil
	b.skip(SysSolo5, "no --solo5-hvt")
	delete(b.samples, SysSolo5)
	cs = b.checks()
	c = find(cs, "API start p50")
	if c.Missing != "" || c.Value != 0.25/8 || !strings.Contains(c.Goal, "uaaf run") {
		t.Errorf("fallback baseline: %+v", c)
	}
	if c := find(cs, "p50 session start ≤ 0.02×"); c.Missing != "solo5-hvt skipped" {
		t.Errorf("issue 11 without solo5-hvt: %+v", c)
	}
	for _, c := range cs {
		if c.Met != c.Evaluate().Met || (c.Missing != "" && (c.Met || c.Value != 0)) {
			t.Errorf("inconsistent check %+v", c)
		}
	}
}
