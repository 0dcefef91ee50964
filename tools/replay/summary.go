package replay

import (
	"slices"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/sched"
	"github.com/uaaf/uaaf/tools/bench/stats"
	"github.com/uaaf/uaaf/tools/trace"
)

// BehindLag is the send lag at the 99th percentile beyond which a replay
// is reported as having fallen behind the trace.
const BehindLag = 50 * time.Millisecond

// Latency is the p50, p99 and p99.9 of a set of durations, in
// milliseconds; N samples (all zero when N is 0).
type Latency struct {
	N    int     `json:"n"`
	P50  float64 `json:"p50_ms"`
	P99  float64 `json:"p99_ms"`
	P999 float64 `json:"p99_9_ms"`
	Max  float64 `json:"max_ms"`
}

// latency summarises ds.
func latency(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	ms := make([]float64, len(ds))
	for i, d := range ds {
		ms[i] = float64(d) / float64(time.Millisecond)
	}
	q := func(p float64) float64 { v, _ := stats.Percentile(ms, p); return v }
	return Latency{N: len(ds), P50: q(0.5), P99: q(0.99), P999: q(0.999), Max: q(1)}
}

// Fractions are percentiles of per-function fractions.
type Fractions struct {
	N   int     `json:"functions"`
	P50 float64 `json:"p50"`
	P75 float64 `json:"p75"`
	P90 float64 `json:"p90"`
	P99 float64 `json:"p99"`
}

// FunctionStat is one function's invocations in a run.
type FunctionStat struct {
	Function    string `json:"function"` // HashFunction
	App         string `json:"app"`      // HashApp
	Rank        int    `json:"rank"`     // 1 = the day's most invoked
	Invocations int    `json:"invocations"`
	WithResult  int    `json:"with_result"` // that bound their libraries
	Cold        int    `json:"cold"`        // of those, with a library loaded for them
	Missed      int    `json:"missed_deadlines"`
}

// ColdFraction is Cold / WithResult (0 with no result).
func (f FunctionStat) ColdFraction() float64 {
	if f.WithResult == 0 {
		return 0
	}
	return float64(f.Cold) / float64(f.WithResult)
}

// Summary is what one policy's replay came to.
type Summary struct {
	Policy string `json:"policy"`
	// Invocations the plan asked for; Completed exited 0; Rejected got
	// 429; Failed are the rest (a request error, a fault, a non-zero exit).
	Invocations int `json:"invocations"`
	Completed   int `json:"completed"`
	Rejected    int `json:"rejected"`
	Failed      int `json:"failed"`
	// ColdStarts counts invocations with a result that bound a library
	// that had to be loaded; ColdStartFraction is ColdStarts over the
	// invocations with a result.
	ColdStarts        int     `json:"cold_starts"`
	ColdStartFraction float64 `json:"cold_start_fraction"`
	// ReloadColdStarts counts the cold starts caused by a library an
	// earlier invocation of the run had used already: it had been loaded
	// and was unloaded since (or was still loading). A library's first use
	// in a run is cold under every policy; these are the cold starts a
	// keep-alive policy could have avoided. ReloadColdFraction is over the
	// invocations with a result.
	ReloadColdStarts   int     `json:"reload_cold_starts"`
	ReloadColdFraction float64 `json:"reload_cold_fraction"`
	// LibraryUses counts (invocation, library) bindings; ColdLibraryUses
	// those that were cold.
	LibraryUses     int `json:"library_uses"`
	ColdLibraryUses int `json:"cold_library_uses"`
	// FunctionCold are percentiles over functions of their cold-start
	// fraction (functions with at least one result).
	FunctionCold Fractions `json:"function_cold_fraction"`
	// MemoryTime is the libraries' memory-time within the window, GiB·s of
	// the daemon's policy clock (trace time when ClockScale is the
	// speed-up); MeanResidentMiB is it over the window's length.
	MemoryTime      float64 `json:"memory_time_gib_s"`
	MeanResidentMiB float64 `json:"mean_resident_mib"`
	// Loads counts library loads that began in the window (pre-warms
	// included); Libraries the libraries resident at some time in it.
	Loads     int `json:"library_loads"`
	Libraries int `json:"libraries_resident"`
	// MissedDeadlines counts invocations without a successful result within
	// their run time plus the slack.
	MissedDeadlines int `json:"missed_deadlines"`
	// Latencies of the invocations with a result, real time: queueing for
	// admission, start (request accepted → first guest instruction), end
	// to end as the replayer saw it (sent → response); Lag is how late
	// invocations were sent (all of them).
	Queued Latency `json:"queued"`
	Start  Latency `json:"start"`
	E2E    Latency `json:"e2e"`
	Lag    Latency `json:"send_lag"`
	// RequestedRate is the plan's invocations per second of real time;
	// AchievedRate the rate at which they were sent (lower when the
	// replayer fell behind); CompletedRate completions per second from the
	// start to the last response.
	RequestedRate float64 `json:"requested_per_s"`
	AchievedRate  float64 `json:"achieved_per_s"`
	CompletedRate float64 `json:"completed_per_s"`
	// FellBehind: the 99th percentile send lag exceeded BehindLag, or the
	// invocations were sent at less than 99 % of the requested rate.
	FellBehind bool `json:"fell_behind"`
	// WallSeconds is the replay's length in real time; ClockScale the
	// daemon's policy clock rate.
	WallSeconds float64 `json:"wall_s"`
	ClockScale  float64 `json:"clock_scale"`
}

