package fig10

import (
	"context"
	"fmt"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/tools/bench/baseline"
	"github.com/uaaf/uaaf/tools/bench/libtext"
	"github.com/uaaf/uaaf/tools/bench/report"
	"github.com/uaaf/uaaf/tools/bench/served"
	"github.com/uaaf/uaaf/tools/bench/stats"
)

// Keys of Bench.measured written by the ramp.
const (
	keyMaxN        = "max live"          // the largest number of live instances measured
	keyPssAtMax    = "pss at max MiB"    // total Pss with keyMaxN live
	keySlope       = "fit slope KiB"     // least-squares Pss per instance
	keyIntercept   = "fit intercept KiB" // … and at zero instances
	keyMarginal    = "marginal KiB"      // Pss per instance between the last two steps
	keyIdleRSS     = "idle daemon RSS MiB"
	keyIdlePss     = "idle daemon Pss MiB"
	keyTextOnce    = "library text once KiB"
	keyTextMapped  = "library text mapped KiB"
	keyScaleFirst  = "scale at 1"   // samples (ms) of start latency with 1 live
	keyScaleLast   = "scale at max" // … with keyMaxN live
	keyScaleMaxN   = "scale max live"
	keyThreads     = "daemon threads at max"
	keyBringUp     = "bring-up ms per instance, last step"
	keyPairedLast  = "interleaved at max" // samples (ms) with keyMaxN live, interleaved with…
	keyPaired1     = "interleaved at 1"   // … samples from a second daemon with 1 live
	keyBringUpFrom = "bring-up last step from"
)

// endProbes multiplies Config.Probes at the first and last steps.
const endProbes = 3

// rampSystem is one system's fleet and its start probe.
type rampSystem struct {
	name  string
	steps []int
	// open makes the fleet and returns its probe and a closer for what
	// open itself started (the daemon).
	open func(ctx context.Context) (fleet, func(context.Context) (time.Duration, error), func() error, error)
	// pids returns the processes whose library text is counted (nil: none).
	pids func(fleet) []int
	// phases, when set, collects the start phases of the probes (uaaf).
	phases *phaseLog
}

// phaseLog holds the bind and boot phases (ms) of the probes of one step.
type phaseLog struct{ bind, boot []float64 }

func (p *phaseLog) add(s sample) {
	if p != nil {
		p.bind = append(p.bind, millis(s.bind))
		p.boot = append(p.boot, millis(s.boot))
	}
}

// Scale measures panel (b): start latency (p50, p99) while 1, 2, 5, … up
// to MaxInstances instances are live.
func (b *Bench) Scale(ctx context.Context) error { return b.ramp(ctx, true, false) }

// Memory measures panel (c): total Pss against live instances, per
// system, with the least-squares KiB per instance.
func (b *Bench) Memory(ctx context.Context) error { return b.ramp(ctx, false, true) }

// ScaleAndMemory measures both on one ramp of live instances per system.
func (b *Bench) ScaleAndMemory(ctx context.Context) error { return b.ramp(ctx, true, true) }

