package stats

import (
	"errors"
	"math"
	"testing"
	"time"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestPercentile(t *testing.T) {
	hundred := make([]float64, 101) // 0, 1, ..., 100
	for i := range hundred {
		hundred[i] = float64(i)
	}
	tests := []struct {
		name string
		xs   []float64
		p    float64
		want float64
		err  error
	}{
		{"median even", []float64{1, 2, 3, 4}, 0.5, 2.5, nil},
		{"p99 of four: h=2.97", []float64{1, 2, 3, 4}, 0.99, 3.97, nil},
		{"unsorted p25: h=0.75", []float64{4, 1, 3, 2}, 0.25, 1.75, nil},
		{"min", []float64{7, 3, 9}, 0, 3, nil},
		{"max", []float64{7, 3, 9}, 1, 9, nil},
		{"one sample", []float64{5}, 0.99, 5, nil},
		{"two samples p99", []float64{10, 20}, 0.99, 19.9, nil},
		{"0..100 p99 is exact", hundred, 0.99, 99, nil},
		{"0..100 p50", hundred, 0.5, 50, nil},
		{"duplicates", []float64{2, 2, 2, 8}, 0.5, 2, nil},
		{"empty", nil, 0.5, 0, ErrEmpty},
		{"p below 0", []float64{1}, -0.01, 0, ErrInvalid},
		{"p above 1", []float64{1}, 1.01, 0, ErrInvalid},
		{"p NaN", []float64{1}, math.NaN(), 0, ErrInvalid},
		{"NaN sample", []float64{1, math.NaN()}, 0.5, 0, ErrInvalid},
		{"Inf sample", []float64{1, math.Inf(1)}, 0.5, 0, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Percentile(tc.xs, tc.p)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Percentile(%v, %v) error = %v, want %v", tc.xs, tc.p, err, tc.err)
			}
			if err == nil && !near(got, tc.want) {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.xs, tc.p, got, tc.want)
			}
		})
	}
}

func TestPercentileDoesNotReorderInput(t *testing.T) {
	xs := []float64{3, 1, 2}
	if _, err := Percentile(xs, 0.5); err != nil {
		t.Fatal(err)
	}
	if xs[0] != 3 || xs[1] != 1 || xs[2] != 2 {
		t.Errorf("input reordered: %v", xs)
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{1, 2, 3, 10}, 2.5},
		{[]float64{-4, 4}, 0},
	}
	for _, tc := range tests {
		got, err := Median(tc.xs)
		if err != nil || !near(got, tc.want) {
			t.Errorf("Median(%v) = %v, %v; want %v", tc.xs, got, err, tc.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name string
		ds   []time.Duration
		want Summary
		err  error
	}{
		{"four", []time.Duration{4 * ms, 1 * ms, 3 * ms, 2 * ms},
			Summary{N: 4, Min: ms, P50: 2500 * time.Microsecond, P99: 3970 * time.Microsecond, Max: 4 * ms, Mean: 2500 * time.Microsecond}, nil},
		// p50 = 1.5 ns and p99 = 1.99 ns round to 2 ns; the mean too.
		{"rounding", []time.Duration{1, 2}, Summary{N: 2, Min: 1, P50: 2, P99: 2, Max: 2, Mean: 2}, nil},
		{"one", []time.Duration{7 * ms}, Summary{N: 1, Min: 7 * ms, P50: 7 * ms, P99: 7 * ms, Max: 7 * ms, Mean: 7 * ms}, nil},
		{"empty", nil, Summary{}, ErrEmpty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Summarize(tc.ds)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tc.ds, got, tc.want)
			}
		})
	}
}

func TestSeconds(t *testing.T) {
	got := Seconds([]time.Duration{1500 * time.Millisecond, time.Microsecond})
	if len(got) != 2 || got[0] != 1.5 || got[1] != 1e-6 {
		t.Errorf("Seconds = %v", got)
	}
}

func TestRatioOfMedians(t *testing.T) {
	tests := []struct {
		name           string
		a, b           []float64
		opt            Bootstrap
		ratio, lo, hi  float64
		strictInterval bool // lo < ratio < hi must hold instead of exact bounds
		err            error
	}{
		// Constant samples: every resample has the same medians.
		{name: "constant", a: []float64{2, 2, 2}, b: []float64{1, 1, 1}, ratio: 2, lo: 2, hi: 2},
		// median(a*) of two draws from {1,3} is 1 (p=1/4), 2 (1/2) or 3
		// (1/4): the 2.5 % and 97.5 % quantiles of 10 000 draws are 1 and 3.
		{name: "two-point", a: []float64{1, 3}, b: []float64{1}, ratio: 2, lo: 1, hi: 3},
		// Paired, a = 2b pointwise: every paired resample has ratio 2.
		{name: "paired exact", a: []float64{2, 4, 6, 8}, b: []float64{1, 2, 3, 4}, opt: Bootstrap{Paired: true}, ratio: 2, lo: 2, hi: 2},
		// The same samples resampled independently: the interval opens up.
		{name: "independent", a: []float64{2, 4, 6, 8}, b: []float64{1, 2, 3, 4}, ratio: 2, strictInterval: true},
		{name: "empty a", a: nil, b: []float64{1}, err: ErrEmpty},
		{name: "empty b", a: []float64{1}, b: nil, err: ErrEmpty},
		{name: "zero in b", a: []float64{1, 2}, b: []float64{0, 1}, err: ErrNonPositive},
		{name: "negative in b", a: []float64{1}, b: []float64{-1}, err: ErrNonPositive},
		{name: "paired lengths", a: []float64{1, 2}, b: []float64{1}, opt: Bootstrap{Paired: true}, err: ErrInvalid},
		{name: "level 1", a: []float64{1}, b: []float64{1}, opt: Bootstrap{Level: 1}, err: ErrInvalid},
		{name: "negative resamples", a: []float64{1}, b: []float64{1}, opt: Bootstrap{Resamples: -1}, err: ErrInvalid},
		{name: "NaN in a", a: []float64{math.NaN()}, b: []float64{1}, err: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := RatioOfMedians(tc.a, tc.b, tc.opt)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if !near(got.Ratio, tc.ratio) {
				t.Errorf("ratio = %v, want %v", got.Ratio, tc.ratio)
			}
			if tc.strictInterval {
				if !(got.Lo < got.Ratio && got.Ratio < got.Hi) {
					t.Errorf("interval [%v, %v] does not strictly contain %v", got.Lo, got.Hi, got.Ratio)
				}
			} else if !near(got.Lo, tc.lo) || !near(got.Hi, tc.hi) {
				t.Errorf("interval = [%v, %v], want [%v, %v]", got.Lo, got.Hi, tc.lo, tc.hi)
			}
			if got.Level != 0.95 || got.Resamples != 10000 || got.NA != len(tc.a) || got.NB != len(tc.b) || got.Paired != tc.opt.Paired {
				t.Errorf("defaults/metadata wrong: %+v", got)
			}
		})
	}
}

