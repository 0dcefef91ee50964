package sched

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFixedKeepAlive(t *testing.T) {
	for _, tc := range []struct {
		k    KeepAlive
		want Decision
		str  string
	}{
		{Pinned(), Decision{KeepAlive: Forever}, "keep forever"},
		{TTL(10 * time.Minute), Decision{KeepAlive: 10 * time.Minute}, "keep 10m0s"},
		{TTL(0), Decision{}, "keep 0s"},
	} {
		tc.k.Used("x", t0)
		got := tc.k.Idle("x", t0.Add(time.Second))
		if got != tc.want || got.String() != tc.str {
			t.Errorf("%T: Idle = %v (%q), want %v (%q)", tc.k, got, got.String(), tc.want, tc.str)
		}
		tc.k.Forget("x")
	}
	if s := (Decision{Prewarm: 9 * time.Minute, KeepAlive: 186 * time.Second}).String(); s != "prewarm 9m0s keep 3m6s" {
		t.Errorf("Decision.String = %q", s)
	}
}

// idles is a run of n idle times of length d.
type idles struct {
	n int
	d time.Duration
}

// feed plays a library's life: a first use, then for each idle time an
// Idle, a gap of that length and a Used, each use lasting 1 s. It returns
// the decision at the final Idle.
func feed(h KeepAlive, lib string, runs ...idles) Decision {
	now := t0
	h.Used(lib, now)
	for _, r := range runs {
		for range r.n {
			now = now.Add(time.Second)
			h.Idle(lib, now)
			now = now.Add(r.d)
			h.Used(lib, now)
		}
	}
	return h.Idle(lib, now.Add(time.Second))
}

func TestHybridWindows(t *testing.T) {
	m := time.Minute
	// Default config: 240 one-minute bins over 4 h, head 5th and tail 99th
	// percentile, margins 10 %, CV ≥ 2, ≥ 10 samples, out-of-range < 50 %,
	// fallback 4 h. "bin k" holds idle times in [k min, k+1 min).
	for _, tc := range []struct {
		name string
		runs []idles
		want Decision
		why  string // substring of Stats.Why; "" if representative
	}{
		// 20 idle times of 10m30s, all in bin 10. Head: first bin reaching
		// 5 % of 20 = 1 sample: bin 10, lower edge 10m. Tail: first bin
		// reaching 99 % = 19.8 samples: bin 10, upper edge 11m.
		// Prewarm = 10m × 0.9 = 9m; resident until 11m × 1.1 = 12m6s, so
		// KeepAlive = 12m6s − 9m = 3m6s. CV of counts (20 in one of 240
		// bins) = √239 ≈ 15.5 ≥ 2.
		{"one bin", []idles{{20, 10*m + 30*time.Second}}, Decision{9 * m, 3*m + 6*time.Second}, ""},
		// 1 × 2m30s (bin 2), 18 × 30m10s (bin 30), 1 × 100m (bin 100).
		// Head: 1 sample reached at bin 2 → 2m → Prewarm 1m48s. Tail: 19.8
		// samples reached only at bin 100 (19 through bin 30) → upper edge
		// 101m → × 1.1 = 111m6s → KeepAlive = 111m6s − 1m48s = 109m18s.
		// CV: mean 20/240 = 1/12, Σc² = 326, variance = 326/240 − 1/144
		// ≈ 1.3514, sd ≈ 1.1625, CV ≈ 13.95.
		{"spread", []idles{{1, 2*m + 30*time.Second}, {18, 30*m + 10*time.Second}, {1, 100 * m}},
			Decision{m + 48*time.Second, 109*m + 18*time.Second}, ""},
		// 10 × 20 s (bin 0) and 10 × 5m10s (bin 5). Head in bin 0 → no
		// pre-warm. Tail: 19.8 reached at bin 5 → 6m × 1.1 = 6m36s.
		// CV: Σc² = 200, variance = 200/240 − 1/144 ≈ 0.8264, CV ≈ 10.9.
		{"head in bin 0", []idles{{10, 20 * time.Second}, {10, 5*m + 10*time.Second}}, Decision{0, 6*m + 36*time.Second}, ""},
		// 9 samples: fewer than 10 → fallback 4 h.
		{"too few", []idles{{9, 10 * m}}, Decision{0, 4 * time.Hour}, "9 idle times, want 10"},
		// Exactly 10: enough. Same windows as "one bin".
		{"just enough", []idles{{10, 10*m + 30*time.Second}}, Decision{9 * m, 3*m + 6*time.Second}, ""},
		// 5 of 10 beyond 4 h: 50 % out of range → fallback.
		{"out of range", []idles{{5, 10 * m}, {5, 5 * time.Hour}}, Decision{0, 4 * time.Hour}, "5 of 10 idle times beyond 4h0m0s"},
		// 4 of 10 beyond 4 h: percentiles over the 6 in range, all in bin
		// 10 → as "one bin".
		{"some out of range", []idles{{6, 10 * m}, {4, 4 * time.Hour}}, Decision{9 * m, 3*m + 6*time.Second}, ""},
		// One idle time in each of the 240 bins: all counts equal, CV 0.
		{"uniform", uniformRuns(240, 1), Decision{0, 4 * time.Hour}, "CV 0 below 2"},
		// Two in each of bins 0..119, none in 120..239: mean 1, sd 1, CV 1.
		{"half spread", uniformRuns(120, 2), Decision{0, 4 * time.Hour}, "CV 1 below 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHybrid(DefaultHybridConfig())
			if err != nil {
				t.Fatal(err)
			}
			if got := feed(h, "lib", tc.runs...); got != tc.want {
				t.Fatalf("Idle = %v, want %v", got, tc.want)
			}
			s := h.Stats("lib")
			if s.Representative != (tc.why == "") || !strings.Contains(s.Why, tc.why) {
				t.Fatalf("Stats = %+v, want why %q", s, tc.why)
			}
			if s.Decision != tc.want {
				t.Fatalf("Stats.Decision = %v, want %v", s.Decision, tc.want)
			}
		})
	}
}