func (b *Bench) rampSystems() []rampSystem {
	var out []rampSystem
	procSteps := Steps(b.cfg.maxProcesses())
	if b.has(SysUAAF) {
		var d *served.Daemon
		phases := &phaseLog{}
		out = append(out, rampSystem{name: SysUAAF, steps: Steps(b.cfg.MaxInstances), phases: phases,
			open: func(ctx context.Context) (fleet, func(context.Context) (time.Duration, error), func() error, error) {
				var err error
				if d, err = startDaemon(ctx, b.cfg.UAAF, b.cfg, b.im); err != nil {
					return nil, nil, nil, err
				}
				// The idle daemon: libraries preloaded, images registered,
				// pool full, no session yet.
				if r, err := d.Rollup(); err == nil {
					b.record(SysUAAF, keyIdleRSS, float64(r.Rss)/(1<<20))
					b.record(SysUAAF, keyIdlePss, float64(r.Pss)/(1<<20))
				}
				probe := func(ctx context.Context) (time.Duration, error) {
					s, err := invokeSample(ctx, d.Client, api.Invoke{Image: "demo"}, expectDemo)
					if err == nil {
						phases.add(s)
					}
					return s.first, err
				}
				return &uaafFleet{d: d}, probe, d.Close, nil
			},
			pids: func(fleet) []int { return []int{d.PID} },
		})
	}
	if b.has(SysIsolated) {
		s := processRamp(SysIsolated, procSteps, isolatedArgv(b.cfg, b.im, true, nil, b.im.idle), idleReady,
			isolatedArgv(b.cfg, b.im, true, nil, b.im.demo), expectDemo)
		s.pids = func(f fleet) []int { return f.(*groupFleet).pids() }
		out = append(out, s)
	}
	if b.has(SysSolo5) {
		out = append(out, processRamp(SysSolo5, procSteps, b.solo5.Argv(b.im.pause), pauseReady,
			b.solo5.Argv(b.im.hello, helloArgs...), expectHello))
	}
	if b.has(SysRunc) {
		out = append(out, rampSystem{name: SysRunc, steps: procSteps,
			open: func(ctx context.Context) (fleet, func(context.Context) (time.Duration, error), func() error, error) {
				f := &runcFleet{r: *b.runc, bundle: b.fnWait}
				return f, func(ctx context.Context) (time.Duration, error) {
					r, err := b.runc.RunFirstOutput(ctx, b.fn, expectDemo)
					return r.FirstOutput, err
				}, nil, nil
			},
		})
	}
	return out
}

// processRamp is the ramp of a process baseline: a fleet of live processes
// of argv (each ready once it prints ready), probed by cold runs of probe
// checked against want.
func processRamp(name string, steps []int, argv []string, ready string, probe []string, want baseline.Expect) rampSystem {
	return rampSystem{name: name, steps: steps,
		open: func(ctx context.Context) (fleet, func(context.Context) (time.Duration, error), func() error, error) {
			return &groupFleet{argv: argv, ready: ready}, func(ctx context.Context) (time.Duration, error) {
				s, _, err := processSample(ctx, probe, want)
				return s.first, err
			}, nil, nil
		},
	}
}

// rampResult is what one system's ramp measured.
type rampResult struct {
	scale  report.Series
	memory report.Series
	cgroup report.Series // runc: cgroup memory, when readable
	ks     []int
	pss    []uint64
	first  []float64 // start samples (ms) at the first step
	last   []float64 // … at the last
}

