package sched

import (
	"fmt"
	"math"
	"time"
)

// HybridConfig parameterises the hybrid histogram policy. Defaults
// (DefaultHybridConfig) are the paper's where it gives one.
type HybridConfig struct {
	// Range is the histogram's span of idle times; longer idle times are
	// counted as out of range. Paper: 4 h.
	Range time.Duration
	// Bin is the histogram's bin width. Paper: 1 minute.
	Bin time.Duration
	// Head and Tail are the percentiles (0–100) of the idle-time
	// distribution that bound the pre-warm and keep-alive windows.
	// Paper: 5 and 99.
	Head, Tail float64
	// HeadMargin shortens the pre-warm window and TailMargin lengthens the
	// end of the resident window, as fractions. Paper: 10 % each.
	HeadMargin, TailMargin float64
	// MinCV is the least coefficient of variation of the bin counts for
	// the histogram to be representative: a high CV means idle times
	// concentrate in few bins, a low one that they spread evenly and
	// predict nothing. Paper: 2.
	MinCV float64
	// MinSamples is the least number of idle times observed (in range or
	// not) for the histogram to be representative. The paper gives no
	// number; default 10.
	MinSamples uint64
	// MaxOutOfRange is the share (0–1] of observed idle times beyond Range
	// at or above which the histogram is not representative. The paper
	// switches such applications to an ARIMA forecast; this implementation
	// falls back to Fallback instead. Default 0.5.
	MaxOutOfRange float64
	// Fallback is the keep-alive used while the histogram is not
	// representative (no pre-warm). Paper: the histogram range, 4 h.
	Fallback time.Duration
}

// DefaultHybridConfig returns the defaults documented on HybridConfig.
func DefaultHybridConfig() HybridConfig {
	return HybridConfig{
		Range: 4 * time.Hour, Bin: time.Minute,
		Head: 5, Tail: 99, HeadMargin: 0.10, TailMargin: 0.10,
		MinCV: 2, MinSamples: 10, MaxOutOfRange: 0.5,
		Fallback: 4 * time.Hour,
	}
}

// maxBins bounds a histogram's memory: 4 bytes per bin per library.
const maxBins = 1 << 16

func (c HybridConfig) validate() error {
	switch {
	case c.Bin <= 0:
		return fmt.Errorf("%w: hybrid: bin must be > 0", ErrBadSpec)
	case c.Range < c.Bin:
		return fmt.Errorf("%w: hybrid: range %v shorter than one bin %v", ErrBadSpec, c.Range, c.Bin)
	case c.Range/c.Bin > maxBins:
		return fmt.Errorf("%w: hybrid: range/bin = %d bins, at most %d", ErrBadSpec, c.Range/c.Bin, maxBins)
	case !(0 <= c.Head && c.Head <= c.Tail && c.Tail <= 100):
		return fmt.Errorf("%w: hybrid: want 0 ≤ head ≤ tail ≤ 100, have head %g tail %g", ErrBadSpec, c.Head, c.Tail)
	case !(0 <= c.HeadMargin && c.HeadMargin < 1):
		return fmt.Errorf("%w: hybrid: head-margin %g not in [0, 1)", ErrBadSpec, c.HeadMargin)
	case !(0 <= c.TailMargin && c.TailMargin <= 10):
		return fmt.Errorf("%w: hybrid: tail-margin %g not in [0, 10]", ErrBadSpec, c.TailMargin)
	case !(c.MinCV >= 0) || math.IsInf(c.MinCV, 0):
		return fmt.Errorf("%w: hybrid: cv %g not ≥ 0", ErrBadSpec, c.MinCV)
	case c.MinSamples < 1:
		return fmt.Errorf("%w: hybrid: min-samples must be ≥ 1", ErrBadSpec)
	case !(0 < c.MaxOutOfRange && c.MaxOutOfRange <= 1):
		return fmt.Errorf("%w: hybrid: oob %g not in (0, 1]", ErrBadSpec, c.MaxOutOfRange)
	}
	return nil
}

// Hybrid is the hybrid histogram keep-alive policy of Shahrad et al.,
// "Serverless in the Wild" (ATC'20), implemented from the paper's
// description. Per library it keeps a histogram of idle times — from the
// library becoming idle (Idle) to its next use (Used) — with Bin-wide bins
// over [0, Range), and counts longer idle times as out of range. When a
// library becomes idle:
//
//   - If the histogram is representative (at least MinSamples idle times,
//     less than MaxOutOfRange of them out of range, and a coefficient of
//     variation of the bin counts of at least MinCV), let head be the lower
//     edge of the bin holding the Head percentile and tail the upper edge of
//     the bin holding the Tail percentile. The library is unloaded, loaded
//     again at head×(1−HeadMargin) after the idle start and kept until
//     tail×(1+TailMargin): Decision{Prewarm: head×(1−HeadMargin), KeepAlive:
//     tail×(1+TailMargin) − Prewarm}. With head = 0 that is no pre-warm:
//     stay resident for tail×(1+TailMargin).
//   - Otherwise it stays resident for Fallback, as under TTL.
//
// The histogram is cumulative (no ageing). Not safe for concurrent use.
type Hybrid struct {
	cfg  HybridConfig
	libs map[string]*hybridLib
}

type hybridLib struct {
	bins      []uint32 // allocated at the first in-range sample
	inRange   uint64
	oob       uint64
	idle      bool
	idleSince time.Time
}