// uniformRuns returns k idle times in each of bins 0..n-1 (at mid-bin).
func uniformRuns(n, k int) []idles {
	var r []idles
	for i := range n {
		r = append(r, idles{k, time.Duration(i)*time.Minute + 30*time.Second})
	}
	return r
}

func TestHybridCV(t *testing.T) {
	h, _ := NewHybrid(DefaultHybridConfig())
	feed(h, "a", idles{20, 10 * time.Minute})
	if cv := h.Stats("a").CV; math.Abs(cv-math.Sqrt(239)) > 1e-9 {
		t.Fatalf("CV of one full bin = %v, want √239", cv)
	}
	feed(h, "b", idles{1, 2*time.Minute + 30*time.Second}, idles{18, 30*time.Minute + 10*time.Second}, idles{1, 100 * time.Minute})
	want := math.Sqrt(326.0/240-1.0/144) * 12
	if cv := h.Stats("b").CV; math.Abs(cv-want) > 1e-9 {
		t.Fatalf("CV = %v, want %v", cv, want)
	}
	if s := h.Stats("b"); s.Samples != 20 || s.OutOfRange != 0 || s.Head != 2*time.Minute || s.Tail != 101*time.Minute {
		t.Fatalf("Stats = %+v", s)
	}
}

func TestHybridBookkeeping(t *testing.T) {
	c := DefaultHybridConfig()
	c.MinSamples = 1
	h, _ := NewHybrid(c)
	// Uses while in use record nothing; only Idle→Used gaps count.
	h.Used("x", t0)
	h.Used("x", t0.Add(time.Hour))
	if s := h.Stats("x"); s.Samples != 0 {
		t.Fatalf("uses without Idle recorded %d idle times", s.Samples)
	}
	// A use before the idle start (clock skew) counts as idle time 0.
	h.Idle("x", t0.Add(time.Hour))
	h.Used("x", t0)
	if s := h.Stats("x"); s.Samples != 1 || s.Head != 0 || s.Tail != time.Minute {
		t.Fatalf("after a negative idle time: %+v", s)
	}
	// Forget starts over.
	h.Forget("x")
	if s := h.Stats("x"); s.Samples != 0 || s.Decision != (Decision{KeepAlive: c.Fallback}) {
		t.Fatalf("after Forget: %+v", s)
	}
	// Head percentile 0 is the first non-empty bin, not bin 0.
	c.Head = 0
	h0, _ := NewHybrid(c)
	if d := feed(h0, "x", idles{3, 10 * time.Minute}); d != (Decision{9 * time.Minute, 3*time.Minute + 6*time.Second}) {
		t.Fatalf("head=0: %v", d)
	}
	// Libraries are independent.
	feed(h, "y", idles{3, 10 * time.Minute})
	if s := h.Stats("z"); s.Samples != 0 {
		t.Fatalf("z has %d samples", s.Samples)
	}
}

func TestHybridConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*HybridConfig)
		want string
	}{
		{func(c *HybridConfig) { c.Bin = 0 }, "bin must be > 0"},
		{func(c *HybridConfig) { c.Range = 30 * time.Second }, "range 30s shorter than one bin 1m0s"},
		{func(c *HybridConfig) { c.Bin = time.Millisecond }, "bins, at most 65536"},
		{func(c *HybridConfig) { c.Head = 50; c.Tail = 10 }, "want 0 ≤ head ≤ tail ≤ 100, have head 50 tail 10"},
		{func(c *HybridConfig) { c.Tail = 101 }, "have head 5 tail 101"},
		{func(c *HybridConfig) { c.HeadMargin = 1 }, "head-margin 1 not in [0, 1)"},
		{func(c *HybridConfig) { c.TailMargin = -0.1 }, "tail-margin -0.1 not in [0, 10]"},
		{func(c *HybridConfig) { c.MinCV = math.NaN() }, "cv NaN not ≥ 0"},
		{func(c *HybridConfig) { c.MinSamples = 0 }, "min-samples must be ≥ 1"},
		{func(c *HybridConfig) { c.MaxOutOfRange = 0 }, "oob 0 not in (0, 1]"},
	} {
		c := DefaultHybridConfig()
		tc.edit(&c)
		_, err := NewHybrid(c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewHybrid error %v, want %q", err, tc.want)
		}
	}
}