func (b *Bench) ramp(ctx context.Context, scale, memory bool) error {
	systems := b.rampSystems()
	total := 0
	for _, s := range systems {
		for i := range s.steps {
			total++
			if scale {
				total += b.cfg.Probes
				if i == 0 || i == len(s.steps)-1 {
					total += (endProbes - 1) * b.cfg.Probes
				}
				if s.name == SysUAAF && i > 0 && i == len(s.steps)-1 {
					total += endProbes * b.cfg.Probes
				}
			}
		}
	}
	bar := b.progress(total, "ramp")
	defer bar.Finish()

	sp := report.Panel{
		Name: "scale", Title: "Start latency with N instances live (solid: p50, dashed: p99)",
		X: report.Axis{Label: "live instances"}, Y: report.Axis{Label: "start latency", Unit: "ms"},
		Notes: []string{
			"uaaf: timings.start of a demo session (4 preloaded imports) invoked through the daemon while N idle sessions (each holding an instance of the 4 libraries) are live in it.",
			"uaaf at the largest N also gets interleaved probes: a second daemon with 1 idle session is started and probes alternate between the two, so that load from elsewhere on the machine hits both alike (summary: \"interleaved\").",
			"uaaf-isolated: fork → first console byte of a cold `uaaf run --lib ×4 demo` while N `uaaf run --lib ×4 idle` processes are live; solo5-hvt: of the hello guest while N solo5-hvt processes of the pause guest are live; runc: of the function while N containers of its waiting variant are live.",
		},
	}
	mp := report.Panel{
		Name: "memory", Title: "Total Pss against live instances",
		X: report.Axis{Label: "live instances"}, Y: report.Axis{Label: "total Pss", Unit: "MiB"},
		Notes: []string{
			"Pss from /proc/PID/smaps_rollup, summed over the system's processes: uaaf, the daemon process (its sessions, library instances and preloaded libraries live in it); uaaf-isolated and solo5-hvt, every process; runc, every process in every container (runc itself has exited; kernel memory of namespaces and cgroups is not in Pss).",
			"instances: uaaf, idle sessions that called each of their 4 libraries once (so each holds 4 live library instances); uaaf-isolated, `uaaf run --lib ×4 idle` processes (private copies of the libraries); solo5-hvt, the pause guest (no libraries: Solo5 has none); runc, the demo function's waiting variant.",
		},
	}
	var sst, mst []report.Stat
	for _, sys := range systems {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		res, err := b.rampOne(ctx, sys, scale, memory, bar)
		if err != nil {
			b.fail(sys.name, err)
			continue
		}
		n := res.ks[len(res.ks)-1]
		b.record(sys.name, keyMaxN, float64(n))
		if scale {
			sp.Series = append(sp.Series, res.scale)
			b.recordSamples(sys.name, keyScaleFirst, res.first)
			b.recordSamples(sys.name, keyScaleLast, res.last)
			b.record(sys.name, keyScaleMaxN, float64(n))
			for _, pt := range []report.Point{res.scale.Points[0], res.scale.Points[len(res.scale.Points)-1]} {
				sst = append(sst, report.Stat{System: sys.name, Metric: fmt.Sprintf("start with %d live", int(pt.X)), Unit: "ms", N: pt.N, Median: pt.Y, P99: pt.P99})
			}
			if a, c := b.samples[sys.name][keyPairedLast], b.samples[sys.name][keyPaired1]; len(a) > 0 && len(c) > 0 {
				pa, _ := stats.Percentile(a, 0.99)
				pc, _ := stats.Percentile(c, 0.99)
				ma, _ := stats.Median(a)
				mc, _ := stats.Median(c)
				sst = append(sst,
					report.Stat{System: sys.name, Metric: fmt.Sprintf("start with %d live, interleaved with a second daemon's", n), Unit: "ms", N: len(a), Median: ma, P99: pa},
					report.Stat{System: sys.name, Metric: "start with 1 live in the second daemon, interleaved", Unit: "ms", N: len(c), Median: mc, P99: pc})
				if pc > 0 {
					b.sum.Ratios = append(b.sum.Ratios, report.Ratio{Panel: "scale", Metric: "start latency, interleaved",
						Numerator: fmt.Sprintf("%s at %d live", sys.name, n), Denominator: sys.name + " at 1 live (second daemon)", Stat: "p99", Value: pa / pc})
				}
			}
			// Where the start goes at both ends (uaaf's timings).
			for _, k := range []int{res.ks[0], n} {
				for _, ph := range []string{"bind", "boot"} {
					xs := b.samples[sys.name][fmt.Sprintf("%s with %d live", ph, k)]
					if len(xs) == 0 {
						continue
					}
					pt, err := point(0, xs)
					if err != nil {
						return err
					}
					sst = append(sst, report.Stat{System: sys.name, Metric: fmt.Sprintf("start phase %s (timings.%s) with %d live", ph, ph, k), Unit: "ms", N: pt.N, Median: pt.Y, P99: pt.P99})
				}
			}
			p1, pN := res.scale.Points[0].P99, res.scale.Points[len(res.scale.Points)-1].P99
			if p1 > 0 {
				b.sum.Ratios = append(b.sum.Ratios, report.Ratio{Panel: "scale", Metric: "start latency",
					Numerator: fmt.Sprintf("%s at %d live", sys.name, n), Denominator: fmt.Sprintf("%s at %d live", sys.name, res.ks[0]), Stat: "p99", Value: pN / p1})
			}
		}
		if memory {
			mp.Series = append(mp.Series, res.memory)
			if len(res.cgroup.Points) > 0 && res.cgroup.System != "-" {
				mp.Series = append(mp.Series, res.cgroup)
				cks, cb := make([]int, len(res.cgroup.Points)), make([]uint64, len(res.cgroup.Points))
				for i, pt := range res.cgroup.Points {
					cks[i], cb[i] = int(pt.X), uint64(pt.Y*(1<<20))
				}
				if fit, err := stats.PerInstance(cks, cb); err == nil {
					mst = append(mst, report.Stat{System: res.cgroup.System, Metric: fmt.Sprintf("memory per instance (least-squares slope, R² %.3f)", fit.R2), Unit: "KiB", N: fit.N, Median: fit.Slope})
				}
			}
			fit, err := stats.PerInstance(res.ks, res.pss)
			if err != nil {
				return err
			}
			b.record(sys.name, keySlope, fit.Slope)
			b.record(sys.name, keyIntercept, fit.Intercept)
			b.record(sys.name, keyPssAtMax, float64(res.pss[len(res.pss)-1])/(1<<20))
			mst = append(mst,
				report.Stat{System: sys.name, Metric: fmt.Sprintf("Pss per instance (least-squares slope, R² %.3f)", fit.R2), Unit: "KiB", N: fit.N, Median: fit.Slope},
				report.Stat{System: sys.name, Metric: fmt.Sprintf("total Pss with %d live", n), Unit: "MiB", N: 1, Median: float64(res.pss[len(res.pss)-1]) / (1 << 20)})
			if k := len(res.ks); k >= 2 && res.ks[k-1] > res.ks[k-2] {
				marg := (float64(res.pss[k-1]) - float64(res.pss[k-2])) / float64(res.ks[k-1]-res.ks[k-2]) / 1024
				b.record(sys.name, keyMarginal, marg)
				mst = append(mst, report.Stat{System: sys.name, Metric: fmt.Sprintf("Pss per extra instance from %d to %d live", res.ks[k-2], res.ks[k-1]), Unit: "KiB", N: 2, Median: marg})
			}
			for _, k := range []struct{ key, metric, unit string }{
				{keyTextOnce, "library text resident, each copy once", "KiB"},
				{keyTextMapped, "library text mapped, summed over mappings", "KiB"},
				{keyIdleRSS, "idle daemon RSS (libraries preloaded, pool full)", "MiB"},
				{keyIdlePss, "idle daemon Pss", "MiB"},
				{keyThreads, fmt.Sprintf("daemon threads with %d live", n), "threads"},
				{keyBringUp, fmt.Sprintf("time to bring one more instance up, from %d to %d live", int(b.measured[sys.name][keyBringUpFrom]), n), "ms"},
			} {
				if v, ok := b.value(sys.name, k.key); ok {
					mst = append(mst, report.Stat{System: sys.name, Metric: k.metric, Unit: k.unit, N: 1, Median: v})
				}
			}
		}
	}
	if scale {
		b.addPanel(sp, report.PNGOptions{LogX: true, LogY: true}, sst)
	}
	if memory {
		b.addPanel(mp, report.PNGOptions{LogX: true, LogY: true}, mst)
	}
	return nil
}

