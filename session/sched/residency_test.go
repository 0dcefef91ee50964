package sched

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"
)

func TestResidency(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	var r Residency
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// sha: 1 GiB over [10, 20) and [30, open); sort: 512 MiB over [0, 40).
	must(r.Load("sha", at(10), 1<<30))
	must(r.Unload("sha", at(20)))
	must(r.Load("sha", at(30), 1<<30))
	must(r.Load("sort", at(0), 512<<20))
	must(r.Unload("sort", at(40)))

	for _, tc := range []struct {
		lib      string
		from, to int
		want     float64 // GiB·s
	}{
		{"sha", 0, 100, 10 + 70}, // 10 s closed + 70 s open up to 100
		{"sha", 15, 35, 5 + 5},   // clipped on both sides
		{"sha", 20, 30, 0},       // the gap
		{"sort", 0, 100, 40 * 0.5},
		{"sort", 35, 36, 0.5},
		{"none", 0, 100, 0},
		{"", 0, 100, 80 + 20}, // all libraries
		{"", 30, 20, 0},       // empty window
	} {
		var got float64
		if tc.lib == "" {
			got = r.MemoryTime(at(tc.from), at(tc.to))
		} else {
			got = r.MemoryTimeOf(tc.lib, at(tc.from), at(tc.to))
		}
		if math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("memory-time %q [%d, %d) = %v GiB·s, want %v", tc.lib, tc.from, tc.to, got, tc.want)
		}
	}

	for _, tc := range []struct {
		lib  string
		s    int
		want Start
	}{
		{"sha", 9, Cold}, {"sha", 10, Warm}, {"sha", 19, Warm}, {"sha", 20, Cold},
		{"sha", 29, Cold}, {"sha", 30, Warm}, {"sha", 1e6, Warm},
		{"sort", 0, Warm}, {"sort", 40, Cold}, {"none", 5, Cold},
	} {
		if got := r.Classify(tc.lib, at(tc.s)); got != tc.want {
			t.Errorf("Classify(%s, %d) = %v, want %v", tc.lib, tc.s, got, tc.want)
		}
	}

	for _, tc := range []struct {
		err  error
		is   error
		want string
	}{
		{r.Load("sha", at(50), 1), ErrResident, "sched: library already resident: load sha at 2019-07-15 00:00:50 +0000 UTC: resident since 2019-07-15 00:00:30 +0000 UTC"},
		{r.Unload("sort", at(50)), ErrNotResident, "sched: library not resident: unload sort at 2019-07-15 00:00:50 +0000 UTC"},
		{r.Unload("none", at(50)), ErrNotResident, "sched: library not resident: unload none at 2019-07-15 00:00:50 +0000 UTC"},
		{r.Unload("sha", at(29)), ErrTimeOrder, "sched: event before the previous one: unload sha at 2019-07-15 00:00:29 +0000 UTC, loaded at 2019-07-15 00:00:30 +0000 UTC"},
		{r.Load("sort", at(39), 1), ErrTimeOrder, "sched: event before the previous one: load sort at 2019-07-15 00:00:39 +0000 UTC, last event at 2019-07-15 00:00:40 +0000 UTC"},
		{r.Load("x", time.Time{}, 1), ErrTimeOrder, "sched: event before the previous one: load x at the zero time"},
	} {
		if !errors.Is(tc.err, tc.is) || tc.err.Error() != tc.want {
			t.Errorf("error %v\nwant   %s", tc.err, tc.want)
		}
	}

	if got := fmt.Sprint(r.Libraries()); got != "[sha sort]" {
		t.Errorf("Libraries = %s", got)
	}
	iv := r.Intervals("sha")
	if len(iv) != 2 || !iv[1].Unload.IsZero() || iv[0].Bytes != 1<<30 {
		t.Fatalf("Intervals = %+v", iv)
	}
	iv[0].Bytes = 0 // a copy
	r.Trim(at(20))  // drops sha [10, 20), keeps the open one and sort [0, 40)
	if n := len(r.Intervals("sha")); n != 1 || r.MemoryTimeOf("sha", at(0), at(40)) != 10 || len(r.Intervals("sort")) != 1 {
		t.Fatalf("after Trim: %+v %+v", r.Intervals("sha"), r.Intervals("sort"))
	}
	// A zero-length residency is a closed interval, not an open one.
	must(r.Load("z", at(60), 1))
	must(r.Unload("z", at(60)))
	if r.Resident("z", at(60)) || len(r.Intervals("z")) != 1 {
		t.Fatal("zero-length residency")
	}
	must(r.Load("z", at(60), 1))
	if !r.Resident("z", at(60)) {
		t.Fatal("reload at the same instant not resident")
	}
}

func TestResidencyConcurrent(t *testing.T) {
	var r Residency
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lib := fmt.Sprint("lib", g)
			for i := range 200 {
				a := t0.Add(time.Duration(2*i) * time.Second)
				if err := r.Load(lib, a, 1<<30); err != nil {
					t.Error(err)
					return
				}
				_ = r.Classify(lib, a)
				_ = r.MemoryTime(t0, a)
				if err := r.Unload(lib, a.Add(time.Second)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if got := r.MemoryTime(t0, t0.Add(time.Hour)); got != 4*200 {
		t.Fatalf("memory-time %v GiB·s, want 800", got)
	}
}

func TestIntervalOverlap(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	for _, tc := range []struct {
		name         string
		load, unload int // unload < 0: still open
		from, to     int
		wantSeconds  int
	}{
		{"inside", 10, 20, 0, 30, 10},
		{"clipped both ends", 10, 20, 12, 15, 3},
		{"open, up to to", 10, -1, 0, 25, 15},
		{"before the window", 0, 10, 10, 20, 0},
		{"after the window", 20, 30, 0, 20, 0},
		{"open, loaded after to", 30, -1, 0, 20, 0},
	} {
		iv := Interval{Load: at(tc.load), Bytes: 1}
		if tc.unload >= 0 {
			iv.Unload = at(tc.unload)
		}
		if got, want := iv.Overlap(at(tc.from), at(tc.to)), time.Duration(tc.wantSeconds)*time.Second; got != want {
			t.Errorf("%s: Overlap = %v, want %v", tc.name, got, want)
		}
	}
}
