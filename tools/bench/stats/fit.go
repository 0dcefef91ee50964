package stats

import (
	"fmt"
	"math"
)

// Fit is a least-squares line y = Slope·x + Intercept through N points.
type Fit struct {
	Slope     float64 `json:"slope"`
	Intercept float64 `json:"intercept"`
	// R2 is the coefficient of determination 1 − SS_res/SS_tot. When all y
	// are equal (SS_tot = 0) the fitted line (slope 0) passes through every
	// point and R2 is 1.
	R2 float64 `json:"r2"`
	N  int     `json:"n"`
}

// LinearFit fits y = a·x + b by ordinary least squares:
// a = Σ(x−x̄)(y−ȳ) / Σ(x−x̄)², b = ȳ − a·x̄. x and y must have the same
// length and x at least two distinct values (ErrDegenerate otherwise).
func LinearFit(x, y []float64) (Fit, error) {
	if len(x) != len(y) {
		return Fit{}, fmt.Errorf("%w: %d x values, %d y values", ErrInvalid, len(x), len(y))
	}
	if len(x) == 0 {
		return Fit{}, ErrEmpty
	}
	var mx, my float64
	for i := range x {
		if bad(x[i]) || bad(y[i]) {
			return Fit{}, fmt.Errorf("%w: point %d is (%v, %v)", ErrInvalid, i, x[i], y[i])
		}
		mx += x[i]
		my += y[i]
	}
	n := float64(len(x))
	mx /= n
	my /= n
	var sxx, sxy, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return Fit{}, fmt.Errorf("%w: all %d x values are %v", ErrDegenerate, len(x), x[0])
	}
	slope := sxy / sxx
	icpt := my - slope*mx
	var ssres float64
	for i := range x {
		r := y[i] - (slope*x[i] + icpt)
		ssres += r * r
	}
	r2 := 1.0
	if syy > 0 {
		r2 = 1 - ssres/syy
	}
	return Fit{Slope: slope, Intercept: icpt, R2: r2, N: len(x)}, nil
}

func bad(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }

// PerInstance fits memory against the number of live instances: bytes[i] is
// the total (e.g. Pss) measured with instances[i] live. The result is in KiB
// (1024 bytes): Slope is KiB per additional instance, Intercept the KiB at
// zero instances (the fixed cost: a daemon, preloaded libraries).
func PerInstance(instances []int, bytes []uint64) (Fit, error) {
	if len(instances) != len(bytes) {
		return Fit{}, fmt.Errorf("%w: %d instance counts, %d sizes", ErrInvalid, len(instances), len(bytes))
	}
	x := make([]float64, len(instances))
	y := make([]float64, len(bytes))
	for i := range instances {
		x[i] = float64(instances[i])
		y[i] = float64(bytes[i]) / 1024
	}
	return LinearFit(x, y)
}