// rampOne brings one system's fleet up step by step, measuring at each.
func (b *Bench) rampOne(ctx context.Context, sys rampSystem, scale, memory bool, bar *report.Progress) (res rampResult, err error) {
	f, probe, closeOwner, err := sys.open(ctx)
	if err != nil {
		return res, err
	}
	defer func() {
		if cerr := f.close(); cerr != nil && err == nil {
			err = cerr
		}
		if closeOwner != nil {
			if cerr := closeOwner(); cerr != nil && err == nil {
				err = cerr
			}
		}
	}()
	res.scale.System, res.memory.System = sys.name, sys.name
	prev := 0
	for i, k := range sys.steps {
		bar.Describe(fmt.Sprintf("%s: %d live", sys.name, k))
		t0 := time.Now()
		if err := f.grow(ctx, k); err != nil {
			return res, fmt.Errorf("bringing up %d live instances: %w", k, err)
		}
		grew := time.Since(t0)
		b.log("%s: %d live after %.1f s", sys.name, k, grew.Seconds())
		if i == len(sys.steps)-1 && k > prev {
			b.record(sys.name, keyBringUp, millis(grew)/float64(k-prev))
			b.record(sys.name, keyBringUpFrom, float64(prev))
		}
		prev = k
		bar.Add(1)
		if memory {
			pss, err := f.pss(ctx)
			if err != nil {
				return res, fmt.Errorf("total Pss with %d live: %w", k, err)
			}
			res.ks, res.pss = append(res.ks, k), append(res.pss, pss)
			res.memory.Points = append(res.memory.Points, report.Point{X: float64(k), Y: float64(pss) / (1 << 20), N: 1})
			if cf, ok := f.(interface {
				cgroupMemory(context.Context) (uint64, error)
			}); ok && res.cgroup.System != "-" {
				if m, err := cf.cgroupMemory(ctx); err == nil {
					res.cgroup.System = sys.name + " (cgroup memory)"
					res.cgroup.Points = append(res.cgroup.Points, report.Point{X: float64(k), Y: float64(m) / (1 << 20), N: 1})
				} else {
					b.note(fmt.Sprintf("%s: no cgroup memory: %v", sys.name, err))
					res.cgroup = report.Series{System: "-"}
				}
			}
		} else {
			res.ks = append(res.ks, k)
		}
		if i == len(sys.steps)-1 && sys.name == SysUAAF {
			if d, ok := f.(*uaafFleet); ok {
				if n, err := d.d.Threads(); err == nil {
					b.record(sys.name, keyThreads, float64(n))
				}
			}
		}
		if i == len(sys.steps)-1 && sys.pids != nil && memory {
			text, err := b.libraryText()
			if err != nil {
				return res, err
			}
			u, err := libtext.Measure(sys.pids(f), text)
			if err != nil {
				return res, fmt.Errorf("library text: %w", err)
			}
			b.record(sys.name, keyTextOnce, float64(u.Once)/1024)
			b.record(sys.name, keyTextMapped, float64(u.Mapped)/1024)
		}
		if !scale {
			continue
		}
		// The goal compares p99 at the first and the last step: more
		// samples there (a p99 of 100 is nearly the maximum).
		probes := b.cfg.Probes
		if i == 0 || i == len(sys.steps)-1 {
			probes *= endProbes
		}
		if sys.phases != nil {
			*sys.phases = phaseLog{}
		}
		vals := make([]float64, 0, probes)
		for range probes {
			d, err := probe(ctx)
			if err != nil {
				return res, fmt.Errorf("start probe with %d live: %w", k, err)
			}
			vals = append(vals, millis(d))
			bar.Add(1)
		}
		pt, err := point(float64(k), vals)
		if err != nil {
			return res, err
		}
		res.scale.Points = append(res.scale.Points, pt)
		if i == 0 {
			res.first = vals
		}
		res.last = vals
		if sys.phases != nil && (i == 0 || i == len(sys.steps)-1) {
			b.recordSamples(sys.name, fmt.Sprintf("bind with %d live", k), sys.phases.bind)
			b.recordSamples(sys.name, fmt.Sprintf("boot with %d live", k), sys.phases.boot)
		}
		// The probes' sessions and processes are gone; the fleet must
		// still be whole.
		if err := f.check(ctx); err != nil {
			return res, fmt.Errorf("after probes with %d live: %w", k, err)
		}
		if sys.name == SysUAAF && i == len(sys.steps)-1 && i > 0 {
			if err := b.pairedProbes(ctx, probe, k, bar); err != nil {
				return res, fmt.Errorf("interleaved probes: %w", err)
			}
		}
	}
	return res, nil
}

