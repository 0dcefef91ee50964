package replay

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/uaaf/uaaf/tools/bench/report"
	"github.com/uaaf/uaaf/tools/trace"
)

// TraceInfo describes what was replayed, for the summary.
type TraceInfo struct {
	Dir         string   `json:"dir"`
	Day         int      `json:"day"`
	Minutes     string   `json:"minutes"`
	Functions   int      `json:"functions"` // in the trace day
	Apps        int      `json:"apps"`
	Invoked     int      `json:"functions_invoked"` // with an invocation in the window
	Invocations int      `json:"invocations"`
	Speedup     float64  `json:"speedup"`
	Seed        uint64   `json:"seed"`
	Spread      string   `json:"spread"`
	Libraries   string   `json:"libraries"` // per-app or shared
	Mapping     string   `json:"mapping"`   // the mapping file, or "default"
	Images      []string `json:"images"`
	// RequestedRate is the invocations per second of real time asked for.
	RequestedRate float64 `json:"requested_per_s"`
}

// Info describes p.
func (p *Plan) Info() TraceInfo {
	invoked := map[trace.FuncKey]bool{}
	for _, inv := range p.Invocations {
		invoked[inv.Func.Key] = true
	}
	mp := p.Options.MapFile
	if mp == "" {
		mp = "default"
	}
	return TraceInfo{Dir: p.Options.TraceDir, Day: p.Day, Minutes: p.Options.Window.String(), Functions: p.Functions, Apps: p.Apps,
		Invoked: len(invoked), Invocations: len(p.Invocations), Speedup: p.Options.Speedup, Seed: p.Options.Seed,
		Spread: p.Options.Spread.String(), Libraries: p.Options.Tenancy.String(), Mapping: mp, Images: p.Images,
		RequestedRate: p.RequestedRate()}
}

// Comparison is the result of replaying one plan under several policies.
type Comparison struct {
	// Command is the command line that produced it, if known.
	Command  string     `json:"command,omitempty"`
	Trace    TraceInfo  `json:"trace"`
	Policies []Summary  `json:"policies"`
	Notes    []string   `json:"notes,omitempty"`
	Machine  string     `json:"machine,omitempty"`
	Date     time.Time  `json:"date"`
	Slack    float64    `json:"deadline_slack_ms"`
	Queue    string     `json:"queue,omitempty"`
	Extra    []string   `json:"serve_args,omitempty"`
	Runs     []RunFiles `json:"runs"`
}

// RunFiles names the files of one policy's run, relative to the output
// directory.
type RunFiles struct {
	Policy      string `json:"policy"`
	Invocations string `json:"invocations_csv"`
	Functions   string `json:"functions_csv"`
	ServeLog    string `json:"serve_log,omitempty"`
}

// invocationsHeader is the per-invocation CSV's header.
var invocationsHeader = []string{"seq", "minute", "offset_s", "function", "app", "rank", "trigger", "image",
	"due_ms", "lag_ms", "run_ms", "state", "exit_status", "error", "rejected", "cold", "libraries", "cold_libraries",
	"queued_ms", "bind_ms", "boot_ms", "start_ms", "guest_run_ms", "total_ms", "cpu_ms", "e2e_ms", "missed_deadline"}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 3, 64)
}

// WriteInvocations writes run's records as CSV (one row per invocation,
// in due order; times in ms of real time, except minute and offset_s,
// the trace's).
func WriteInvocations(w io.Writer, run *Run) error {
	cw := csv.NewWriter(w)
	cw.Write(invocationsHeader)
	for i := range run.Records {
		r := &run.Records[i]
		inv := r.Inv
		var libs, cold []string
		for _, l := range r.Libraries {
			libs = append(libs, l.Library)
			if !l.Warm {
				cold = append(cold, l.Library)
			}
		}
		t := r.Timings
		cw.Write([]string{strconv.Itoa(inv.Seq), strconv.Itoa(int(inv.Offset/time.Minute) + 1),
			strconv.FormatFloat(inv.Offset.Seconds(), 'f', 3, 64), inv.Func.Key.Function, inv.Func.Key.App,
			strconv.Itoa(inv.Func.Rank), inv.Func.Trigger, inv.Image, ms(inv.Due), ms(r.Lag), ms(inv.Run),
			r.State, strconv.Itoa(r.ExitStatus), r.Err, strconv.FormatBool(r.Rejected), strconv.FormatBool(r.Cold()),
			strings.Join(libs, ";"), strings.Join(cold, ";"),
			ms(time.Duration(t.QueuedNs)), ms(time.Duration(t.BindNs)), ms(time.Duration(t.BootNs)), ms(time.Duration(t.StartNs)),
			ms(time.Duration(t.RunNs)), ms(time.Duration(t.TotalNs)), ms(time.Duration(t.CPUNs)), ms(r.E2E),
			strconv.FormatBool(r.Missed)})
	}
	cw.Flush()
	return cw.Error()
}