// Summarize reduces run, a replay of p, to its Summary and per-function
// statistics (sorted by rank).
func Summarize(p *Plan, run *Run) (Summary, []FunctionStat) {
	s := Summary{Policy: run.Policy, Invocations: len(run.Records), ClockScale: run.ClockScale,
		RequestedRate: p.RequestedRate(), WallSeconds: run.End.Sub(run.Start).Seconds()}
	var queued, start, e2e, lag []time.Duration
	funcs := map[trace.FuncKey]*FunctionStat{}
	used := map[string]bool{} // libraries an earlier invocation bound
	withResult := 0
	for i := range run.Records {
		r := &run.Records[i]
		f := funcs[r.Inv.Func.Key]
		if f == nil {
			f = &FunctionStat{Function: r.Inv.Func.Key.Function, App: r.Inv.Func.Key.App, Rank: r.Inv.Func.Rank}
			funcs[r.Inv.Func.Key] = f
		}
		f.Invocations++
		lag = append(lag, r.Lag)
		switch {
		case r.OK():
			s.Completed++
		case r.Rejected:
			s.Rejected++
		default:
			s.Failed++
		}
		if r.Missed {
			s.MissedDeadlines++
			f.Missed++
		}
		if r.State == "" {
			continue
		}
		withResult++
		f.WithResult++
		if r.Cold() {
			s.ColdStarts++
			f.Cold++
		}
		reload := false
		for _, l := range r.Libraries {
			reload = reload || (!l.Warm && used[l.Library])
		}
		for _, l := range r.Libraries {
			used[l.Library] = true
		}
		if reload {
			s.ReloadColdStarts++
		}
		s.LibraryUses += len(r.Libraries)
		for _, l := range r.Libraries {
			if !l.Warm {
				s.ColdLibraryUses++
			}
		}
		queued = append(queued, time.Duration(r.Timings.QueuedNs))
		start = append(start, time.Duration(r.Timings.StartNs))
		e2e = append(e2e, r.E2E)
	}
	if withResult > 0 {
		s.ColdStartFraction = float64(s.ColdStarts) / float64(withResult)
		s.ReloadColdFraction = float64(s.ReloadColdStarts) / float64(withResult)
	}
	s.Queued, s.Start, s.E2E, s.Lag = latency(queued), latency(start), latency(e2e), latency(lag)

	fs := make([]FunctionStat, 0, len(funcs))
	var fracs []float64
	for _, f := range funcs {
		fs = append(fs, *f)
		if f.WithResult > 0 {
			fracs = append(fracs, f.ColdFraction())
		}
	}
	slices.SortFunc(fs, func(a, b FunctionStat) int { return a.Rank - b.Rank })
	if len(fracs) > 0 {
		q := func(p float64) float64 { v, _ := stats.Percentile(fracs, p); return v }
		s.FunctionCold = Fractions{N: len(fracs), P50: q(0.5), P75: q(0.75), P90: q(0.9), P99: q(0.99)}
	}

	s.MemoryTime, s.Loads, s.Libraries = MemoryTime(run.Residency, run.From, run.To)
	if w := run.To.Sub(run.From).Seconds(); w > 0 {
		s.MeanResidentMiB = s.MemoryTime / w * 1024
	}
	wall := p.WallDuration()
	if len(run.Records) > 0 {
		sent := max(wall, run.LastSent.Sub(run.Start))
		s.AchievedRate = float64(len(run.Records)) / sent.Seconds()
		if d := run.End.Sub(run.Start).Seconds(); d > 0 {
			s.CompletedRate = float64(s.Completed) / d
		}
	}
	s.FellBehind = time.Duration(s.Lag.P99*float64(time.Millisecond)) > BehindLag || s.AchievedRate < 0.99*s.RequestedRate
	return s, fs
}

// gib is bytes per GiB.
const gib = 1 << 30

// MemoryTime returns, over the window [from, to) of the residency's clock,
// the libraries' memory-time in GiB·s (intervals still open count up to
// to), how many loads began in the window and how many libraries were
// resident at some time in it.
func MemoryTime(res api.Residency, from, to time.Time) (gibs float64, loads, libraries int) {
	for _, l := range res.Libraries {
		seen := false
		for _, iv := range l.Intervals {
			if !iv.Load.Before(from) && iv.Load.Before(to) {
				loads++
			}
			if d := sched.Interval(iv).Overlap(from, to); d > 0 {
				seen = true
				gibs += d.Seconds() * float64(iv.Bytes) / gib
			}
		}
		if seen {
			libraries++
		}
	}
	return gibs, loads, libraries
}
