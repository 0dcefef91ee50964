package sched

import (
	"strings"
	"testing"
	"time"
)

func TestFixedPool(t *testing.T) {
	p := Fixed(8)
	if n := p.Target(t0, PoolStats{Arrivals: 1e6, Live: 3}); n != 8 {
		t.Fatalf("Fixed(8).Target = %d", n)
	}
}

func TestRateDriven(t *testing.T) {
	s := time.Second
	// Defaults: window 30 s, refill 100 ms, headroom 2, clamp [1, 64].
	// Target = ceil(rate × refill × 2).
	steps := []struct {
		at       time.Duration
		arrivals uint64
		refill   time.Duration // measured; 0: use the configured 100 ms
		want     int
	}{
		{0, 0, 0, 1},                               // one sample: rate unknown → min
		{10 * s, 1000, 0, 20},                      // 100/s × 0.1 s × 2 = 20
		{20 * s, 2000, 0, 20},                      // still 100/s
		{20 * s, 2000, 500 * time.Millisecond, 64}, // 100/s × 0.5 s × 2 = 100 → max
		{30 * s, 3000, 0, 20},                      // 3000 over 30 s
		{40 * s, 4000, 0, 20},                      // anchor t=10s (newest ≥ 30 s old): 3000/30 s
		// Samples at 0, 10, 20, 20, 30, 40, 50 s; at 50 s the cut is 20 s,
		// the anchor the later 20 s sample (2000): 2150 / 30 s = 71.7/s
		// × 0.1 s × 2 = 14.3 → 15.
		{50 * s, 4150, 0, 15},
	}
	p, err := NewRateDriven(DefaultRateConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range steps {
		if got := p.Target(t0.Add(st.at), PoolStats{Arrivals: st.arrivals, Refill: st.refill}); got != st.want {
			t.Fatalf("step %d (t=%v, arrivals %d): Target = %d, want %d", i, st.at, st.arrivals, got, st.want)
		}
	}
	// Quiet for two windows: rate 0 → min.
	if got := p.Target(t0.Add(120*s), PoolStats{Arrivals: 4150}); got != 1 {
		t.Fatalf("after a quiet minute: Target = %d, want 1", got)
	}
	if r, ok := p.Rate(); !ok || r != 0 {
		t.Fatalf("Rate = %v, %v", r, ok)
	}
	// A smaller count is a restart: history dropped, rate unknown.
	if got := p.Target(t0.Add(121*s), PoolStats{Arrivals: 5}); got != 1 {
		t.Fatalf("after a restart: Target = %d", got)
	}
	if _, ok := p.Rate(); ok {
		t.Fatal("rate known right after a restart")
	}
}

func TestRateDrivenBounded(t *testing.T) {
	p, _ := NewRateDriven(DefaultRateConfig())
	var n uint64
	for i := range 100000 {
		n += 3 // 3 per ms = 3000/s → 600 → clamp 64
		got := p.Target(t0.Add(time.Duration(i)*time.Millisecond), PoolStats{Arrivals: n})
		if i > 0 && got != 64 {
			t.Fatalf("call %d: Target = %d, want 64", i, got)
		}
	}
	if len(p.samples) > maxRateSamples+2 {
		t.Fatalf("%d samples kept, want ≤ %d", len(p.samples), maxRateSamples+2)
	}
	if r, _ := p.Rate(); r < 2999 || r > 3001 {
		t.Fatalf("Rate = %v, want 3000/s", r)
	}
}

func TestRateConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*RateConfig)
		want string
	}{
		{func(c *RateConfig) { c.Min, c.Max = 5, 2 }, "want 0 ≤ min ≤ max, have min 5 max 2"},
		{func(c *RateConfig) { c.Min = -1 }, "have min -1"},
		{func(c *RateConfig) { c.Window = 0 }, "window must be > 0"},
		{func(c *RateConfig) { c.Refill = -time.Second }, "refill must be > 0"},
		{func(c *RateConfig) { c.Headroom = 0 }, "headroom 0 not > 0"},
	} {
		c := DefaultRateConfig()
		tc.edit(&c)
		if _, err := NewRateDriven(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewRateDriven error %v, want %q", err, tc.want)
		}
	}
}
