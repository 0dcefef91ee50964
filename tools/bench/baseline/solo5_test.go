package baseline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/tools/bench/stats"
)

// The real solo5-hvt tests are optional, like cmd/uaaf's Solo5 conformance
// check: Solo5 is built outside this repository.
//
//	SOLO5_HVT=/path/to/solo5-hvt       Solo5's hvt tender
//	SOLO5_TESTS=/path/to/solo5/tests   its built tests/ directory
//	SOLO5_IDLE=/path/to/idle.hvt       a unikernel that prints "idle: ready"
//	                                   and waits (for the group test)
func solo5Env(t testing.TB) (tender, tests string) {
	t.Helper()
	tender, tests = os.Getenv("SOLO5_HVT"), os.Getenv("SOLO5_TESTS")
	if tender == "" || tests == "" {
		t.Skip("SOLO5_HVT and SOLO5_TESTS are not set: the solo5-hvt baseline tests are optional (Solo5 is built outside the repository)")
	}
	kvmtest.Require(t)
	return tender, tests
}

func TestSolo5Argv(t *testing.T) {
	tests := []struct {
		s    Solo5HVT
		want []string
	}{
		{Solo5HVT{Path: "hvt"}, []string{"hvt", "--", "k.hvt", "a"}},
		{Solo5HVT{Path: "hvt", MemMiB: 4}, []string{"hvt", "--mem=4", "--", "k.hvt", "a"}},
		{Solo5HVT{Path: "hvt", MemMiB: 8, Options: []string{"--block:storage=d.img"}}, []string{"hvt", "--mem=8", "--block:storage=d.img", "--", "k.hvt", "a"}},
	}
	for _, tc := range tests {
		if got := tc.s.Argv("k.hvt", "a"); !slices.Equal(got, tc.want) {
			t.Errorf("%+v.Argv = %q, want %q", tc.s, got, tc.want)
		}
	}
}

func TestSolo5Available(t *testing.T) {
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(plain, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		ok   bool
	}{
		{"", false},
		{filepath.Join(dir, "missing"), false},
		{plain, false},
		{dir, false},
		{script(t, "exit 0"), true},
	}
	for _, tc := range tests {
		err := Solo5HVT{Path: tc.path}.Available()
		if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrNotInstalled)) {
			t.Errorf("Available(%q) = %v, want ok=%v or ErrNotInstalled", tc.path, err, tc.ok)
		}
	}
}

