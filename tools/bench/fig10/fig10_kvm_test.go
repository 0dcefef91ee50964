package fig10

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/tools/bench/report"
)

var (
	buildOnce sync.Once
	builtUAAF string
	buildErr  error
	buildDir  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// uaafBinary builds uaaf and uaaf-ctl once for the package's tests.
func uaafBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "fig10-test-bin-*"); buildErr == nil {
			builtUAAF, buildErr = kvmtest.BuildUAAF(buildDir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtUAAF
}

// fakeSolo5 writes a stand-in for solo5-hvt: `--version` answers like
// solo5-hvt, and a run is `uaaf run` with the same arguments (uaaf run
// takes solo5-hvt's flags) — as long as fewer than failAfter runs have
// been made (failAfter < 0: never fails); later runs exit 1.
func fakeSolo5(t *testing.T, uaaf string, failAfter int) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "solo5-hvt")
	body := fmt.Sprintf(`#!/bin/sh
if [ "$1" = --version ]; then echo "solo5-hvt tender, version v0.0.0-fake" >&2; exit 0; fi
n=$(cat %[1]s/count 2>/dev/null || echo 0); echo $((n+1)) > %[1]s/count
if [ %[2]d -ge 0 ] && [ "$n" -ge %[2]d ]; then echo "solo5-hvt: fake failure" >&2; exit 1; fi
exec %[3]s run "$@"
`, dir, failAfter, uaaf)
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// smallConfig is a configuration that runs every panel in seconds.
func smallConfig(t *testing.T) Config {
	t.Helper()
	kvmtest.Require(t)
	root := kvmtest.RepoRoot(t)
	kvmtest.GuestImage(t, "pause")
	kvmtest.LibraryImage(t, "testfns")
	c := Defaults(true)
	c.UAAF = uaafBinary(t)
	c.GuestDir, c.LibDir = filepath.Join(root, "guest", "build"), filepath.Join(root, "libfuncs", "build")
	c.MaxInstances, c.Rounds, c.Probes, c.Invocations, c.Concurrency, c.CallN = 2, 2, 2, 3, 2, 20
	c.RuncSkip = "not in this test"
	return c
}

// newBench makes a Bench of cfg for a test, with a context that ends after
// timeout; both are released when the test ends.
func newBench(t *testing.T, cfg Config, timeout time.Duration) (context.Context, *Bench) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	b, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return ctx, b
}

