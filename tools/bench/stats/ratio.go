package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Bootstrap configures the confidence interval of RatioOfMedians. The zero
// value means 10 000 resamples, a 95 % interval, seed 0, independent
// resampling.
type Bootstrap struct {
	// Resamples is the number of bootstrap resamples (default 10 000).
	Resamples int
	// Level is the confidence level in (0, 1) (default 0.95).
	Level float64
	// Seed seeds the PCG generator: the same samples, options and seed
	// always give the same interval.
	Seed uint64
	// Paired resamples indices i and takes a[i] with b[i] together, for
	// measurements taken in pairs (A/B runs in rotating order, round i
	// giving a[i] and b[i]); len(a) must equal len(b). Otherwise a and b
	// are resampled independently, each with its own length.
	Paired bool
}

// RatioCI is the ratio of two medians with its bootstrap confidence interval.
type RatioCI struct {
	Ratio     float64 `json:"ratio"`     // median(a) / median(b)
	Lo        float64 `json:"lo"`        // lower bound of the interval
	Hi        float64 `json:"hi"`        // upper bound of the interval
	Level     float64 `json:"level"`     // confidence level, e.g. 0.95
	Resamples int     `json:"resamples"` // bootstrap resamples drawn
	Paired    bool    `json:"paired"`    // pairs were resampled together
	NA        int     `json:"n_a"`       // samples of a
	NB        int     `json:"n_b"`       // samples of b
}

// String formats r as "1.234× [1.100, 1.400] 95%".
func (r RatioCI) String() string {
	return fmt.Sprintf("%.3f× [%.3f, %.3f] %g%%", r.Ratio, r.Lo, r.Hi, r.Level*100)
}

// RatioOfMedians returns median(a)/median(b) and its percentile-bootstrap
// confidence interval: it draws opt.Resamples resamples (with replacement,
// of the same sizes as a and b; of pairs when opt.Paired), computes
// median(a*)/median(b*) of each, and takes the (1−Level)/2 and (1+Level)/2
// quantiles of those ratios with Percentile's method. The interval is
// "percentile bootstrap" (Efron), not bias-corrected; it needs no
// distributional assumption but is only as good as the samples are
// representative, and with fewer than ~10 samples per side it is coarse.
//
// Every b sample must be positive (durations, sizes): ErrNonPositive
// otherwise. a may hold any finite values.
func RatioOfMedians(a, b []float64, opt Bootstrap) (RatioCI, error) {
	if len(a) == 0 || len(b) == 0 {
		return RatioCI{}, fmt.Errorf("ratio of medians (%d and %d samples): %w", len(a), len(b), ErrEmpty)
	}
	if opt.Resamples == 0 {
		opt.Resamples = 10000
	}
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	if opt.Resamples < 1 || math.IsNaN(opt.Level) || opt.Level <= 0 || opt.Level >= 1 {
		return RatioCI{}, fmt.Errorf("%w: %d resamples, level %v", ErrInvalid, opt.Resamples, opt.Level)
	}
	if opt.Paired && len(a) != len(b) {
		return RatioCI{}, fmt.Errorf("%w: paired samples of different lengths %d and %d", ErrInvalid, len(a), len(b))
	}
	sa, err := sortedCopy(a)
	if err != nil {
		return RatioCI{}, err
	}
	sb, err := sortedCopy(b)
	if err != nil {
		return RatioCI{}, err
	}
	if sb[0] <= 0 {
		return RatioCI{}, fmt.Errorf("%w: smallest b sample is %v", ErrNonPositive, sb[0])
	}

	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	ra := make([]float64, len(a))
	rb := make([]float64, len(b))
	ratios := make([]float64, opt.Resamples)
	for k := range ratios {
		if opt.Paired {
			for i := range ra {
				j := rng.IntN(len(a))
				ra[i], rb[i] = a[j], b[j]
			}
		} else {
			for i := range ra {
				ra[i] = a[rng.IntN(len(a))]
			}
			for i := range rb {
				rb[i] = b[rng.IntN(len(b))]
			}
		}
		slices.Sort(ra)
		slices.Sort(rb)
		ratios[k] = quantileSorted(ra, 0.5) / quantileSorted(rb, 0.5)
	}
	slices.Sort(ratios)
	tail := (1 - opt.Level) / 2
	return RatioCI{
		Ratio:     quantileSorted(sa, 0.5) / quantileSorted(sb, 0.5),
		Lo:        quantileSorted(ratios, tail),
		Hi:        quantileSorted(ratios, 1-tail),
		Level:     opt.Level,
		Resamples: opt.Resamples,
		Paired:    opt.Paired,
		NA:        len(a),
		NB:        len(b),
	}, nil
}
