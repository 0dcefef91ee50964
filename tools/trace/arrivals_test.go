package trace

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func genTrace(t *testing.T) *Trace {
	t.Helper()
	tr, err := GenerateTrace(DefaultGenOptions())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestArrivals(t *testing.T) {
	tr := genTrace(t)
	w := Window{61, 120}
	for _, spread := range []Spread{Uniform, Poisson} {
		t.Run(spread.String(), func(t *testing.T) {
			opts := ArrivalOptions{Window: w, Spread: spread, Seed: 42}
			as, err := Arrivals(tr, opts)
			if err != nil {
				t.Fatal(err)
			}
			// Every arrival in the window, in its function's minute, sorted;
			// per function and minute exactly the trace's count.
			perMinute := map[*Function]map[int]uint32{}
			for i, a := range as {
				if i > 0 && a.Offset < as[i-1].Offset {
					t.Fatalf("arrival %d at %v before %v", i, a.Offset, as[i-1].Offset)
				}
				if a.Offset < w.Start() || a.Offset >= w.End() {
					t.Fatalf("arrival at %v outside the window [%v, %v)", a.Offset, w.Start(), w.End())
				}
				m := int(a.Offset/time.Minute) + 1
				if perMinute[a.Func] == nil {
					perMinute[a.Func] = map[int]uint32{}
				}
				perMinute[a.Func][m]++
				if a.Image != DefaultImage || len(a.Libraries) == 0 {
					t.Fatalf("arrival mapped to %q %v", a.Image, a.Libraries)
				}
				am := tr.Memory[a.Func.Key.AppKey()]
				d := tr.Durations[a.Func.Key]
				if a.MemoryMB != am.Average {
					t.Fatalf("memory %v, app average %v", a.MemoryMB, am.Average)
				}
				if lo, hi := ms(d.P0), ms(d.P100); a.RunTime < lo || a.RunTime > hi {
					t.Fatalf("run time %v outside [%v, %v]", a.RunTime, lo, hi)
				}
			}
			var want uint64
			for _, f := range tr.Functions {
				for m, c := range f.Minutes() {
					if m < w.From || m > w.To {
						continue
					}
					want += uint64(c)
					if perMinute[f][m] != c {
						t.Fatalf("function rank %d minute %d: %d arrivals, trace says %d", f.Rank, m, perMinute[f][m], c)
					}
				}
			}
			if uint64(len(as)) != want || want == 0 {
				t.Fatalf("%d arrivals, trace has %d invocations in the window", len(as), want)
			}

			// Deterministic for a seed; another seed moves them.
			again, _ := Arrivals(tr, opts)
			if !reflect.DeepEqual(as, again) {
				t.Fatal("two runs with one seed differ")
			}
			opts.Seed = 43
			other, _ := Arrivals(tr, opts)
			if reflect.DeepEqual(as, other) {
				t.Fatal("seeds 42 and 43 gave the same arrivals")
			}
		})
	}
}

func ms(v float64) time.Duration { return time.Duration(math.Round(v * float64(time.Millisecond))) }

// oneFunction is a trace of one function with count invocations in minute 2.
func oneFunction(count uint32) *Trace {
	f, err := NewFunction(FuncKey{"o", "a", "f"}, "http", []uint32{0, count})
	if err != nil || f.Count(2) != count || f.Total != uint64(count) {
		panic(err)
	}
	tr, _ := NewTrace(1, []*Function{f}, nil, nil)
	return tr
}

func TestSpreadWithinMinute(t *testing.T) {
	// Uniform: n evenly spaced, 60 s / n apart.
	as, err := Arrivals(oneFunction(4), ArrivalOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(as); i++ {
		if d := as[i].Offset - as[i-1].Offset; d < 15*time.Second-1 || d > 15*time.Second+1 {
			t.Fatalf("uniform gap %v, want 15s", d)
		}
	}
	if as[0].Offset < time.Minute || as[0].Offset >= time.Minute+15*time.Second {
		t.Fatalf("first arrival at %v, want in [1m, 1m15s)", as[0].Offset)
	}
	if as[0].RunTime != DefaultRunTime || as[0].MemoryMB != 0 {
		t.Fatalf("without durations and memory: run %v, memory %v", as[0].RunTime, as[0].MemoryMB)
	}

	// Poisson: given n events in the minute, their times are n sorted
	// uniforms. With n = 20000: mean ≈ 30 s (sd of the mean 0.12 s) and
	// each quarter of the minute holds ≈ 5000 (sd ≈ 61).
	as, err = Arrivals(oneFunction(20000), ArrivalOptions{Spread: Poisson, Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	var quarters [4]int
	for _, a := range as {
		x := a.Offset - time.Minute
		if x < 0 || x >= time.Minute {
			t.Fatalf("arrival %v outside minute 2", a.Offset)
		}
		sum += x.Seconds()
		quarters[x/(15*time.Second)]++
	}
	if mean := sum / float64(len(as)); math.Abs(mean-30) > 0.6 {
		t.Errorf("mean position %.2fs, want 30s ± 0.6s", mean)
	}
	for i, q := range quarters {
		if q < 4700 || q > 5300 {
			t.Errorf("quarter %d holds %d of 20000", i, q)
		}
	}
}

func TestArrivalOptions(t *testing.T) {
	tr := genTrace(t)
	all, err := Arrivals(tr, ArrivalOptions{Window: Window{1, 60}})
	if err != nil {
		t.Fatal(err)
	}
	half, err := Arrivals(tr, ArrivalOptions{Window: Window{1, 60}, Sample: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if r := float64(len(half)) / float64(len(all)); r < 0.45 || r > 0.55 {
		t.Errorf("sample 0.5 kept %d of %d", len(half), len(all))
	}
	_, err = Arrivals(tr, ArrivalOptions{Window: Window{1, 60}, MaxArrivals: len(all) - 1})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxArrivals below the count: %v", err)
	}
	_, err = Arrivals(tr, ArrivalOptions{Window: Window{1, 60}, MaxArrivals: len(half) / 2, Sample: 0.5})
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxArrivals below the sampled count: %v", err)
	}
	if _, err := Arrivals(tr, ArrivalOptions{Window: Window{0, 60}}); err == nil {
		t.Error("window from minute 0 accepted")
	}
	if _, err := Arrivals(tr, ArrivalOptions{Sample: 1.5}); err == nil {
		t.Error("sample 1.5 accepted")
	}

	// One function's arrivals do not depend on the others.
	f := tr.Functions[0]
	solo, _ := NewTrace(1, []*Function{f}, tr.Durations, tr.Memory)
	alone, err := Arrivals(solo, ArrivalOptions{Window: Window{1, 60}, Spread: Poisson, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	mixed, _ := Arrivals(tr, ArrivalOptions{Window: Window{1, 60}, Spread: Poisson, Seed: 5})
	var mine []Arrival
	for _, a := range mixed {
		if a.Func == f {
			mine = append(mine, a)
		}
	}
	if !reflect.DeepEqual(alone, mine) {
		t.Error("a function's arrivals changed with the other functions")
	}
}

func TestRunTimeSampler(t *testing.T) {
	d := &Durations{P0: 10, P1: 20, P25: 30, P50: 40, P75: 50, P99: 60, P100: 100}
	run := runTimeSampler(d, 0)
	rng := newTestRand()
	var below40 int
	for range 10000 {
		r := run(rng)
		if r < 10*time.Millisecond || r > 100*time.Millisecond {
			t.Fatalf("run time %v outside [10ms, 100ms]", r)
		}
		if r < 40*time.Millisecond {
			below40++
		}
	}
	if below40 < 4800 || below40 > 5200 { // P50 = 40 ms
		t.Errorf("%d of 10000 below the median", below40)
	}
	// Non-monotone percentiles are made monotone; equal ones give a point.
	run = runTimeSampler(&Durations{P0: 5, P1: 5, P25: 5, P50: 5, P75: 5, P99: 5, P100: 5}, 0)
	if r := run(rng); r != 5*time.Millisecond {
		t.Fatalf("constant percentiles gave %v", r)
	}
	run = runTimeSampler(&Durations{P0: 9, P1: 1, P25: 1, P50: 1, P75: 1, P99: 1, P100: 1}, 0)
	if r := run(rng); r != 9*time.Millisecond {
		t.Fatalf("decreasing percentiles gave %v", r)
	}
}

func TestNewFunctionLimit(t *testing.T) {
	if _, err := NewFunction(FuncKey{}, "http", make([]uint32, Minutes+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("1441 counts: %v", err)
	}
}

func TestParseWindowAndSpread(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Window
		ok   bool
	}{
		{"", FullDay, true}, {"1-60", Window{1, 60}, true}, {"37", Window{37, 37}, true},
		{"1-1440", FullDay, true}, {"0-10", Window{}, false}, {"10-5", Window{}, false},
		{"1-1441", Window{}, false}, {"a-b", Window{}, false}, {"-5", Window{}, false},
	} {
		w, err := ParseWindow(tc.in)
		if (err == nil) != tc.ok || w != tc.want {
			t.Errorf("ParseWindow(%q) = %v, %v", tc.in, w, err)
		}
	}
	if w := (Window{61, 120}); w.Start() != time.Hour || w.End() != 2*time.Hour || w.String() != "61-120" {
		t.Errorf("Window{61,120}: %v %v %s", w.Start(), w.End(), w)
	}
	if s, err := ParseSpread("poisson"); err != nil || s != Poisson {
		t.Error("ParseSpread(poisson)")
	}
	if _, err := ParseSpread("normal"); err == nil {
		t.Error("ParseSpread(normal) accepted")
	}
}

func newTestRand() *rand.Rand { return rand.New(rand.NewPCG(1, 2)) }
