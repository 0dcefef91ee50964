package sched

import (
	"slices"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC)

func TestFakeClockOrder(t *testing.T) {
	c := NewFakeClock(t0)
	var got []string
	at := func(name string) func() {
		return func() { got = append(got, name+"@"+c.Now().Sub(t0).String()) }
	}
	c.AfterFunc(3*time.Second, at("c"))
	c.AfterFunc(time.Second, at("a"))
	c.AfterFunc(3*time.Second, at("d")) // same due time as c: after it
	stopped := c.AfterFunc(2*time.Second, at("never"))
	c.AfterFunc(time.Second, func() {
		got = append(got, "b@"+c.Now().Sub(t0).String())
		// scheduled from a callback, due within this Advance
		c.AfterFunc(500*time.Millisecond, at("b2"))
	})
	c.AfterFunc(10*time.Second, at("late"))
	if !stopped.Stop() {
		t.Fatal("Stop of a pending timer = false")
	}
	if stopped.Stop() {
		t.Fatal("second Stop = true")
	}
	c.Advance(5 * time.Second)
	want := []string{"a@1s", "b@1s", "b2@1.5s", "c@3s", "d@3s"}
	if !slices.Equal(got, want) {
		t.Fatalf("fired %v, want %v", got, want)
	}
	if n := c.Now().Sub(t0); n != 5*time.Second {
		t.Fatalf("Now after Advance(5s) = +%v", n)
	}
	if c.Pending() != 1 {
		t.Fatalf("Pending = %d, want 1 (late)", c.Pending())
	}
	got = nil
	c.Advance(5 * time.Second)
	if !slices.Equal(got, []string{"late@10s"}) {
		t.Fatalf("second Advance fired %v", got)
	}
}

func TestFakeClockZeroDelay(t *testing.T) {
	c := NewFakeClock(t0)
	ran := 0
	tm := c.AfterFunc(0, func() { ran++ })
	c.AfterFunc(-time.Second, func() { ran++ })
	if ran != 0 {
		t.Fatal("AfterFunc(0) ran before Advance")
	}
	c.Advance(0)
	if ran != 2 {
		t.Fatalf("Advance(0) ran %d calls, want 2", ran)
	}
	if tm.Stop() {
		t.Fatal("Stop after the call ran = true")
	}
	if !c.Now().Equal(t0) {
		t.Fatal("a negative delay moved the clock back")
	}
}

func TestFakeClockConcurrent(t *testing.T) {
	c := NewFakeClock(t0)
	var mu sync.Mutex
	n := 0
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				tm := c.AfterFunc(time.Duration(i*j)*time.Millisecond, func() { mu.Lock(); n++; mu.Unlock() })
				if j%5 == 0 {
					tm.Stop()
				}
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	c.Advance(time.Hour)
	if n != 8*40 {
		t.Fatalf("%d calls ran, want %d", n, 8*40)
	}
}

func TestScaledClock(t *testing.T) {
	const scale = 1000
	before := time.Now()
	c := NewScaledClock(t0, scale)
	after := time.Now()
	time.Sleep(2 * time.Millisecond)
	lo := time.Since(after)
	v := c.Now().Sub(t0)
	hi := time.Since(before)
	// The clock's real start lies in [before, after], so its elapsed real
	// time lies in [lo, hi] and its reading in [lo, hi] × scale.
	if v < lo*scale-1 || v > hi*scale+1 {
		t.Fatalf("ScaledClock reads +%v, want within [%v, %v]", v, lo*scale, hi*scale)
	}

	fired := make(chan time.Duration, 1)
	start := c.Now()
	c.AfterFunc(10*time.Second, func() { fired <- c.Now().Sub(start) }) // 10 ms real
	select {
	case d := <-fired:
		if d < 10*time.Second {
			t.Fatalf("AfterFunc(10s) fired at +%v of trace time", d)
		}
	case <-time.After(time.Minute):
		t.Fatal("AfterFunc(10s) at scale 1000 did not fire within a minute")
	}
	stop := c.AfterFunc(time.Hour, func() { t.Error("stopped timer fired") })
	if !stop.Stop() {
		t.Fatal("Stop of a pending ScaledClock timer = false")
	}
}

func TestScaleDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		k    float64
		want time.Duration
	}{
		{10 * time.Second, 1.0 / 1000, 10 * time.Millisecond},
		{3, 0.5, 2}, // 1.5 rounds away from zero
		{-3, 0.5, -2},
		{time.Hour, 1e30, 1<<63 - 1},
		{-time.Hour, 1e30, -1 << 63},
	} {
		if got := scaleDuration(tc.d, tc.k); got != tc.want {
			t.Errorf("scaleDuration(%v, %g) = %v, want %v", tc.d, tc.k, got, tc.want)
		}
	}
}
