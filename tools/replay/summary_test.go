package replay

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/tools/trace"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestMemoryTime(t *testing.T) {
	t0 := time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	const mib = 1 << 20
	res := api.Residency{Libraries: []api.LibraryResidency{
		{Name: "before", Intervals: []api.ResidencyInterval{{Load: at(0), Unload: at(10), Bytes: gib}}},
		{Name: "straddles", Intervals: []api.ResidencyInterval{{Load: at(50), Unload: at(150), Bytes: 512 * mib}}},
		{Name: "inside", Intervals: []api.ResidencyInterval{{Load: at(120), Unload: at(130), Bytes: gib}, {Load: at(140), Unload: at(141), Bytes: 2 * gib}}},
		{Name: "open", Intervals: []api.ResidencyInterval{{Load: at(190), Bytes: gib}}},
		{Name: "after", Intervals: []api.ResidencyInterval{{Load: at(200), Bytes: gib}}},
		{Name: "empty"},
	}}
	// Window [100, 200): straddles 50 s × ½, inside 10 + 2, open 10.
	gibs, loads, libs := MemoryTime(res, at(100), at(200))
	if !near(gibs, 25+12+10) || loads != 3 || libs != 3 {
		t.Errorf("MemoryTime = %v GiB·s, %d loads, %d libraries; want 47, 3, 3", gibs, loads, libs)
	}
	if gibs, loads, libs := MemoryTime(res, at(0), at(1000)); !near(gibs, 10+50+12+810+800) || loads != 6 || libs != 5 {
		t.Errorf("whole: %v, %d, %d", gibs, loads, libs)
	}
}

func TestLatency(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 1000; i++ {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	l := latency(ds)
	if l.N != 1000 || !near(l.P50, 500.5) || !near(l.P99, 990.01) || !near(l.P999, 999.001) || l.Max != 1000 {
		t.Errorf("latency = %+v", l)
	}
	if latency(nil) != (Latency{}) {
		t.Error("latency of nothing")
	}
}

// TestSummarize: counts, fractions, per-function statistics, memory-time
// over the run's window and the rates, on hand-made records.
func TestSummarize(t *testing.T) {
	fa := &trace.Function{Key: trace.FuncKey{Owner: "o", App: "a", Function: "fa"}, Rank: 1}
	fb := &trace.Function{Key: trace.FuncKey{Owner: "o", App: "b", Function: "fb"}, Rank: 2}
	p := &Plan{Options: Options{Window: trace.Window{From: 1, To: 2}, Speedup: 6}} // 2 min of trace, 20 s of real time
	for i, f := range []*trace.Function{fa, fa, fa, fa, fb, fb} {
		p.Invocations = append(p.Invocations, Invocation{Seq: i, Arrival: trace.Arrival{Func: f}, Due: time.Duration(i) * 3 * time.Second})
	}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	warm := func(ws ...bool) []api.LibraryUse {
		var out []api.LibraryUse
		for i, w := range ws {
			out = append(out, api.LibraryUse{Library: string(rune('x' + i)), Warm: w})
		}
		return out
	}
	ok := func(i int, libs []api.LibraryUse, e2e time.Duration) Record {
		return Record{Inv: &p.Invocations[i], Sent: start.Add(p.Invocations[i].Due), State: api.StateExited, ExitStatus: 0,
			Libraries: libs, E2E: e2e, Timings: api.Timings{QueuedNs: int64(i) * 1e6, StartNs: 5e6}}
	}
	run := &Run{Policy: "ttl=1m", Start: start, LastSent: start.Add(15 * time.Second), End: start.Add(21 * time.Second),
		ClockScale: 6, From: start, To: start.Add(2 * time.Minute),
		Records: []Record{
			ok(0, warm(false, false), 10*time.Millisecond),
			ok(1, warm(true, true), 10*time.Millisecond),
			ok(2, warm(true, false), 10*time.Millisecond),
			{Inv: &p.Invocations[3], State: api.StateFailed, ExitStatus: -1, Libraries: warm(true), Err: "fault", Missed: true},
			{Inv: &p.Invocations[4], ExitStatus: -1, Rejected: true, Err: "busy", Missed: true},
			ok(5, warm(true), 10*time.Millisecond),
		},
		Residency: api.Residency{Libraries: []api.LibraryResidency{{Name: "x", Intervals: []api.ResidencyInterval{
			{Load: start.Add(-time.Minute), Unload: start.Add(time.Minute), Bytes: gib}}}}},
	}
	run.Records[1].Lag = 80 * time.Millisecond
	s, fs := Summarize(p, run)
	if s.Invocations != 6 || s.Completed != 4 || s.Failed != 1 || s.Rejected != 1 || s.MissedDeadlines != 2 {
		t.Errorf("counts %+v", s)
	}
	// With a result: 0, 1, 2, 3, 5; cold: 0 and 2.
	// Invocation 2's cold library y was bound (warm) by invocation 1: a reload.
	if s.ReloadColdStarts != 1 || !near(s.ReloadColdFraction, 1.0/5) {
		t.Errorf("reloads %d (%v)", s.ReloadColdStarts, s.ReloadColdFraction)
	}
	if s.ColdStarts != 2 || !near(s.ColdStartFraction, 2.0/5) || s.LibraryUses != 8 || s.ColdLibraryUses != 3 {
		t.Errorf("cold: %d (%v), uses %d of %d", s.ColdStarts, s.ColdStartFraction, s.ColdLibraryUses, s.LibraryUses)
	}
	if len(fs) != 2 || fs[0].Function != "fa" || fs[0].Invocations != 4 || fs[0].WithResult != 4 || fs[0].Cold != 2 || fs[0].Missed != 1 ||
		fs[1].Invocations != 2 || fs[1].WithResult != 1 || fs[1].Cold != 0 || fs[1].ColdFraction() != 0 {
		t.Errorf("functions %+v", fs)
	}
	if s.FunctionCold.N != 2 || !near(s.FunctionCold.P50, 0.25) || !near(s.FunctionCold.P90, 0.45) {
		t.Errorf("function cold fractions %+v", s.FunctionCold)
	}
	if !near(s.MemoryTime, 60) || !near(s.MeanResidentMiB, 512) || s.Loads != 0 || s.Libraries != 1 {
		t.Errorf("memory: %v GiB·s, %v MiB, %d loads, %d libraries", s.MemoryTime, s.MeanResidentMiB, s.Loads, s.Libraries)
	}
	if s.Queued.N != 5 || s.Queued.Max != 5 || s.Start.P50 != 5 || s.E2E.N != 5 || s.Lag.N != 6 || s.Lag.Max != 80 {
		t.Errorf("latencies queued %+v start %+v e2e %+v lag %+v", s.Queued, s.Start, s.E2E, s.Lag)
	}
	if !near(s.RequestedRate, 6.0/20) || !near(s.AchievedRate, 6.0/20) || !near(s.CompletedRate, 4.0/21) || !s.FellBehind {
		t.Errorf("rates: requested %v achieved %v completed %v, behind %v (lag p99 %v ms)", s.RequestedRate, s.AchievedRate, s.CompletedRate, s.FellBehind, s.Lag.P99)
	}
	run.Records[1].Lag = 0
	if s, _ := Summarize(p, run); s.FellBehind {
		t.Error("on time, yet fell behind")
	}
	run.LastSent = start.Add(25 * time.Second) // the last went out 5 s after the window's end
	if s, _ := Summarize(p, run); !s.FellBehind || !near(s.AchievedRate, 6.0/25) {
		t.Errorf("late: behind %v, achieved %v", s.FellBehind, s.AchievedRate)
	}
}

// fakeLauncher hands out fake daemons and records what it was asked.
type fakeLauncher struct {
	p        *Plan
	fresh    bool
	launched []string
	stopped  int
}

func (l *fakeLauncher) Fresh() bool { return l.fresh }
func (l *fakeLauncher) Launch(_ context.Context, spec, dir string) (Daemon, func() error, error) {
	l.launched = append(l.launched, spec)
	d, _ := newFake(l.p)
	d.res = api.Residency{Now: time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC), ClockScale: l.p.Options.Speedup,
		Libraries: []api.LibraryResidency{{Name: "x", Intervals: []api.ResidencyInterval{{Load: time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC), Bytes: gib >> uint(len(l.launched))}}}}}
	return d, func() error { l.stopped++; return nil }, nil
}