// WriteFunctions writes per-function statistics as CSV.
func WriteFunctions(w io.Writer, fs []FunctionStat) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"rank", "function", "app", "invocations", "with_result", "cold", "cold_fraction", "missed_deadlines"})
	for _, f := range fs {
		cw.Write([]string{strconv.Itoa(f.Rank), f.Function, f.App, strconv.Itoa(f.Invocations), strconv.Itoa(f.WithResult),
			strconv.Itoa(f.Cold), strconv.FormatFloat(f.ColdFraction(), 'f', 4, 64), strconv.Itoa(f.Missed)})
	}
	cw.Flush()
	return cw.Error()
}

// writeFile writes what fill writes to path, all or nothing.
func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	err = fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// Markdown renders the comparison as a table with the trace's description.
func (c *Comparison) Markdown() []byte {
	var b bytes.Buffer
	t := c.Trace
	fmt.Fprintf(&b, "# Keep-alive policies on a replayed trace\n\n")
	if c.Command != "" {
		fmt.Fprintf(&b, "`%s`\n\n", c.Command)
	}
	fmt.Fprintf(&b, "Trace %s, day %d, minutes %s: %d functions in %d apps (%d invoked in the window), %d invocations; "+
		"speed-up %g (%.1f invocations/s requested), %s arrivals, seed %d; libraries %s; mapping %s; images %s.\n\n",
		t.Dir, t.Day, t.Minutes, t.Functions, t.Apps, t.Invoked, t.Invocations, t.Speedup, t.RequestedRate, t.Spread, t.Seed,
		t.Libraries, t.Mapping, strings.Join(t.Images, ", "))
	fmt.Fprintf(&b, "Cold start: an invocation that bound a library that had to be loaded; a reload when an earlier invocation had used that "+
		"library already (a library's first use is cold under every policy). Memory-time: the libraries' resident memory × time "+
		"over the window, in GiB·s of the policy clock (trace time when the clock scale is the speed-up). Latencies in ms of real time. "+
		"Deadline: run time + %g ms.\n\n", c.Slack)
	b.WriteString("| policy | invocations | cold-start fraction | of which reloads | cold library uses | per-function cold p50 / p90 | memory-time (GiB·s) | mean resident (MiB) | library loads | " +
		"queued p50 / p99 / p99.9 | start p50 / p99 / p99.9 | e2e p50 / p99 / p99.9 | missed deadlines | failed / rejected | requested / achieved per s | fell behind |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	lat := func(l Latency) string { return fmt.Sprintf("%.2f / %.2f / %.2f", l.P50, l.P99, l.P999) }
	for _, s := range c.Policies {
		behind := "no"
		if s.FellBehind {
			behind = fmt.Sprintf("**yes** (lag p99 %.0f ms)", s.Lag.P99)
		}
		fmt.Fprintf(&b, "| `%s` | %d | %.4f | %.4f | %d of %d | %.3f / %.3f | %.3f | %.2f | %d | %s | %s | %s | %d | %d / %d | %.2f / %.2f | %s |\n",
			s.Policy, s.Invocations, s.ColdStartFraction, s.ReloadColdFraction, s.ColdLibraryUses, s.LibraryUses, s.FunctionCold.P50, s.FunctionCold.P90,
			s.MemoryTime, s.MeanResidentMiB, s.Loads, lat(s.Queued), lat(s.Start), lat(s.E2E), s.MissedDeadlines, s.Failed, s.Rejected,
			s.RequestedRate, s.AchievedRate, behind)
	}
	for _, n := range c.Notes {
		fmt.Fprintf(&b, "\n%s\n", n)
	}
	if c.Machine != "" {
		fmt.Fprintf(&b, "\nMachine: %s. Date: %s.\n", c.Machine, c.Date.Format("2006-01-02"))
	}
	return b.Bytes()
}

// Panel is the comparison's plot: one point per policy, cold-start
// fraction over memory-time.
func (c *Comparison) Panel() report.Panel {
	p := report.Panel{Name: "policies", Title: "Keep-alive policies: cold starts vs library memory",
		X: report.Axis{Label: "library memory-time", Unit: "GiB·s of trace time"},
		Y: report.Axis{Label: "cold-start fraction of invocations"}}
	for _, s := range c.Policies {
		p.Series = append(p.Series, report.Series{System: s.Policy, Points: []report.Point{{X: s.MemoryTime, Y: s.ColdStartFraction, N: s.Invocations}}})
	}
	return p
}

// WriteComparison writes dir/summary.json, dir/summary.md and
// dir/policies.png.
func WriteComparison(dir string, c *Comparison) error {
	j, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "summary.json"), func(w io.Writer) error { _, err := w.Write(append(j, '\n')); return err }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "summary.md"), func(w io.Writer) error { _, err := w.Write(c.Markdown()); return err }); err != nil {
		return err
	}
	if _, err := report.WritePNG(dir, c.Panel(), report.PNGOptions{}); err != nil {
		return err
	}
	return nil
}