// TestPanels runs every panel on small numbers against a real daemon, the
// isolated baseline and a solo5-hvt stand-in, and checks what is written:
// the CSV schema, one PNG per panel, the summary's JSON.
func TestPanels(t *testing.T) {
	cfg := smallConfig(t)
	cfg.Solo5HVT = fakeSolo5(t, cfg.UAAF, -1)
	ctx, b := newBench(t, cfg, 5*time.Minute)
	if err := b.Fig10(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Err(); err != nil {
		t.Fatalf("failures: %v", err)
	}
	dir := t.TempDir()
	paths, err := b.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	panels := []string{"startup", "scale", "memory", "throughput", "call"}
	for _, p := range panels {
		for _, ext := range []string{".csv", ".png"} {
			if !slices.Contains(paths, filepath.Join(dir, p+ext)) {
				t.Errorf("%s%s not written (%v)", p, ext, paths)
			}
		}
	}
	// CSV: the schema's header, systems as configured, numbers that parse.
	systems := map[string][]string{
		"startup": {SysUAAF, SysIsolated, SysSolo5}, "scale": {SysUAAF, SysIsolated, SysSolo5},
		"memory": {SysUAAF, SysIsolated, SysSolo5}, "throughput": {SysUAAF, SysIsolated, SysSolo5},
		"call": {SysUAAF + " (exit backend)"},
	}
	for _, p := range panels {
		f, err := os.Open(filepath.Join(dir, p+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatalf("%s.csv: %v", p, err)
		}
		if !slices.Equal(rows[0], report.CSVHeader) {
			t.Errorf("%s.csv header %v", p, rows[0])
		}
		seen := map[string]int{}
		for _, r := range rows[1:] {
			if r[0] != p {
				t.Errorf("%s.csv: row of panel %q", p, r[0])
			}
			seen[r[1]]++
		}
		for _, s := range systems[p] {
			if seen[s] == 0 {
				t.Errorf("%s.csv: no rows of %s (%v)", p, s, seen)
			}
		}
		if p == "scale" || p == "memory" {
			for _, s := range systems[p] {
				if seen[s] != 2 { // 1 and 2 live
					t.Errorf("%s.csv: %d rows of %s, want 2", p, seen[s], s)
				}
			}
		}
	}
	// summary.json: every goal is evaluated but those this small run
	// cannot (none here), and every ratio is finite and positive.
	raw, err := os.ReadFile(filepath.Join(dir, "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sum report.Summary
	if err := json.Unmarshal(raw, &sum); err != nil {
		t.Fatal(err)
	}
	if len(sum.Failed) != 0 || len(sum.Panels) != len(panels) {
		t.Errorf("summary: failed %v, %d panels", sum.Failed, len(sum.Panels))
	}
	if !slices.ContainsFunc(sum.Skipped, func(s report.Skipped) bool { return s.System == SysRunc }) {
		t.Errorf("runc not listed as skipped: %v", sum.Skipped)
	}
	for _, c := range sum.Checks {
		if c.Missing != "" {
			t.Errorf("goal not evaluated: %+v", c)
		}
	}
	for _, r := range sum.Ratios {
		if !(r.Value > 0) {
			t.Errorf("ratio %+v", r)
		}
	}
	if !slices.ContainsFunc(sum.Versions, func(v report.Version) bool { return v.System == SysSolo5 && v.Version == "v0.0.0-fake" }) {
		t.Errorf("versions %v", sum.Versions)
	}
}

// TestFailedBaseline: a baseline that starts failing in the middle of the
// benchmark is reported as failed — no numbers, no ratio, the goals that
// need it unevaluated — and the run's error says so.
func TestFailedBaseline(t *testing.T) {
	cfg := smallConfig(t)
	// Runs 1 (New's smoke run) and 2 (the warm-up) pass, the first
	// measured round fails.
	cfg.Solo5HVT = fakeSolo5(t, cfg.UAAF, 2)
	ctx, b := newBench(t, cfg, 3*time.Minute)
	if err := b.Startup(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Err(); !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "solo5-hvt") || !strings.Contains(err.Error(), "fake failure") {
		t.Errorf("Err() = %v, want the solo5-hvt failure", err)
	}
	sum := b.Summary()
	if len(sum.Failed) != 1 || sum.Failed[0].System != SysSolo5 {
		t.Errorf("failed %v", sum.Failed)
	}
	for _, st := range sum.Panels[0].Stats {
		if st.System == SysSolo5 {
			t.Errorf("a failed system has numbers: %+v", st)
		}
	}
	for _, r := range sum.Ratios {
		if r.Numerator == SysSolo5 || r.Denominator == SysSolo5 {
			t.Errorf("a ratio against a failed system: %+v", r)
		}
	}
	for _, c := range sum.Checks {
		if !strings.Contains(c.Goal, "solo5-hvt") {
			continue
		}
		// Startup goals name the failure; the others were not measured
		// by this run at all.
		if c.Missing == "" || c.Met || c.Value != 0 || (strings.Contains(c.Goal, "start") && c.Missing != "solo5-hvt failed") {
			t.Errorf("goal against the failed solo5-hvt: %+v", c)
		}
	}
	if _, err := b.Write(t.TempDir()); err != nil {
		t.Errorf("Write after a failure: %v", err)
	}
}

// TestBrokenSolo5IsAnError: a --solo5-hvt that cannot run at all (here
// /bin/false) stops the benchmark before it measures anything.
func TestBrokenSolo5IsAnError(t *testing.T) {
	cfg := smallConfig(t)
	for _, p := range []string{"/bin/false", fakeSolo5(t, cfg.UAAF, 0)} {
		cfg.Solo5HVT = p
		b, err := New(context.Background(), cfg)
		if err == nil {
			b.Close()
			t.Errorf("--solo5-hvt %s accepted", p)
			continue
		}
		if !errors.Is(err, ErrFailed) {
			t.Errorf("--solo5-hvt %s: %v, want ErrFailed", p, err)
		}
	}
}

// TestAB compares a build with itself: every metric gets a ratio with an
// interval around it.
func TestAB(t *testing.T) {
	cfg := smallConfig(t)
	cfg.DaemonOnly = true
	ctx, b := newBench(t, cfg, 3*time.Minute)
	if err := b.AB(ctx, cfg.UAAF, cfg.UAAF, "nonsense", 2); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown panel: %v", err)
	}
	if err := b.AB(ctx, cfg.UAAF, cfg.UAAF, "startup", 2); err != nil {
		t.Fatal(err)
	}
	if err := b.Err(); err != nil {
		t.Fatal(err)
	}
	sum := b.Summary()
	n := 0
	for _, r := range sum.Ratios {
		if r.Panel != "ab" {
			continue
		}
		n++
		if r.CI == nil || !r.CI.Paired || r.CI.Lo > r.Value || r.CI.Hi < r.Value || r.CI.NA != 2 {
			t.Errorf("A/B ratio %+v", r)
		}
	}
	if n != 3 {
		t.Errorf("%d A/B ratios, want 3", n)
	}
}