// TestCompare: each policy gets a daemon of its own; the files are written
// and read back; a launcher that is not fresh takes one policy only.
func TestCompare(t *testing.T) {
	p := planOf(t)
	l := &fakeLauncher{p: p, fresh: true}
	out := filepath.Join(t.TempDir(), "out")
	var log bytes.Buffer
	c, err := Compare(context.Background(), p, []string{"ttl=10m", "hybrid,fallback=10m"}, l, CompareConfig{
		Config: Config{Clock: &fakeClock{now: time.Now()}, Images: map[string]string{DefaultImage: "/x"}}, Out: out, Log: &log, Command: "uaaf replay x"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(l.launched, "|") != "ttl=10m|hybrid,fallback=10m" || l.stopped != 2 || len(c.Policies) != 2 {
		t.Fatalf("launched %v, stopped %d, %d summaries", l.launched, l.stopped, len(c.Policies))
	}
	if !near(c.Policies[0].MemoryTime, p.Duration().Seconds()/2) || !near(c.Policies[1].MemoryTime, p.Duration().Seconds()/4) {
		t.Errorf("memory-time %v and %v", c.Policies[0].MemoryTime, c.Policies[1].MemoryTime)
	}
	if !strings.Contains(log.String(), "policy ttl=10m: 100% sent") || !strings.Contains(log.String(), "policy hybrid,fallback=10m: cold-start fraction") {
		t.Errorf("log:\n%s", log.String())
	}
	var back Comparison
	b, err := os.ReadFile(filepath.Join(out, "summary.json"))
	if err != nil || json.Unmarshal(b, &back) != nil || len(back.Policies) != 2 || back.Trace.Invocations != len(p.Invocations) || back.Command != "uaaf replay x" {
		t.Fatalf("summary.json: %v\n%s", err, b)
	}
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	for _, want := range []string{"| `ttl=10m` | " + itoa(len(p.Invocations)), "| `hybrid,fallback=10m` |", "`uaaf replay x`", "minutes 1-4"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	f, err := os.Open(filepath.Join(out, "policies.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Width < 200 {
		t.Errorf("policies.png: %v %+v", err, cfg)
	}
	for _, slug := range []string{"ttl-10m", "hybrid-fallback-10m"} {
		rf, err := os.Open(filepath.Join(out, slug, "invocations.csv"))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(rf).ReadAll()
		rf.Close()
		if err != nil || len(rows) != len(p.Invocations)+1 || rows[0][0] != "seq" || len(rows[1]) != len(invocationsHeader) {
			t.Errorf("%s/invocations.csv: %v, %d rows", slug, err, len(rows))
		}
		if _, err := os.Stat(filepath.Join(out, slug, "functions.csv")); err != nil {
			t.Error(err)
		}
	}

	one := &fakeLauncher{p: p}
	if _, err := Compare(context.Background(), p, []string{"ttl=10m", "pinned"}, one, CompareConfig{Out: t.TempDir()}); !errors.Is(err, ErrUsage) || len(one.launched) != 0 {
		t.Errorf("two policies on one daemon: %v", err)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
