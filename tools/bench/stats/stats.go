// Package stats holds the statistics of uaaf's benchmarks: order statistics
// (median, percentiles), a p50/p99 summary of durations, the ratio of two
// medians with a seeded bootstrap confidence interval, and a least-squares
// line fit (memory per instance).
//
// Every function is pure: it copies what it sorts, never keeps its inputs and
// is safe to call from any goroutine.
package stats

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Sentinel errors. Each error returned by this package wraps one of them.
var (
	// ErrEmpty: a statistic was asked of no samples.
	ErrEmpty = errors.New("stats: no samples")
	// ErrInvalid: an argument is out of its domain (a percentile outside
	// [0, 1], NaN or infinite samples, a confidence level outside (0, 1)).
	ErrInvalid = errors.New("stats: invalid argument")
	// ErrNonPositive: a denominator sample of a ratio is zero or negative.
	ErrNonPositive = errors.New("stats: non-positive denominator")
	// ErrDegenerate: a line fit has fewer than two distinct x values.
	ErrDegenerate = errors.New("stats: degenerate fit")
)

// Percentile returns the p-th quantile (0 ≤ p ≤ 1) of xs by linear
// interpolation between the two closest ranks: with the samples sorted
// ascending as x[0..n-1] and h = (n-1)·p, it is
//
//	x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋])
//
// (Hyndman and Fan's type 7, the default of R and NumPy). So Percentile(xs,
// 0) is the minimum, Percentile(xs, 1) the maximum, and Percentile(xs, 0.5)
// the usual median. With few samples the p99 is close to the maximum: with
// n < 101 it lies between the two largest samples.
func Percentile(xs []float64, p float64) (float64, error) {
	if len(xs) == 0 {
		return 0, ErrEmpty
	}
	if math.IsNaN(p) || p < 0 || p > 1 {
		return 0, fmt.Errorf("%w: percentile %v not in [0, 1]", ErrInvalid, p)
	}
	s, err := sortedCopy(xs)
	if err != nil {
		return 0, err
	}
	return quantileSorted(s, p), nil
}

// Median returns Percentile(xs, 0.5): the middle sample, or the mean of the
// two middle samples when len(xs) is even.
func Median(xs []float64) (float64, error) {
	return Percentile(xs, 0.5)
}

// sortedCopy returns xs sorted ascending, or ErrInvalid for NaN or ±Inf.
func sortedCopy(xs []float64) ([]float64, error) {
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%w: sample %d is %v", ErrInvalid, i, x)
		}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s, nil
}

// quantileSorted is Percentile on already sorted, non-empty, finite samples.
func quantileSorted(s []float64, p float64) float64 {
	h := float64(len(s)-1) * p
	lo := math.Floor(h)
	i := int(lo)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + (h-lo)*(s[i+1]-s[i])
}

// Seconds converts durations to float64 seconds, for the functions above.
func Seconds(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = d.Seconds()
	}
	return out
}

// Summary is the order-statistics summary of a set of durations. P50 and
// P99 follow Percentile's method (linear interpolation, type 7), rounded to
// the nanosecond.
type Summary struct {
	N    int           `json:"n"`
	Min  time.Duration `json:"min_ns"`
	P50  time.Duration `json:"p50_ns"`
	P99  time.Duration `json:"p99_ns"`
	Max  time.Duration `json:"max_ns"`
	Mean time.Duration `json:"mean_ns"`
}

// Summarize returns the Summary of ds, or ErrEmpty.
func Summarize(ds []time.Duration) (Summary, error) {
	if len(ds) == 0 {
		return Summary{}, ErrEmpty
	}
	s := make([]float64, len(ds))
	var sum float64
	for i, d := range ds {
		s[i] = float64(d)
		sum += float64(d)
	}
	slices.Sort(s)
	ns := func(v float64) time.Duration { return time.Duration(math.Round(v)) }
	return Summary{
		N:    len(ds),
		Min:  ns(s[0]),
		P50:  ns(quantileSorted(s, 0.5)),
		P99:  ns(quantileSorted(s, 0.99)),
		Max:  ns(s[len(s)-1]),
		Mean: ns(sum / float64(len(s))),
	}, nil
}
