package fig10

import (
	"context"
	"fmt"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/tools/bench/report"
)

// The categories of the startup panel, in order.
var startupCategories = []string{
	"library load (cold)",
	"start → first instruction",
	"start → exit",
	"whole invocation",
	"trivial invocation",
}

const (
	catLibLoad = iota
	catFirst
	catExit
	catWhole
	catTrivial
)

// Keys of Bench.samples (ms) that ratios and checks read.
const (
	keyStartSamples = "start"        // session start: uaaf timings.start; processes: fork → first output
	keyColdRun      = "cold run"     // start → exit: uaaf timings.total; processes: fork → reaped
	keyTrivial      = "trivial"      // a trivial invocation, request → exit status back
	keyLibLoad      = "library load" // the four libraries loaded from disk
)

// startupSystem is one system's cold start in the startup panel: one
// sample of the four-library session (the demo; solo5-hvt, which has no
// library functions, runs the trivial guest), and one of a trivial
// invocation.
type startupSystem struct {
	name string
	run  func(ctx context.Context) (sample, sample, error)
}

// Startup measures panel (a): for each system, Rounds cold starts in
// rotating order — library load, start → first instruction, start → exit,
// the whole invocation, and a trivial invocation — each checked.
func (b *Bench) Startup(ctx context.Context) error {
	var systems []startupSystem
	var libLoads []time.Duration
	if b.has(SysUAAF) {
		if d := b.panelDaemon(ctx); d != nil {
			defer b.closeDaemon(d)
			if v, err := d.Client.Version(ctx); err == nil {
				b.addVersion(SysUAAF, v.Version)
			}
			systems = append(systems, startupSystem{SysUAAF, func(ctx context.Context) (sample, sample, error) {
				s, err := invokeSample(ctx, d.Client, api.Invoke{Image: "demo"}, expectDemo)
				if err != nil {
					return s, s, err
				}
				t, err := invokeSample(ctx, d.Client, api.Invoke{Image: "hello", Args: helloArgs}, expectHello)
				return s, t, err
			}})
			// Library load through the API: the four libraries under
			// fresh names, from disk, then unloaded.
			for r := range b.cfg.Rounds {
				var sum time.Duration
				for _, l := range Libraries {
					name := fmt.Sprintf("bench_ld%d_%s", r, l)
					lib, err := d.Client.LoadLibrary(ctx, api.LoadLibrary{Name: name, Path: b.im.libs[l]})
					if err == nil {
						err = d.Client.UnloadLibrary(ctx, name)
					}
					if err != nil {
						b.fail(SysUAAF, fmt.Errorf("load library %s: %w", name, err))
						break
					}
					sum += time.Duration(lib.LoadNs)
				}
				libLoads = append(libLoads, sum)
			}
		}
	}
	if b.has(SysIsolated) {
		demo := isolatedArgv(b.cfg, b.im, true, []string{"--stats"}, b.im.demo)
		hello := isolatedArgv(b.cfg, b.im, false, nil, b.im.hello, helloArgs...)
		systems = append(systems, startupSystem{SysIsolated, func(ctx context.Context) (sample, sample, error) {
			s, res, err := processSample(ctx, demo, expectDemo)
			if err != nil {
				return s, s, err
			}
			if s.libLoad, err = parseRunStats(res.Stderr); err != nil {
				return s, s, err
			}
			t, _, err := processSample(ctx, hello, expectHello)
			return s, t, err
		}})
	}
	if b.has(SysSolo5) {
		argv := b.solo5.Argv(b.im.hello, helloArgs...)
		systems = append(systems, startupSystem{SysSolo5, func(ctx context.Context) (sample, sample, error) {
			s, _, err := processSample(ctx, argv, expectHello)
			return s, s, err
		}})
	}
	if b.has(SysRunc) {
		systems = append(systems, startupSystem{SysRunc, func(ctx context.Context) (sample, sample, error) {
			r, err := b.runc.RunFirstOutput(ctx, b.fn, expectDemo)
			if err != nil {
				return sample{}, sample{}, err
			}
			s := sample{first: r.FirstOutput, exit: r.Wall, whole: r.Wall}
			return s, s, nil
		}})
	}

	bar := b.progress(b.cfg.Rounds*len(systems), "startup")
	defer bar.Finish()
	samples := map[string][]sample{}
	trivial := map[string][]sample{}
	// One unrecorded run each first: page cache, the daemon's lazy paths.
	for _, s := range systems {
		if _, _, err := s.run(ctx); err != nil {
			b.fail(s.name, err)
		}
	}
	for r := range b.cfg.Rounds {
		for i := range systems {
			s := systems[(r+i)%len(systems)] // rotate who goes first
			if b.failed[s.name] {
				continue
			}
			bar.Describe("startup: " + s.name)
			smp, t, err := s.run(ctx)
			bar.Add(1)
			if err != nil {
				b.fail(s.name, err)
				continue
			}
			samples[s.name] = append(samples[s.name], smp)
			trivial[s.name] = append(trivial[s.name], t)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}

	p := report.Panel{
		Name: "startup", Title: "Cold start, per phase (bar: median, whisker: p99)",
		X: report.Axis{Label: "phase"}, Y: report.Axis{Label: "time from the start request", Unit: "ms"},
		Categories: startupCategories,
	}
	var st []report.Stat
	add := func(series *report.Series, system string, cat int, vals []float64) error {
		if len(vals) == 0 {
			return nil
		}
		pt, err := point(float64(cat), vals)
		if err != nil {
			return err
		}
		series.Points = append(series.Points, pt)
		st = append(st, report.Stat{System: system, Metric: startupCategories[cat], Unit: "ms", N: pt.N, Median: pt.Y, P99: pt.P99})
		return nil
	}
	for _, s := range systems {
		if b.failed[s.name] || len(samples[s.name]) == 0 {
			continue
		}
		ser := report.Series{System: s.name}
		var lib, first, exit, whole, triv []time.Duration
		var bind, boot, run, tail, trivRun, trivTail []time.Duration // uaaf: where the time goes
		for _, x := range samples[s.name] {
			first, exit, whole = append(first, x.first), append(exit, x.exit), append(whole, x.whole)
			bind, boot = append(bind, x.bind), append(boot, x.boot)
			run, tail = append(run, x.run), append(tail, x.whole-x.exit)
			if x.libLoad > 0 {
				lib = append(lib, x.libLoad)
			}
		}
		for _, x := range trivial[s.name] {
			triv, trivRun, trivTail = append(triv, x.whole), append(trivRun, x.run), append(trivTail, x.whole-x.exit)
		}
		if s.name == SysUAAF {
			lib = libLoads
		}
		for _, c := range []struct {
			cat  int
			vals []time.Duration
		}{{catLibLoad, lib}, {catFirst, first}, {catExit, exit}, {catWhole, whole}, {catTrivial, triv}} {
			if err := add(&ser, s.name, c.cat, ms(c.vals)); err != nil {
				return err
			}
		}
		if s.name == SysUAAF {
			// Not plotted: the guest's own run and what the reply waits
			// for after the exit (the session's teardown, HTTP).
			for _, x := range []struct {
				metric string
				vals   []time.Duration
			}{
				{"demo: bind (timings.bind)", bind}, {"demo: boot (timings.boot)", boot},
				{"demo: guest run (timings.run)", run}, {"demo: reply after the exit (round trip − timings.total)", tail},
				{"trivial: guest run (timings.run)", trivRun}, {"trivial: reply after the exit (round trip − timings.total)", trivTail},
			} {
				pt, err := point(0, ms(x.vals))
				if err != nil {
					return err
				}
				st = append(st, report.Stat{System: s.name, Metric: x.metric, Unit: "ms", N: pt.N, Median: pt.Y, P99: pt.P99})
			}
		}
		p.Series = append(p.Series, ser)
		b.recordSamples(s.name, keyStartSamples, ms(first))
		b.recordSamples(s.name, keyColdRun, ms(exit))
		b.recordSamples(s.name, keyTrivial, ms(triv))
		if len(lib) > 0 {
			b.recordSamples(s.name, keyLibLoad, ms(lib))
		}
	}
	p.Notes = []string{
		"uaaf: sessions through `uaaf serve` (client: session/client); start → first instruction is the daemon's timings.start (request accepted → the guest's first instruction), start → exit its timings.total, whole invocation the client's round trip of POST /v1/invoke.",
		"processes (uaaf-isolated, solo5-hvt, runc): start is just before fork; → first instruction is the first byte of the guest's console on a pipe (its runtime prints at boot, so it overstates the first instruction slightly), → exit and whole invocation are fork → reaped.",
		"workloads: uaaf and uaaf-isolated run the demo session (imports base64, sha256, crc32, sort; calls each once); solo5-hvt runs the trivial hello guest (Solo5 has no library functions, so no session image runs under it); runc runs the demo's work as a static Linux binary. The trivial invocation is hello (runc: the same function).",
		"library load: uaaf: the daemon's load_ns of the four libraries loaded through the API from disk (paid once, before any session); uaaf-isolated: `uaaf run --stats` preload time (paid by every process).",
	}
	b.addPanel(p, report.PNGOptions{LogY: true, WidthPx: 1600, HeightPx: 800}, st)

	// Ratios of medians with bootstrap intervals.
	for _, pair := range []struct{ num, den, numKey, denKey, metric string }{
		{SysUAAF, SysSolo5, keyStartSamples, keyColdRun, "uaaf session start vs a cold solo5-hvt run"},
		{SysUAAF, SysIsolated, keyStartSamples, keyStartSamples, "session start"},
		{SysUAAF, SysIsolated, keyColdRun, keyColdRun, "start → exit"},
		{SysUAAF, SysSolo5, keyTrivial, keyTrivial, "trivial invocation"},
		{SysUAAF, SysIsolated, keyTrivial, keyTrivial, "trivial invocation"},
		{SysUAAF, SysRunc, keyTrivial, keyTrivial, "trivial invocation"},
		{SysUAAF, SysIsolated, keyLibLoad, keyLibLoad, "library load (cold)"},
	} {
		a, b2 := b.samples[pair.num][pair.numKey], b.samples[pair.den][pair.denKey]
		if len(a) == 0 || len(b2) == 0 {
			continue
		}
		r, err := ratio("startup", pair.metric, pair.num, pair.den, a, b2)
		if err != nil {
			return err
		}
		b.sum.Ratios = append(b.sum.Ratios, r)
	}
	return nil
}

// addVersion records a system's version once.
func (b *Bench) addVersion(system, v string) {
	for _, x := range b.sum.Versions {
		if x.System == system {
			return
		}
	}
	b.sum.Versions = append(b.sum.Versions, report.Version{System: system, Version: v})
}

// recordSamples keeps samples of a system for ratios and checks.
func (b *Bench) recordSamples(system, key string, vals []float64) {
	if b.samples == nil {
		b.samples = map[string]map[string][]float64{}
	}
	if b.samples[system] == nil {
		b.samples[system] = map[string][]float64{}
	}
	b.samples[system][key] = vals
}
