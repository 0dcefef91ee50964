package trace

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
)

// GenOptions shapes a synthetic trace day. Start from DefaultGenOptions.
type GenOptions struct {
	Day       int    // the files' dNN; 1..99
	Functions int    // number of functions (rows), ≥ 1
	Apps      int    // apps, 1..Functions; each has at least one function
	Owners    int    // owners, 1..Apps; each has at least one app
	Seed      uint64 // the same options and seed give the same files
	// Active is the minutes with invocations; the rest are zero. Zero
	// Window: the whole day.
	Active Window
	// Popularity: the function of popularity rank r (1 = most popular)
	// has a mean of PeakPerMinute × r^(−Zipf) invocations per minute.
	// Ranks are assigned to functions at random.
	Zipf          float64
	PeakPerMinute float64
	// TimerShare of the functions are timer-triggered and periodic;
	// BurstyShare are bursty (idle for hours, then active for minutes);
	// the rest are steady Poisson arrivals with a daily swing.
	TimerShare, BurstyShare float64
	// NoDurations and NoMemory leave out those files.
	NoDurations, NoMemory bool
}

// DefaultGenOptions returns 200 functions in 66 apps of 33 owners with
// popularity ∝ rank^−2 from 100 invocations per minute down to ~3.6 a day
// (four and a half orders of magnitude), 15 % timer-triggered and 15 %
// bursty functions: the shape the paper reports — a few functions take
// almost all invocations while most are invoked less than once an hour.
func DefaultGenOptions() GenOptions {
	return GenOptions{
		Day: 1, Functions: 200, Apps: 66, Owners: 33, Seed: 1,
		Zipf: 2, PeakPerMinute: 100, TimerShare: 0.15, BurstyShare: 0.15,
	}
}

func (o GenOptions) validate() error {
	w := o.Active.orFull()
	switch {
	case o.Day < 1 || o.Day > 99:
		return fmt.Errorf("trace: generate: day %d not in 1..99", o.Day)
	case o.Functions < 1 || o.Functions > MaxRows:
		return fmt.Errorf("trace: generate: %d functions, want 1..%d", o.Functions, MaxRows)
	case o.Apps < 1 || o.Apps > o.Functions:
		return fmt.Errorf("trace: generate: %d apps, want 1..%d (functions)", o.Apps, o.Functions)
	case o.Owners < 1 || o.Owners > o.Apps:
		return fmt.Errorf("trace: generate: %d owners, want 1..%d (apps)", o.Owners, o.Apps)
	case w.From < 1 || w.To < w.From || w.To > Minutes:
		return fmt.Errorf("trace: generate: active minutes %d-%d not within 1-%d", w.From, w.To, Minutes)
	case !(o.Zipf >= 0 && o.Zipf <= 10):
		return fmt.Errorf("trace: generate: zipf %g not in [0, 10]", o.Zipf)
	case !(o.PeakPerMinute > 0 && o.PeakPerMinute <= 1e6):
		return fmt.Errorf("trace: generate: peak %g per minute not in (0, 1e6]", o.PeakPerMinute)
	case !(o.TimerShare >= 0 && o.BurstyShare >= 0 && o.TimerShare+o.BurstyShare <= 1):
		return fmt.Errorf("trace: generate: timer share %g + bursty share %g not within [0, 1]", o.TimerShare, o.BurstyShare)
	}
	return nil
}

// Generate writes a synthetic day in exactly the public trace's schema to
// the existing directory dir (see GenerateTrace), replacing that day's files.
func Generate(dir string, opts GenOptions) error {
	t, err := GenerateTrace(opts)
	if err != nil {
		return err
	}
	return Write(dir, t)
}

// GenerateTrace returns a synthetic day (see GenOptions), as Load would
// read it back from Generate's files.
//
// Per-minute counts: a steady function draws Poisson(λ·(1+½·sin(2π·m/1440
// + φ))) each minute m; a timer function fires every p = round(1/λ)
// minutes (clamped to 1..1440) with round(λ·p) ≥ 1 invocations, from a
// random phase; a bursty function alternates idle stretches (mean 4 h) and
// bursts (mean 12 min) and draws Poisson(λ/duty) per burst minute, where
// duty is the expected share of burst minutes, so its mean stays λ. Poisson
// draws use Knuth's method below a mean of 30 and a rounded normal
// approximation above. Triggers follow the paper's mix roughly: timer
// functions are "timer"; the others http 55 %, queue 15 %, event 10 %,
// storage 10 %, orchestration 5 %, others 5 %.
//
// Durations (for every function invoked at least once): log-normal with a
// median of 10 ms to 10 s (log-uniform) and σ in [0.3, 1.2], percentiles at
// the matching normal quantiles, rounded to 0.01 ms. Memory (every app):
// an average of 30–400 MB (log-uniform) with percentiles spread around it.
func GenerateTrace(opts GenOptions) (*Trace, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	w := opts.Active.orFull()
	rng := rand.New(rand.NewPCG(opts.Seed, 0x7472616365)) // "trace"
	hash := func(kind string, i int) string {
		s := sha256.Sum256(fmt.Appendf(nil, "%s/%d/%d", kind, opts.Seed, i))
		return hex.EncodeToString(s[:])
	}
	owners := make([]string, opts.Owners)
	for i := range owners {
		owners[i] = hash("owner", i)
	}
	apps := make([]AppKey, opts.Apps)
	for i := range apps {
		o := i // every owner gets an app, the rest at random
		if i >= opts.Owners {
			o = rng.IntN(opts.Owners)
		}
		apps[i] = AppKey{owners[o], hash("app", i)}
	}
	ranks := rng.Perm(opts.Functions)
	funcs := make([]*Function, opts.Functions)
	for i := range funcs {
		a := i // every app gets a function, the rest at random
		if i >= opts.Apps {
			a = rng.IntN(opts.Apps)
		}
		f := &Function{Key: FuncKey{apps[a].Owner, apps[a].App, hash("function", i)}}
		lambda := opts.PeakPerMinute * math.Pow(float64(ranks[i]+1), -opts.Zipf)
		switch u := rng.Float64(); {
		case u < opts.TimerShare:
			f.Trigger = "timer"
			genTimer(rng, f, w, lambda)
		case u < opts.TimerShare+opts.BurstyShare:
			f.Trigger = pickTrigger(rng)
			genBursty(rng, f, w, lambda)
		default:
			f.Trigger = pickTrigger(rng)
			genSteady(rng, f, w, lambda)
		}
		funcs[i] = f
	}
	var durations map[FuncKey]*Durations
	if !opts.NoDurations {
		durations = map[FuncKey]*Durations{}
		for _, f := range funcs {
			if f.Total > 0 {
				durations[f.Key] = genDurations(rng, f.Total)
			}
		}
	}
	var memory map[AppKey]*AppMemory
	if !opts.NoMemory {
		memory = map[AppKey]*AppMemory{}
		for _, a := range apps {
			memory[a] = genMemory(rng)
		}
	}
	return NewTrace(opts.Day, funcs, durations, memory)
}

