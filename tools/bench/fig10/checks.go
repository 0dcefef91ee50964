package fig10

import (
	"fmt"
	"strings"

	"github.com/uaaf/uaaf/tools/bench/report"
	"github.com/uaaf/uaaf/tools/bench/stats"
)

// The issues whose goals the summary evaluates.
const (
	issue9  = "issue 9"
	issue11 = "issue 11"
	issues  = "issues 9, 11"
)

// goalN is the number of live instances the goals are stated at.
const goalN = 1000

// checks evaluates the issues' goals on what was measured; a goal whose
// inputs are missing (a baseline skipped or failed, a panel not run) says
// so instead of a value.
func (b *Bench) checks() []report.Check {
	var out []report.Check
	add := func(c report.Check) { out = append(out, c.Evaluate()) }

	med := func(sys, key string) (float64, int, bool) {
		xs := b.samples[sys][key]
		if len(xs) == 0 {
			return 0, 0, false
		}
		m, err := stats.Median(xs)
		return m, len(xs), err == nil
	}
	p99 := func(sys, key string) (float64, int, bool) {
		xs := b.samples[sys][key]
		if len(xs) == 0 {
			return 0, 0, false
		}
		m, err := stats.Percentile(xs, 0.99)
		return m, len(xs), err == nil
	}
	why := func(sys, what string) string {
		switch {
		case b.failed[sys]:
			return sys + " failed"
		case b.skipped[sys]:
			return sys + " skipped"
		}
		return what + " not measured"
	}

	// The cold baseline of issue 9: solo5-hvt, or where none is given a
	// cold `uaaf run` of the same trivial image. A solo5-hvt that was
	// given but failed leaves the goal unevaluated.
	given := b.solo5 != nil
	coldSys, coldKey, coldWhat := SysSolo5, keyColdRun, "a cold solo5-hvt run of hello"
	if !given {
		coldSys, coldKey, coldWhat = SysIsolated, keyTrivial, "a cold `uaaf run` of hello (no solo5-hvt)"
	}
	cold, coldN, coldOK := med(coldSys, coldKey)

	// Session start against cold runs.
	start, startN, startOK := med(SysUAAF, keyStartSamples)
	start99, _, _ := p99(SysUAAF, keyStartSamples)
	solo, soloN, soloOK := med(SysSolo5, keyColdRun)
	c := report.Check{Goal: "p50 session start ≤ 0.02× a cold solo5-hvt run", Source: issue11, Op: report.AtMost, Limit: 0.02, Unit: "×"}
	switch {
	case !startOK:
		c.Missing = why(SysUAAF, "startup")
	case !soloOK:
		c.Missing = why(SysSolo5, "startup")
	default:
		c.Value = start / solo
		c.Basis = fmt.Sprintf("uaaf timings.start p50 %.3f ms (n=%d) / solo5-hvt hello fork→exit median %.3f ms (n=%d)", start, startN, solo, soloN)
	}
	add(c)

	iso, isoN, isoOK := med(SysIsolated, keyStartSamples)
	c = report.Check{Goal: "p50 session start ≤ 0.1× uaaf isolated", Source: issue11, Op: report.AtMost, Limit: 0.1, Unit: "×"}
	switch {
	case !startOK:
		c.Missing = why(SysUAAF, "startup")
	case !isoOK:
		c.Missing = why(SysIsolated, "startup")
	default:
		c.Value = start / iso
		c.Basis = fmt.Sprintf("uaaf p50 %.3f ms / uaaf-isolated (cold `uaaf run --lib ×4 demo`, fork → first output) p50 %.3f ms (n=%d)", start, iso, isoN)
	}
	add(c)

	for _, g := range []struct {
		stat  string
		v     float64
		limit float64
	}{{"p50", start, 0.02}, {"p99", start99, 0.05}} {
		c = report.Check{Goal: fmt.Sprintf("API start %s ≤ %g× %s", g.stat, g.limit, coldWhat), Source: issue9, Op: report.AtMost, Limit: g.limit, Unit: "×"}
		switch {
		case !startOK:
			c.Missing = why(SysUAAF, "startup")
		case !coldOK:
			c.Missing = why(coldSys, "startup")
		default:
			c.Value = g.v / cold
			c.Basis = fmt.Sprintf("uaaf timings.start %s %.3f ms (n=%d) / %.3f ms (median, n=%d)", g.stat, g.v, startN, cold, coldN)
		}
		add(c)
	}

	triv, trivN, trivOK := med(SysUAAF, keyTrivial)
	c = report.Check{Goal: "trivial invocation, request → exit status back, ≤ 0.1× " + coldWhat, Source: issue9, Op: report.AtMost, Limit: 0.1, Unit: "×"}
	switch {
	case !trivOK:
		c.Missing = why(SysUAAF, "startup")
	case !coldOK:
		c.Missing = why(coldSys, "startup")
	default:
		c.Value = triv / cold
		c.Basis = fmt.Sprintf("uaaf invoke hello, client round trip, median %.3f ms (n=%d) / %.3f ms (n=%d)", triv, trivN, cold, coldN)
	}
	add(c)

	// Flat under load.
	c = report.Check{Op: report.AtMost, Limit: 1.5, Unit: "×", Source: issues}
	first99, n1, ok1 := p99(SysUAAF, keyScaleFirst)
	last99, nN, ok2 := p99(SysUAAF, keyScaleLast)
	maxN, _ := b.value(SysUAAF, keyScaleMaxN)
	c.Goal = fmt.Sprintf("p99 start with %d live ≤ 1.5× p99 with 1 live", goalN)
	if int(maxN) != goalN && ok2 {
		c.Goal = fmt.Sprintf("p99 start with %d live ≤ 1.5× p99 with 1 live (the goal is stated at %d)", int(maxN), goalN)
	}
	if !ok1 || !ok2 || first99 <= 0 {
		c.Missing = why(SysUAAF, "scale")
	} else {
		c.Value = last99 / first99
		c.Basis = fmt.Sprintf("ramp (the two measured minutes apart): uaaf timings.start p99 %.3f ms (n=%d) / %.3f ms (n=%d)", last99, nN, first99, n1)
	}
	add(c)
	pl99, nl, okl := p99(SysUAAF, keyPairedLast)
	p199, np1, ok1i := p99(SysUAAF, keyPaired1)
	c2 := c
	c2.Goal = strings.Replace(c.Goal, "with 1 live", "with 1 live, interleaved", 1)
	c2.Value, c2.Basis, c2.Missing = 0, "", ""
	if !okl || !ok1i || p199 <= 0 {
		c2.Missing = why(SysUAAF, "scale")
	} else {
		c2.Value = pl99 / p199
		c2.Basis = fmt.Sprintf("probes alternating between the daemon with %d live and a second daemon with 1 live: p99 %.3f ms (n=%d) / %.3f ms (n=%d)", int(maxN), pl99, nl, p199, np1)
	}
	add(c2)

	// Memory at the largest N: uaaf against the process baselines there.
	uN, uOK := b.value(SysUAAF, keyMaxN)
	uPss, uPssOK := b.value(SysUAAF, keyPssAtMax)
	for _, g := range []struct {
		sys, goal string
		op        string
		limit     float64
		source    string
	}{
		{SysIsolated, "total Pss with %d live ≤ 0.3× uaaf isolated", report.AtMost, 0.3, issue11},
		{SysSolo5, "total Pss with %d live below solo5-hvt processes", report.Below, 1, issue11},
	} {
		c = report.Check{Goal: fmt.Sprintf(g.goal, int(uN)), Source: g.source, Op: g.op, Limit: g.limit, Unit: "×"}
		if !uOK || !uPssOK {
			c.Missing = why(SysUAAF, "memory")
			c.Goal = fmt.Sprintf(g.goal, goalN)
			add(c)
			continue
		}
		other, how, ok := b.pssAt(g.sys, int(uN))
		if !ok {
			c.Missing = why(g.sys, "memory")
			add(c)
			continue
		}
		c.Value = uPss / other
		c.Basis = fmt.Sprintf("uaaf %.1f MiB / %s %.1f MiB (%s)", uPss, g.sys, other, how)
		add(c)
	}

	marg, mOK := b.value(SysUAAF, keyMarginal)
	c = report.Check{Goal: fmt.Sprintf("Pss per extra live session at N = %d (4 shared libraries) ≤ 128 KiB", int(uN)), Source: issue9, Op: report.AtMost, Limit: 128, Unit: "KiB"}
	if !mOK {
		c.Goal = fmt.Sprintf("Pss per extra live session at N = %d (4 shared libraries) ≤ 128 KiB", goalN)
		c.Missing = why(SysUAAF, "memory")
	} else {
		c.Value = marg
		slope, _ := b.value(SysUAAF, keySlope)
		c.Basis = fmt.Sprintf("difference of the daemon's Pss between the last two steps; least-squares slope over all steps %.1f KiB", slope)
	}
	add(c)

	rss, rOK := b.value(SysUAAF, keyIdleRSS)
	c = report.Check{Goal: "idle daemon RSS ≤ 32 MiB", Source: issue9, Op: report.AtMost, Limit: 32, Unit: "MiB"}
	if !rOK {
		c.Missing = why(SysUAAF, "memory")
	} else {
		c.Value = rss
		c.Basis = "VmRSS-equivalent (smaps_rollup Rss) of `uaaf serve` with 4 libraries preloaded, 3 images registered and its warm pool full"
	}
	add(c)

	// Throughput against processes run back to back.
	thrSys := coldSys // solo5-hvt, or uaaf-isolated where none is given
	c = report.Check{Goal: "trivial invocations/s ≥ 10× " + thrSys + " processes run back to back", Source: issue9, Op: report.AtLeast, Limit: 10, Unit: "×"}
	u, uok := b.value(SysUAAF, keyRateBest)
	o, ook := b.value(thrSys, keyRate1)
	switch {
	case !uok:
		c.Missing = why(SysUAAF, "throughput")
	case !ook:
		c.Missing = why(thrSys, "throughput")
	default:
		cl, _ := b.value(SysUAAF, keyRateBestC)
		c.Value = u / o
		c.Basis = fmt.Sprintf("uaaf %.0f inv/s (%s) / %s %.0f inv/s (1 client)", u, clientsText(int(cl)), thrSys, o)
	}
	add(c)
	return out
}

// pssAt returns a system's total Pss (MiB) with n instances live: measured
// when its ramp reached n, else from its least-squares line (said so).
func (b *Bench) pssAt(sys string, n int) (mib float64, how string, ok bool) {
	maxN, ok1 := b.value(sys, keyMaxN)
	pss, ok2 := b.value(sys, keyPssAtMax)
	if !ok1 || !ok2 {
		return 0, "", false
	}
	if int(maxN) == n {
		return pss, fmt.Sprintf("measured with %d live", n), true
	}
	slope, ok3 := b.value(sys, keySlope)
	icpt, ok4 := b.value(sys, keyIntercept)
	if !ok3 || !ok4 {
		return 0, "", false
	}
	v := (icpt + slope*float64(n)) / 1024
	return v, fmt.Sprintf("extrapolated to %d live from its line over 1..%d live: %.1f KiB + %.1f KiB per instance", n, int(maxN), icpt, slope), true
}