// pairedProbes measures the start latency with n sessions live against one
// live, interleaved so that whatever else the machine does hits both
// alike: a second daemon is started with one idle session, and probes
// alternate between it and the daemon under test (probe), which has n
// live.
func (b *Bench) pairedProbes(ctx context.Context, probe func(context.Context) (time.Duration, error), n int, bar *report.Progress) error {
	bar.Describe(fmt.Sprintf("uaaf: %d live vs 1, interleaved", n))
	small, err := startDaemon(ctx, b.cfg.UAAF, b.cfg, b.im)
	if err != nil {
		return err
	}
	defer small.Close()
	one := &uaafFleet{d: small}
	defer one.close()
	if err := one.grow(ctx, 1); err != nil {
		return err
	}
	var atN, at1 []float64
	for i := range endProbes * b.cfg.Probes {
		for j := range 2 {
			if (i+j)%2 == 0 {
				d, err := probe(ctx)
				if err != nil {
					return err
				}
				atN = append(atN, millis(d))
			} else {
				s, err := invokeSample(ctx, small.Client, api.Invoke{Image: "demo"}, expectDemo)
				if err != nil {
					return err
				}
				at1 = append(at1, millis(s.first))
			}
		}
		bar.Add(1)
	}
	b.recordSamples(SysUAAF, keyPairedLast, atN)
	b.recordSamples(SysUAAF, keyPaired1, at1)
	return one.check(ctx)
}
