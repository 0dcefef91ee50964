package trace

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Window is a range of trace minutes, From to To inclusive, numbered
// 1..Minutes as the invocations file's columns. The zero Window means the
// whole day.
type Window struct{ From, To int }

// FullDay is minutes 1..1440.
var FullDay = Window{1, Minutes}

// ParseWindow parses "FROM-TO" (e.g. "1-60", the first hour) or "N" (one
// minute); "" is the whole day.
func ParseWindow(s string) (Window, error) {
	if s == "" {
		return FullDay, nil
	}
	from, to, err := parseRange(s, 1, Minutes)
	if err != nil {
		return Window{}, fmt.Errorf("trace: minutes %q: want FROM-TO with 1 ≤ FROM ≤ TO ≤ %d", s, Minutes)
	}
	return Window{from, to}, nil
}

func (w Window) orFull() Window {
	if w == (Window{}) {
		return FullDay
	}
	return w
}

// Start returns the offset of the window's first minute from the start of
// the day.
func (w Window) Start() time.Duration { return time.Duration(w.orFull().From-1) * time.Minute }

// End returns the offset of the end of the window's last minute.
func (w Window) End() time.Duration { return time.Duration(w.orFull().To) * time.Minute }

func (w Window) String() string { w = w.orFull(); return fmt.Sprintf("%d-%d", w.From, w.To) }

// Spread is how a minute's invocations are placed within the minute.
type Spread int

const (
	// Uniform spaces a minute's n invocations 60 s/n apart, from a random
	// phase in the first gap.
	Uniform Spread = iota
	// Poisson places them as a Poisson process that had exactly n events
	// in the minute: such events are distributed as n sorted independent
	// uniform times. They are drawn as normalised partial sums of n+1
	// exponential gaps, E₀+…+E_{k−1} over E₀+…+Eₙ for k = 1..n, which
	// gives those sorted uniforms directly (no sort), always inside the
	// minute.
	Poisson
)

// ParseSpread parses "uniform" or "poisson".
func ParseSpread(s string) (Spread, error) {
	switch s {
	case "uniform":
		return Uniform, nil
	case "poisson":
		return Poisson, nil
	}
	return 0, fmt.Errorf("trace: spread %q: want uniform or poisson", s)
}

func (s Spread) String() string {
	if s == Poisson {
		return "poisson"
	}
	return "uniform"
}

// Defaults of ArrivalOptions.
const (
	DefaultRunTime     = time.Second
	DefaultMaxArrivals = 4_000_000 // ~400 MB of Arrival values
)

// ArrivalOptions selects and spreads a trace's invocations.
type ArrivalOptions struct {
	Window Window // minutes to replay; zero: the whole day
	Spread Spread
	Seed   uint64
	// DefaultRunTime is the run time of functions without durations;
	// 0 means DefaultRunTime.
	DefaultRunTime time.Duration
	// MaxArrivals bounds the result; more is ErrTooLarge. 0 means
	// DefaultMaxArrivals.
	MaxArrivals int
	// Sample, in (0, 1), keeps each invocation with that probability (a
	// scaled-down replay); 0 or 1 keeps all.
	Sample float64
	// Mapping assigns images and libraries; nil means DefaultMapping().
	Mapping *Mapping
}

// Arrival is one invocation to replay.
type Arrival struct {
	// Offset is the time from the start of the trace day (minute 1
	// starts at 0); subtract Window.Start() for the offset into a replay.
	Offset    time.Duration
	Func      *Function
	RunTime   time.Duration // sampled from the function's durations, or the default
	MemoryMB  float64       // the app's AverageAllocatedMb; 0 if unknown
	Image     string        // session image, from the mapping
	Libraries []string      // library functions of the app, from the mapping; shared, do not modify
}

