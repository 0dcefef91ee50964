package sched

import (
	"fmt"
	"math"
	"time"
)

// PoolSizer decides the size of the warm VM pool. The daemon calls Target
// when it considers refilling or trimming the pool (at least on every
// arrival or periodically). Not safe for concurrent use.
type PoolSizer interface {
	// Target returns how many VMs the pool should hold (ready or being
	// prepared), ≥ 0.
	Target(now time.Time, s PoolStats) int
}

// PoolStats is what a PoolSizer sees of the pool.
type PoolStats struct {
	// Arrivals counts invocations that arrived since the daemon started;
	// it only grows (a decrease is taken as a restart of the count).
	Arrivals uint64
	// Live counts the pool's VMs, ready or being prepared.
	Live int
	// Ready counts the VMs ready to take an invocation now.
	Ready int
	// Refill is the recent mean time to prepare one VM; 0 if not measured
	// yet. Rate-driven sizing needs it: the pool must cover the arrivals
	// that come while a VM is being prepared.
	Refill time.Duration
}

// Fixed returns a sizer that always wants n VMs. It panics if n < 0 (a
// programmer error; ParsePool validates its input).
func Fixed(n int) PoolSizer {
	if n < 0 {
		panic("sched: Fixed pool size < 0")
	}
	return fixed(n)
}

type fixed int

func (f fixed) Target(time.Time, PoolStats) int { return int(f) }

// RateConfig parameterises RateDriven.
type RateConfig struct {
	// Min and Max clamp the target. Defaults 1 and 64.
	Min, Max int
	// Window is how far back the arrival rate is measured. Default 30 s.
	Window time.Duration
	// Refill is the time to prepare one VM assumed while PoolStats.Refill
	// is 0. Default 100 ms.
	Refill time.Duration
	// Headroom multiplies the estimate to absorb bursts. Default 2.
	Headroom float64
}

// DefaultRateConfig returns the defaults documented on RateConfig.
func DefaultRateConfig() RateConfig {
	return RateConfig{Min: 1, Max: 64, Window: 30 * time.Second, Refill: 100 * time.Millisecond, Headroom: 2}
}

// maxRateSamples bounds RateDriven's memory: samples closer together than
// Window/maxRateSamples replace each other.
const maxRateSamples = 64

// RateDriven sizes the pool by Little's law on the refill loop: while one VM
// is being prepared, rate×refill invocations arrive on average, so the pool
// wants ceil(rate × refill × Headroom) VMs, clamped to [Min, Max]. The rate
// is the arrivals over the last Window (measured from the newest sample at
// least Window old, or the oldest sample while the history is shorter);
// until two samples are apart it is unknown and the target is Min. Refill
// is PoolStats.Refill when measured, else RateConfig.Refill.
type RateDriven struct {
	cfg     RateConfig
	samples []rateSample // oldest first
}

type rateSample struct {
	t time.Time
	n uint64
}

// NewRateDriven returns a RateDriven sizer, or ErrBadSpec (wrapped) if a
// parameter is out of range.
func NewRateDriven(cfg RateConfig) (*RateDriven, error) {
	switch {
	case cfg.Min < 0 || cfg.Max < cfg.Min:
		return nil, fmt.Errorf("%w: rate: want 0 ≤ min ≤ max, have min %d max %d", ErrBadSpec, cfg.Min, cfg.Max)
	case cfg.Window <= 0:
		return nil, fmt.Errorf("%w: rate: window must be > 0", ErrBadSpec)
	case cfg.Refill <= 0:
		return nil, fmt.Errorf("%w: rate: refill must be > 0", ErrBadSpec)
	case !(cfg.Headroom > 0) || math.IsInf(cfg.Headroom, 0):
		return nil, fmt.Errorf("%w: rate: headroom %g not > 0", ErrBadSpec, cfg.Headroom)
	}
	return &RateDriven{cfg: cfg}, nil
}

// Rate returns the arrival rate per second measured at the last Target
// call, and false while it is unknown.
func (p *RateDriven) Rate() (float64, bool) {
	if len(p.samples) < 2 {
		return 0, false
	}
	a, b := p.samples[0], p.samples[len(p.samples)-1]
	dt := b.t.Sub(a.t).Seconds()
	if dt <= 0 {
		return 0, false
	}
	return float64(b.n-a.n) / dt, true
}

// Target records the sample (now, s.Arrivals) and returns the target size.
func (p *RateDriven) Target(now time.Time, s PoolStats) int {
	p.record(now, s.Arrivals)
	rate, ok := p.Rate()
	if !ok {
		return p.cfg.Min
	}
	refill := p.cfg.Refill
	if s.Refill > 0 {
		refill = s.Refill
	}
	want := math.Ceil(rate * refill.Seconds() * p.cfg.Headroom)
	switch {
	case want <= float64(p.cfg.Min):
		return p.cfg.Min
	case want >= float64(p.cfg.Max):
		return p.cfg.Max
	}
	return int(want)
}

func (p *RateDriven) record(now time.Time, n uint64) {
	if k := len(p.samples); k > 0 {
		last := p.samples[k-1]
		switch {
		case n < last.n || now.Before(last.t): // count or clock restarted
			p.samples = p.samples[:0]
		case k >= 2 && now.Sub(p.samples[k-2].t) < p.cfg.Window/maxRateSamples:
			p.samples[k-1] = rateSample{now, n} // too close: replace
			p.trim(now)
			return
		}
	}
	p.samples = append(p.samples, rateSample{now, n})
	p.trim(now)
}

// trim drops samples older than needed: the newest sample at least Window
// old stays as the anchor of the rate.
func (p *RateDriven) trim(now time.Time) {
	cut := now.Add(-p.cfg.Window)
	i := 0
	for i+1 < len(p.samples) && !p.samples[i+1].t.After(cut) {
		i++
	}
	if i > 0 {
		p.samples = append(p.samples[:0], p.samples[i:]...)
	}
}