func pickTrigger(rng *rand.Rand) string {
	u := rng.Float64()
	for _, t := range []struct {
		name string
		p    float64
	}{{"http", .55}, {"queue", .15}, {"event", .10}, {"storage", .10}, {"orchestration", .05}} {
		if u < t.p {
			return t.name
		}
		u -= t.p
	}
	return "others"
}

func genSteady(rng *rand.Rand, f *Function, w Window, lambda float64) {
	phase := rng.Float64() * 2 * math.Pi
	for m := w.From; m <= w.To; m++ {
		mean := lambda * (1 + 0.5*math.Sin(2*math.Pi*float64(m)/Minutes+phase))
		if c := poisson(rng, mean); c > 0 {
			f.set(m, c)
		}
	}
}

func genTimer(rng *rand.Rand, f *Function, w Window, lambda float64) {
	p := 1440
	if lambda > 0 {
		p = int(min(max(math.Round(1/lambda), 1), Minutes))
	}
	c := uint32(max(math.Round(lambda*float64(p)), 1))
	phase := rng.IntN(p)
	for m := w.From; m <= w.To; m++ {
		if (m-1)%p == phase {
			f.set(m, c)
		}
	}
}

func genBursty(rng *rand.Rand, f *Function, w Window, lambda float64) {
	const on, off = 1.0 / 240, 1.0 / 12 // per-minute chance to start / end a burst
	const duty = on / (on + off)
	burst := rng.Float64() < duty
	for m := w.From; m <= w.To; m++ {
		if burst {
			if c := poisson(rng, lambda/duty); c > 0 {
				f.set(m, c)
			}
			burst = rng.Float64() >= off
		} else {
			burst = rng.Float64() < on
		}
	}
}

// poisson draws from Poisson(mean): Knuth's product of uniforms below 30,
// a rounded normal approximation above; capped at the uint32 range.
func poisson(rng *rand.Rand, mean float64) uint32 {
	if mean <= 0 {
		return 0
	}
	if mean < 30 {
		limit, p, k := math.Exp(-mean), rng.Float64(), uint32(0)
		for p > limit {
			p *= rng.Float64()
			k++
		}
		return k
	}
	v := math.Round(mean + math.Sqrt(mean)*rng.NormFloat64())
	return uint32(min(max(v, 0), math.MaxUint32))
}

// Standard normal quantiles of percentiles 0.1 (standing in for 0), 1, 25,
// 50, 75, 99 and 99.9 (standing in for 100).
var zq = [...]float64{-3.090, -2.326, -0.674, 0, 0.674, 2.326, 3.090}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

func genDurations(rng *rand.Rand, count uint64) *Durations {
	median := math.Pow(10, 1+3*rng.Float64()) // 10 ms … 10 s
	sigma := 0.3 + 0.9*rng.Float64()
	var p [len(zq)]float64
	for i, z := range zq {
		p[i] = round2(median * math.Exp(sigma*z))
	}
	return &Durations{
		Average: round2(median * math.Exp(sigma*sigma/2)), Count: count,
		Minimum: p[0], Maximum: p[6],
		P0: p[0], P1: p[1], P25: p[2], P50: p[3], P75: p[4], P99: p[5], P100: p[6],
	}
}

func genMemory(rng *rand.Rand) *AppMemory {
	avg := 30 * math.Pow(400.0/30, rng.Float64())
	f := [...]float64{0.6, 0.7, 0.85, 1.0, 1.1, 1.3, 1.5, 1.8}
	m := &AppMemory{SampleCount: 100 + uint64(rng.IntN(1900)), Average: round2(avg)}
	for i, p := range []*float64{&m.P1, &m.P5, &m.P25, &m.P50, &m.P75, &m.P95, &m.P99, &m.P100} {
		*p = round2(avg * f[i])
	}
	return m
}