// Arrivals returns the invocations of tr within opts.Window, each minute's
// count spread within its minute, sorted by Offset (ties in function
// order). The result depends only on tr, opts and the seed: each function
// draws from its own generator, seeded by opts.Seed and its key, so one
// function's arrivals do not change when others are added or removed.
// RunTime is drawn from the function's duration percentiles by linear
// interpolation between (0, P0), (0.01, P1), (0.25, P25), (0.5, P50),
// (0.75, P75), (0.99, P99), (1, P100).
func Arrivals(tr *Trace, opts ArrivalOptions) ([]Arrival, error) {
	w := opts.Window.orFull()
	if w.From < 1 || w.To < w.From || w.To > Minutes {
		return nil, fmt.Errorf("trace: window %d-%d not within 1-%d", w.From, w.To, Minutes)
	}
	if !(opts.Sample >= 0 && opts.Sample <= 1) {
		return nil, fmt.Errorf("trace: sample %g not in [0, 1]", opts.Sample)
	}
	sample := opts.Sample
	if sample == 0 {
		sample = 1
	}
	def := opts.DefaultRunTime
	if def == 0 {
		def = DefaultRunTime
	}
	limit := opts.MaxArrivals
	if limit == 0 {
		limit = DefaultMaxArrivals
	}
	mp := opts.Mapping
	if mp == nil {
		mp = DefaultMapping()
	}

	var total uint64
	for _, f := range tr.Functions {
		for m, c := range f.Minutes() {
			if m >= w.From && m <= w.To {
				total += uint64(c)
			}
		}
	}
	if sample == 1 && total > uint64(limit) {
		return nil, fmt.Errorf("%w: %d invocations in minutes %v, more than %d arrivals (sample or narrow the window)",
			ErrTooLarge, total, w, limit)
	}
	out := make([]Arrival, 0, min(uint64(float64(total)*sample)+1, uint64(limit)))
	var gaps []time.Duration
	for _, f := range tr.Functions {
		h := fnv.New64a()
		h.Write([]byte(f.Key.Owner + "\x00" + f.Key.App + "\x00" + f.Key.Function))
		rng := rand.New(rand.NewPCG(opts.Seed, h.Sum64()))
		base := Arrival{Func: f, Image: mp.Image(f), Libraries: mp.Libraries(f.Key.AppKey())}
		if am := tr.Memory[f.Key.AppKey()]; am != nil {
			base.MemoryMB = am.Average
		}
		run := runTimeSampler(tr.Durations[f.Key], def)
		for m, c := range f.Minutes() {
			if m < w.From || m > w.To {
				continue
			}
			n := int(c)
			if sample < 1 {
				n = 0
				for range c {
					if rng.Float64() < sample {
						n++
					}
				}
			}
			if n == 0 {
				continue
			}
			if len(out)+n > limit {
				return nil, fmt.Errorf("%w: more than %d arrivals in minutes %v (sample less or narrow the window)", ErrTooLarge, limit, w)
			}
			start := time.Duration(m-1) * time.Minute
			gaps = spreadMinute(rng, opts.Spread, n, gaps[:0])
			for _, g := range gaps {
				a := base
				a.Offset = start + g
				a.RunTime = run(rng)
				out = append(out, a)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Arrival) int {
		switch {
		case a.Offset < b.Offset:
			return -1
		case a.Offset > b.Offset:
			return 1
		}
		return 0
	})
	return out, nil
}

// spreadMinute appends n offsets within [0, 1 min), ascending, to dst.
func spreadMinute(rng *rand.Rand, s Spread, n int, dst []time.Duration) []time.Duration {
	const minute = float64(time.Minute)
	if s == Poisson {
		sums := make([]float64, n+1)
		var sum float64
		for k := range sums {
			sum += rng.ExpFloat64()
			sums[k] = sum
		}
		for k := range n {
			dst = append(dst, clampMinute(sums[k]/sum*minute))
		}
		return dst
	}
	phase := rng.Float64()
	for k := range n {
		dst = append(dst, clampMinute((float64(k)+phase)/float64(n)*minute))
	}
	return dst
}

// clampMinute converts ns to a Duration in [0, 1 min).
func clampMinute(ns float64) time.Duration {
	return min(max(time.Duration(ns), 0), time.Minute-1)
}

// runTimeSampler returns a function drawing run times from d's percentiles
// (made non-decreasing), or returning def if d is nil.
func runTimeSampler(d *Durations, def time.Duration) func(*rand.Rand) time.Duration {
	if d == nil {
		return func(*rand.Rand) time.Duration { return def }
	}
	q := [...]float64{0, 0.01, 0.25, 0.5, 0.75, 0.99, 1}
	v := [...]float64{d.P0, d.P1, d.P25, d.P50, d.P75, d.P99, d.P100}
	for i := 1; i < len(v); i++ {
		v[i] = max(v[i], v[i-1])
	}
	return func(rng *rand.Rand) time.Duration {
		u := rng.Float64()
		i := 1
		for i < len(q)-1 && u >= q[i] {
			i++
		}
		ms := v[i-1] + (v[i]-v[i-1])*(u-q[i-1])/(q[i]-q[i-1])
		ns := math.Round(ms * float64(time.Millisecond))
		if ns >= math.MaxInt64 {
			return math.MaxInt64
		}
		return time.Duration(ns)
	}
}