func TestRatioOfMediansSeeded(t *testing.T) {
	a := []float64{10, 12, 9, 15, 11, 30, 10, 13}
	b := []float64{5, 6, 5, 7, 4, 5, 6, 9}
	r1, err := RatioOfMedians(a, b, Bootstrap{Seed: 1, Resamples: 2000})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := RatioOfMedians(a, b, Bootstrap{Seed: 1, Resamples: 2000})
	if r1 != r2 {
		t.Errorf("same seed, different results: %v vs %v", r1, r2)
	}
	r3, _ := RatioOfMedians(a, b, Bootstrap{Seed: 2, Resamples: 2000})
	if r3.Lo == r1.Lo && r3.Hi == r1.Hi {
		t.Logf("seeds 1 and 2 gave the same interval %v (possible, unlikely)", r1)
	}
	// A wider level gives an interval at least as wide.
	r99, _ := RatioOfMedians(a, b, Bootstrap{Seed: 1, Resamples: 2000, Level: 0.99})
	if r99.Lo > r1.Lo || r99.Hi < r1.Hi {
		t.Errorf("99%% interval %v narrower than 95%% %v", r99, r1)
	}
	// median(a) = 11.5, median(b) = 5.5.
	if !near(r1.Ratio, 11.5/5.5) {
		t.Errorf("ratio = %v, want %v", r1.Ratio, 11.5/5.5)
	}
	if s := r1.String(); s == "" {
		t.Error("empty String")
	}
}

func TestLinearFit(t *testing.T) {
	tests := []struct {
		name            string
		x, y            []float64
		slope, icpt, r2 float64
		err             error
	}{
		{name: "exact line", x: []float64{1, 2, 3}, y: []float64{2, 4, 6}, slope: 2, icpt: 0, r2: 1},
		// x̄=1.5 ȳ=2.75 Sxx=5 Sxy=5.5: slope 1.1, intercept 1.1;
		// residuals -0.1 0.8 -1.3 0.6: SSres=2.7, SStot=8.75, R²=1-2.7/8.75.
		{name: "noisy", x: []float64{0, 1, 2, 3}, y: []float64{1, 3, 2, 5}, slope: 1.1, icpt: 1.1, r2: 1 - 2.7/8.75},
		{name: "flat", x: []float64{1, 2, 3}, y: []float64{4, 4, 4}, slope: 0, icpt: 4, r2: 1},
		{name: "decreasing", x: []float64{0, 10}, y: []float64{10, 0}, slope: -1, icpt: 10, r2: 1},
		{name: "one x value", x: []float64{2, 2}, y: []float64{1, 3}, err: ErrDegenerate},
		{name: "lengths", x: []float64{1, 2}, y: []float64{1}, err: ErrInvalid},
		{name: "empty", x: nil, y: nil, err: ErrEmpty},
		{name: "NaN", x: []float64{1, math.NaN()}, y: []float64{1, 2}, err: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := LinearFit(tc.x, tc.y)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if !near(f.Slope, tc.slope) || !near(f.Intercept, tc.icpt) || !near(f.R2, tc.r2) || f.N != len(tc.x) {
				t.Errorf("fit = %+v, want slope %v intercept %v R² %v", f, tc.slope, tc.icpt, tc.r2)
			}
		})
	}
}

func TestPerInstance(t *testing.T) {
	const mib, kib = 1 << 20, 1 << 10
	f, err := PerInstance([]int{0, 10, 20}, []uint64{mib, mib + 10*64*kib, mib + 20*64*kib})
	if err != nil {
		t.Fatal(err)
	}
	if !near(f.Slope, 64) || !near(f.Intercept, 1024) || !near(f.R2, 1) {
		t.Errorf("PerInstance = %+v, want 64 KiB/instance, 1024 KiB fixed, R² 1", f)
	}
	if _, err := PerInstance([]int{1}, nil); !errors.Is(err, ErrInvalid) {
		t.Errorf("mismatched lengths: %v", err)
	}
}