func TestSolo5Fake(t *testing.T) {
	// A stand-in tender that echoes its arguments like a unikernel's
	// console would, so argv and the checks are tested without KVM.
	fake := Solo5HVT{Path: script(t, `echo "tender args: $*"; echo SUCCESS`), MemMiB: 4}
	res, err := fake.Run(context.Background(), "k.hvt", []string{"Hello_Solo5"}, Expect{Stdout: []string{"tender args: --mem=4 -- k.hvt Hello_Solo5", "SUCCESS"}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Wall <= 0 {
		t.Errorf("Wall = %v", res.Wall)
	}
	_, err = fake.Run(context.Background(), "k.hvt", nil, Expect{Stdout: []string{"Hello, World"}})
	var re *RunError
	if !errors.As(err, &re) || re.Reason != `stdout lacks "Hello, World"` || re.Cmd[0] != fake.Path {
		t.Errorf("wrong output: %v", err)
	}
}

func TestSolo5Version(t *testing.T) {
	tests := []struct {
		name string
		path string
		want string
		err  bool
	}{
		{"stderr, as solo5-hvt does", script(t, "echo 'solo5-hvt tender, version v0.12.1-7-g469c1a8' >&2; echo 'ABI version 2' >&2"), "v0.12.1-7-g469c1a8", false},
		{"stdout", script(t, "echo 'solo5-hvt tender, version v0.9.0'"), "v0.9.0", false},
		{"no version", script(t, "echo hello"), "", true},
		{"fails", "/bin/false", "", true},
		{"missing", filepath.Join(t.TempDir(), "solo5-hvt"), "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := Solo5HVT{Path: tc.path}.Version(context.Background())
			if tc.err {
				if !errors.Is(err, ErrBaselineFailed) {
					t.Errorf("Version = %q, %v; want ErrBaselineFailed", v, err)
				}
				return
			}
			if err != nil || v != tc.want {
				t.Errorf("Version = %q, %v; want %q", v, err, tc.want)
			}
		})
	}
}

// helloExpect is Solo5's tests.bats expectation for test_hello.
var helloExpect = Expect{Stdout: []string{"Hello, World", "SUCCESS"}}

func TestSolo5Real(t *testing.T) {
	tender, tests := solo5Env(t)
	s := Solo5HVT{Path: tender, MemMiB: 4}
	hello := filepath.Join(tests, "test_hello", "test_hello.hvt")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	res, err := s.Run(ctx, hello, []string{"Hello_Solo5"}, helloExpect)
	if err != nil {
		t.Fatal(err)
	}
	if res.Wall <= 0 || res.MaxRSS <= 0 {
		t.Errorf("Wall %v, MaxRSS %d", res.Wall, res.MaxRSS)
	}
	// test_hello prints SUCCESS only for the argument Hello_Solo5.
	if _, err := s.Run(ctx, hello, []string{"other"}, helloExpect); !errors.Is(err, ErrBaselineFailed) {
		t.Errorf("test_hello without Hello_Solo5: %v, want a failed run", err)
	}
	// Too little memory: solo5 aborts (exit 255).
	small := Solo5HVT{Path: tender, MemMiB: 2}
	_, err = small.Run(ctx, hello, []string{"Hello_Solo5"}, helloExpect)
	var re *RunError
	if !errors.As(err, &re) || re.Status != "exit status 255" || re.Reason != "exit status 255, want 0" {
		t.Errorf("--mem=2: %v, want exit status 255", err)
	}
	v, err := s.Version(ctx)
	if err != nil || !strings.HasPrefix(v, "v") {
		t.Errorf("Version = %q, %v", v, err)
	}
	// A group of an image that exits at once is a failure, never a size.
	if g, err := s.StartGroup(ctx, 2, hello, []string{"Hello_Solo5"}, "never printed"); !errors.Is(err, ErrBaselineFailed) {
		if g != nil {
			g.Close()
		}
		t.Errorf("group of test_hello: %v, want a failure", err)
	}
}

func TestSolo5GroupReal(t *testing.T) {
	tender, _ := solo5Env(t)
	idle := os.Getenv("SOLO5_IDLE")
	if idle == "" {
		t.Skip("SOLO5_IDLE is not set (a unikernel printing \"idle: ready\" and then waiting)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := Solo5HVT{Path: tender, MemMiB: 4}
	g, err := s.StartGroup(ctx, 4, idle, nil, "idle: ready")
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	pss, err := g.Pss()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("4 solo5-hvt processes of %s: Pss %d KiB in all", filepath.Base(idle), pss/1024)
	if pss < 4*64*1024 {
		t.Errorf("Pss %d bytes for 4 tenders: implausibly small", pss)
	}
	pids := g.PIDs()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("tender %d survived Close", pid)
		}
	}
}

// BenchmarkSolo5Cold runs test_hello cold under solo5-hvt b.N times and
// reports the median and p99 wall time and the median peak RSS.
func BenchmarkSolo5Cold(b *testing.B) {
	tender, tests := solo5Env(b)
	s := Solo5HVT{Path: tender, MemMiB: 4}
	hello := filepath.Join(tests, "test_hello", "test_hello.hvt")
	var walls []time.Duration
	var rss []float64
	for b.Loop() {
		res, err := s.Run(context.Background(), hello, []string{"Hello_Solo5"}, helloExpect)
		if err != nil {
			b.Fatal(err)
		}
		walls = append(walls, res.Wall)
		rss = append(rss, float64(res.MaxRSS)/1024)
	}
	reportRuns(b, walls, rss)
}

func reportRuns(b *testing.B, walls []time.Duration, rssKiB []float64) {
	sum, err := stats.Summarize(walls)
	if err != nil {
		b.Fatal(err)
	}
	medRSS, _ := stats.Median(rssKiB)
	b.ReportMetric(float64(sum.P50)/1e6, "median-ms")
	b.ReportMetric(float64(sum.P99)/1e6, "p99-ms")
	b.ReportMetric(medRSS, "maxrss-KiB")
}
