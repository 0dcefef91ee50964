package fig10

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/tools/bench/report"
	"github.com/uaaf/uaaf/tools/bench/served"
	"github.com/uaaf/uaaf/tools/bench/stats"
)

// ABPanels are the panels AB can compare.
var ABPanels = []string{"startup", "memory", "throughput", "call"}

// abMetric is one number an A/B round measures of one build.
type abMetric struct {
	name, unit string
}

// AB compares two uaaf builds, old and new, on one panel's uaaf numbers:
// rounds rounds, each starting a daemon of each build in turn (the order
// alternates from round to round so that drift hits both alike) and
// measuring the panel's metrics with it. Each metric's result is the ratio
// new/old of the medians of the per-round values, with a paired bootstrap
// confidence interval, in the summary (panel "ab") and as a plot of the
// ratios (DIR/ab.png). A failed run of either build is a failure of that
// build, never a ratio.
func (b *Bench) AB(ctx context.Context, oldBin, newBin, panel string, rounds int) error {
	if rounds < 2 {
		return fmt.Errorf("%w: an A/B comparison needs at least 2 rounds", ErrConfig)
	}
	for _, p := range []string{oldBin, newBin} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%w: %v", ErrConfig, err)
		}
	}
	var metrics []abMetric
	var measure func(ctx context.Context, d *served.Daemon) ([]float64, error)
	switch panel {
	case "startup":
		metrics = []abMetric{{"session start p50 (timings.start, demo)", "ms"}, {"whole invocation p50 (demo)", "ms"}, {"trivial invocation p50 (hello)", "ms"}}
		measure = b.abStartup
	case "memory":
		metrics = []abMetric{{"Pss per idle session", "KiB"}, {"idle daemon Pss", "MiB"}}
		measure = b.abMemory
	case "throughput":
		metrics = []abMetric{{fmt.Sprintf("trivial invocations/s, %d clients", b.cfg.Concurrency), "inv/s"}}
		measure = func(ctx context.Context, d *served.Daemon) ([]float64, error) {
			r, err := b.rate(ctx, func(ctx context.Context) error {
				_, _, err := invoke(ctx, d.Client, api.Invoke{Image: "hello", Args: helloArgs}, expectHello)
				return err
			}, b.cfg.Concurrency, nil)
			return []float64{r}, err
		}
	case "call":
		metrics = []abMetric{{"library call round trip", "µs"}, {"hypercall", "µs"}}
		measure = b.abCall
	default:
		return fmt.Errorf("%w: A/B panel %q (want one of %v)", ErrConfig, panel, ABPanels)
	}

	builds := []struct{ name, bin string }{{"old", oldBin}, {"new", newBin}}
	vals := map[string][][]float64{} // build → metric → per-round values
	bar := b.progress(2*rounds, "ab "+panel)
	defer bar.Finish()
	for r := range rounds {
		for i := range builds {
			bd := builds[(r+i)%2]
			bar.Describe(fmt.Sprintf("ab %s: round %d, %s", panel, r+1, bd.name))
			got, err := b.abRound(ctx, bd.bin, bd.name, measure)
			bar.Add(1)
			if err != nil {
				b.fail("uaaf "+bd.name+" ("+bd.bin+")", err)
				return nil
			}
			if vals[bd.name] == nil {
				vals[bd.name] = make([][]float64, len(metrics))
			}
			for m, v := range got {
				vals[bd.name][m] = append(vals[bd.name][m], v)
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}

	p := report.Panel{
		Name: "ab", Title: fmt.Sprintf("A/B (%s): new / old, median of %d rounds, 95%% paired bootstrap interval", panel, rounds),
		X: report.Axis{Label: "metric"}, Y: report.Axis{Label: "new / old", Unit: "×"},
		Notes: []string{fmt.Sprintf("old = %s, new = %s; each round starts a daemon of each build, in alternating order", oldBin, newBin)},
	}
	ser := report.Series{System: "new / old"}
	var st []report.Stat
	for m, mt := range metrics {
		p.Categories = append(p.Categories, mt.name)
		for _, bd := range builds {
			v := vals[bd.name][m]
			med, err := stats.Median(v)
			if err != nil {
				return err
			}
			p99, _ := stats.Percentile(v, 0.99)
			st = append(st, report.Stat{System: "uaaf " + bd.name, Metric: mt.name + " (per-round values)", Unit: mt.unit, N: len(v), Median: med, P99: p99})
		}
		ci, err := stats.RatioOfMedians(vals["new"][m], vals["old"][m], stats.Bootstrap{Paired: true})
		if errors.Is(err, stats.ErrNonPositive) {
			b.note(fmt.Sprintf("ab: %s: no ratio, the old build's value is not positive", mt.name))
			continue
		}
		if err != nil {
			return err
		}
		b.sum.Ratios = append(b.sum.Ratios, report.Ratio{Panel: "ab", Metric: mt.name, Numerator: "new", Denominator: "old", Value: ci.Ratio, CI: &ci})
		ser.Points = append(ser.Points, report.Point{X: float64(m), Y: ci.Ratio, Err: &report.Interval{Lo: ci.Lo, Hi: ci.Hi}, N: rounds})
	}
	p.Series = []report.Series{ser}
	b.addPanel(p, report.PNGOptions{}, st)
	return nil
}

// abRound starts a daemon of bin, measures, and closes it.
func (b *Bench) abRound(ctx context.Context, bin, name string, measure func(context.Context, *served.Daemon) ([]float64, error)) ([]float64, error) {
	d, err := startDaemon(ctx, bin, b.cfg, b.im)
	if err != nil {
		return nil, err
	}
	if v, err := d.Client.Version(ctx); err == nil {
		b.addVersion("uaaf "+name, v.Version+" ("+bin+")")
	}
	got, err := measure(ctx, d)
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return got, err
}

// abStartup: Probes invocations of demo and of hello; their medians.
func (b *Bench) abStartup(ctx context.Context, d *served.Daemon) ([]float64, error) {
	var start, whole, triv []float64
	for range b.cfg.Probes {
		s, err := invokeSample(ctx, d.Client, api.Invoke{Image: "demo"}, expectDemo)
		if err != nil {
			return nil, err
		}
		_, t, err := invoke(ctx, d.Client, api.Invoke{Image: "hello", Args: helloArgs}, expectHello)
		if err != nil {
			return nil, err
		}
		start = append(start, millis(s.first))
		whole = append(whole, millis(s.whole))
		triv = append(triv, millis(t))
	}
	out := make([]float64, 3)
	for i, xs := range [][]float64{start, whole, triv} {
		m, err := stats.Median(xs)
		if err != nil {
			return nil, err
		}
		out[i] = m
	}
	return out, nil
}

// abMemory: the idle daemon's Pss, and Pss per idle session with
// min(MaxInstances, 50) live.
func (b *Bench) abMemory(ctx context.Context, d *served.Daemon) ([]float64, error) {
	r0, err := d.Rollup()
	if err != nil {
		return nil, err
	}
	n := min(b.cfg.MaxInstances, 50)
	f := &uaafFleet{d: d}
	defer f.close()
	if err := f.grow(ctx, n); err != nil {
		return nil, err
	}
	pss, err := f.pss(ctx)
	if err != nil {
		return nil, err
	}
	return []float64{(float64(pss) - float64(r0.Pss)) / float64(n) / 1024, float64(r0.Pss) / (1 << 20)}, nil
}

// abCall: callbench's time per call and per hypercall.
func (b *Bench) abCall(ctx context.Context, d *served.Daemon) ([]float64, error) {
	if err := b.addCallbench(ctx, d); err != nil {
		return nil, err
	}
	var out []float64
	for _, hc := range []bool{false, true} {
		r, err := runCallbench(ctx, d.Client, nil, b.cfg.CallN, hc)
		if err != nil {
			return nil, err
		}
		out = append(out, float64(r.ns)/float64(b.cfg.CallN)/1e3)
	}
	return out, nil
}