// NewHybrid returns a Hybrid policy with cfg, or ErrBadSpec (wrapped) if a
// parameter is out of range.
func NewHybrid(cfg HybridConfig) (*Hybrid, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Hybrid{cfg: cfg, libs: map[string]*hybridLib{}}, nil
}

// Config returns the policy's parameters.
func (h *Hybrid) Config() HybridConfig { return h.cfg }

// Used records the idle time that ends now if lib was idle.
func (h *Hybrid) Used(lib string, now time.Time) {
	l := h.lib(lib)
	if !l.idle {
		return
	}
	l.idle = false
	h.observe(l, max(now.Sub(l.idleSince), 0))
}

// Idle starts an idle period of lib at now and decides from the histogram.
func (h *Hybrid) Idle(lib string, now time.Time) Decision {
	l := h.lib(lib)
	l.idle, l.idleSince = true, now
	return h.decide(l)
}

// Forget drops lib's histogram.
func (h *Hybrid) Forget(lib string) { delete(h.libs, lib) }

func (h *Hybrid) lib(name string) *hybridLib {
	l := h.libs[name]
	if l == nil {
		l = &hybridLib{}
		h.libs[name] = l
	}
	return l
}

func (h *Hybrid) observe(l *hybridLib, it time.Duration) {
	if it >= h.cfg.Range {
		l.oob++
		return
	}
	if l.bins == nil {
		l.bins = make([]uint32, h.nbins())
	}
	i := int(it / h.cfg.Bin)
	if l.bins[i] == math.MaxUint32 {
		return // saturated; ~4e9 samples in one bin already
	}
	l.bins[i]++
	l.inRange++
}

func (h *Hybrid) nbins() int {
	return int((h.cfg.Range + h.cfg.Bin - 1) / h.cfg.Bin)
}

// HybridStats describes one library's histogram for logs and metrics.
type HybridStats struct {
	Samples        uint64        // idle times observed within the range
	OutOfRange     uint64        // idle times observed beyond the range
	CV             float64       // coefficient of variation of the bin counts (0 with no samples)
	Representative bool          // the histogram decides (else Fallback)
	Why            string        // why it is not representative; "" if it is
	Head, Tail     time.Duration // lower edge of the Head bin, upper edge of the Tail bin; 0 with no samples
	Decision       Decision      // what Idle would return now
}

// Stats returns lib's histogram summary (zero counts for an unknown lib).
func (h *Hybrid) Stats(lib string) HybridStats {
	l := h.libs[lib]
	if l == nil {
		l = &hybridLib{}
	}
	s := HybridStats{Samples: l.inRange, OutOfRange: l.oob, CV: h.cv(l)}
	if l.inRange > 0 {
		s.Head, s.Tail = h.window(l)
	}
	s.Why = h.why(l, s.CV)
	s.Representative = s.Why == ""
	s.Decision = h.decide(l)
	return s
}

func (h *Hybrid) decide(l *hybridLib) Decision {
	if h.why(l, h.cv(l)) != "" {
		return Decision{KeepAlive: h.cfg.Fallback}
	}
	head, tail := h.window(l)
	pre := scaleDuration(head, 1-h.cfg.HeadMargin)
	end := scaleDuration(tail, 1+h.cfg.TailMargin)
	return Decision{Prewarm: pre, KeepAlive: end - pre}
}

// why returns why l's histogram is not representative, or "".
func (h *Hybrid) why(l *hybridLib, cv float64) string {
	total := l.inRange + l.oob
	switch {
	case total < h.cfg.MinSamples:
		return fmt.Sprintf("%d idle times, want %d", total, h.cfg.MinSamples)
	case float64(l.oob) >= h.cfg.MaxOutOfRange*float64(total):
		return fmt.Sprintf("%d of %d idle times beyond %v", l.oob, total, h.cfg.Range)
	case cv < h.cfg.MinCV:
		return fmt.Sprintf("CV %.3g below %g", cv, h.cfg.MinCV)
	}
	return ""
}

// window returns the lower edge of the Head percentile's bin and the upper
// edge of the Tail percentile's bin. The p percentile's bin is the first
// non-empty bin whose cumulative count reaches p % of the in-range samples.
// Precondition: l.inRange > 0.
func (h *Hybrid) window(l *hybridLib) (head, tail time.Duration) {
	hi, ti := -1, -1
	n := float64(l.inRange)
	var cum uint64
	for i, c := range l.bins {
		if c == 0 {
			continue
		}
		cum += uint64(c)
		if hi < 0 && float64(cum)*100 >= h.cfg.Head*n {
			hi = i
		}
		if float64(cum)*100 >= h.cfg.Tail*n {
			ti = i
			break
		}
	}
	return time.Duration(hi) * h.cfg.Bin, min(time.Duration(ti+1)*h.cfg.Bin, h.cfg.Range)
}

// cv returns the coefficient of variation (population standard deviation
// over mean) of l's bin counts over all bins of the range; 0 with no
// in-range samples.
func (h *Hybrid) cv(l *hybridLib) float64 {
	if l.inRange == 0 {
		return 0
	}
	b := float64(len(l.bins))
	mean := float64(l.inRange) / b
	var ss float64
	for _, c := range l.bins {
		d := float64(c) - mean
		ss += d * d
	}
	return math.Sqrt(ss/b) / mean
}
