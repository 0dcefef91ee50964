package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/uaaf/uaaf/tools/bench/stats"
)

// Version is the version string of one system, as its caller obtained it
// (e.g. `solo5-hvt --version`, `runc --version`, uaaf's build version).
type Version struct {
	System  string `json:"system"`
	Version string `json:"version"`
}

// Stat is one headline number of a panel for one system: the median and,
// where measured, the 99th percentile of a metric ("whole invocation",
// "start at 1000 live", "Pss per instance").
type Stat struct {
	System string  `json:"system"`
	Metric string  `json:"metric"`
	Unit   string  `json:"unit"`
	N      int     `json:"n"`             // samples behind Median
	Median float64 `json:"median"`        // in Unit
	P99    float64 `json:"p99,omitempty"` // in Unit; 0 when not measured
}

// PanelStats holds the headline numbers of one panel.
type PanelStats struct {
	Panel string `json:"panel"`
	Stats []Stat `json:"stats"`
}

// Ratio compares two systems (or two conditions of one) on one metric:
// Value = Numerator's Stat / Denominator's Stat. CI, when set, is the
// bootstrap interval of the same ratio (CI.Ratio == Value).
type Ratio struct {
	Panel       string `json:"panel"`
	Metric      string `json:"metric"`
	Numerator   string `json:"numerator"`
	Denominator string `json:"denominator"`
	// Stat is the statistic compared: "" means the medians; else e.g.
	// "p99", "fit slope".
	Stat  string         `json:"stat,omitempty"`
	Value float64        `json:"value"`
	CI    *stats.RatioCI `json:"ci,omitempty"`
}

// Check operators.
const (
	AtMost  = "<="
	Below   = "<"
	AtLeast = ">="
)

// Check is one stated goal evaluated on the run: met when Value Op Limit.
type Check struct {
	// Goal says what is required, e.g. "p50 session start ≤ 0.02× a cold
	// solo5-hvt run".
	Goal string `json:"goal"`
	// Source is where the goal comes from, e.g. "issue 11".
	Source string  `json:"source"`
	Value  float64 `json:"value"`
	Op     string  `json:"op"` // AtMost, Below or AtLeast
	Limit  float64 `json:"limit"`
	// Unit is that of Value and Limit: "×" for a ratio, "KiB", "MiB", ….
	Unit string `json:"unit"`
	// Basis gives the numbers behind Value (numerator and denominator,
	// with their units and sample counts) and anything estimated.
	Basis string `json:"basis"`
	Met   bool   `json:"met"`
	// Missing, when set, says why the goal could not be evaluated (a
	// baseline skipped or failed, a panel not run); Value is then 0 and
	// Met false.
	Missing string `json:"missing,omitempty"`
}

// Evaluate sets c.Met from Value, Op and Limit (false when Missing is set).
func (c Check) Evaluate() Check {
	switch {
	case c.Missing != "":
		c.Met = false
	case c.Op == AtMost:
		c.Met = c.Value <= c.Limit
	case c.Op == Below:
		c.Met = c.Value < c.Limit
	case c.Op == AtLeast:
		c.Met = c.Value >= c.Limit
	default:
		c.Met = false
	}
	return c
}

// Skipped is a system that was not measured, and why (not installed, not
// asked for, cannot run on this machine).
type Skipped struct {
	System string `json:"system"`
	Reason string `json:"reason"`
}

// Failed is a system whose runs failed (wrong exit status or output); its
// numbers are absent, never partial.
type Failed struct {
	System string `json:"system"`
	Error  string `json:"error"`
}

// Summary is everything one benchmark run reports besides the per-panel
// CSVs and PNGs: written as summary.json (this struct) and summary.md.
type Summary struct {
	Title     string       `json:"title"`     // e.g. "uaaf bench fig10"
	Generated time.Time    `json:"generated"` // when the run finished
	Machine   Machine      `json:"machine"`
	Versions  []Version    `json:"versions"`
	Panels    []PanelStats `json:"panels"`
	Ratios    []Ratio      `json:"ratios"`
	Checks    []Check      `json:"checks"`
	Skipped   []Skipped    `json:"skipped"`
	Failed    []Failed     `json:"failed"`
	Notes     []string     `json:"notes"`
}

// normalized returns s with nil lists made empty, so the JSON always has
// arrays, never null.
func (s Summary) normalized() Summary {
	if s.Versions == nil {
		s.Versions = []Version{}
	}
	if s.Panels == nil {
		s.Panels = []PanelStats{}
	}
	for i := range s.Panels {
		if s.Panels[i].Stats == nil {
			s.Panels[i].Stats = []Stat{}
		}
	}
	if s.Ratios == nil {
		s.Ratios = []Ratio{}
	}
	if s.Checks == nil {
		s.Checks = []Check{}
	}
	if s.Skipped == nil {
		s.Skipped = []Skipped{}
	}
	if s.Failed == nil {
		s.Failed = []Failed{}
	}
	if s.Notes == nil {
		s.Notes = []string{}
	}
	return s
}

// validate checks that every number is finite (JSON has no NaN).
func (s Summary) validate() error {
	finite := func(what string, vs ...float64) error {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%w: summary %s: non-finite value %v", ErrInvalid, what, v)
			}
		}
		return nil
	}
	for _, p := range s.Panels {
		for _, st := range p.Stats {
			if err := finite(p.Panel+"/"+st.System+"/"+st.Metric, st.Median, st.P99); err != nil {
				return err
			}
		}
	}
	for _, r := range s.Ratios {
		vs := []float64{r.Value}
		if r.CI != nil {
			vs = append(vs, r.CI.Ratio, r.CI.Lo, r.CI.Hi, r.CI.Level)
		}
		if err := finite("ratio "+r.Numerator+"/"+r.Denominator, vs...); err != nil {
			return err
		}
	}
	for _, c := range s.Checks {
		if err := finite("check "+c.Goal, c.Value, c.Limit); err != nil {
			return err
		}
		if c.Op != AtMost && c.Op != Below && c.Op != AtLeast {
			return fmt.Errorf("%w: check %q: operator %q", ErrInvalid, c.Goal, c.Op)
		}
		if c.Met != c.Evaluate().Met {
			return fmt.Errorf("%w: check %q: met=%v disagrees with %v %s %v", ErrInvalid, c.Goal, c.Met, c.Value, c.Op, c.Limit)
		}
	}
	return nil
}

// EncodeSummaryJSON returns s as indented JSON with a final newline; empty
// lists are [] rather than null.
func EncodeSummaryJSON(s Summary) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(s.normalized(), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return append(b, '\n'), nil
}

// EncodeSummaryMarkdown returns s as a readable Markdown report: machine,
// versions, one table per panel, ratios, skipped and failed systems, notes.
func EncodeSummaryMarkdown(s Summary) ([]byte, error) {
	if err := s.validate(); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	title := s.Title
	if title == "" {
		title = "benchmark summary"
	}
	fmt.Fprintf(&b, "# %s\n\n", mdText(title))
	if !s.Generated.IsZero() {
		fmt.Fprintf(&b, "Generated %s.\n\n", s.Generated.UTC().Format(time.RFC3339))
	}

	m := s.Machine
	b.WriteString("## Machine\n\n")
	table(&b, []string{"", ""}, [][]string{
		{"CPU", fmt.Sprintf("%s (%d logical CPUs)", orDash(m.CPUModel), m.Cores)},
		{"Memory", humanBytes(m.MemoryBytes)},
		{"Kernel", orDash(m.Kernel)},
		{"KVM", fmt.Sprintf("%s (%s)", orDash(m.KVM), orDash(m.KVMEvidence))},
	})

	if len(s.Versions) > 0 {
		b.WriteString("## Versions\n\n")
		rows := make([][]string, len(s.Versions))
		for i, v := range s.Versions {
			rows[i] = []string{v.System, v.Version}
		}
		table(&b, []string{"system", "version"}, rows)
	}

	for _, p := range s.Panels {
		fmt.Fprintf(&b, "## %s\n\n", mdText(p.Panel))
		if len(p.Stats) == 0 {
			b.WriteString("No measurements.\n\n")
			continue
		}
		rows := make([][]string, len(p.Stats))
		for i, st := range p.Stats {
			p99 := "—"
			if st.P99 != 0 {
				p99 = fmtNum(st.P99)
			}
			rows[i] = []string{st.System, st.Metric, fmtNum(st.Median), p99, st.Unit, strconv.Itoa(st.N)}
		}
		table(&b, []string{"system", "metric", "median", "p99", "unit", "n"}, rows)
	}

	if len(s.Ratios) > 0 {
		b.WriteString("## Ratios\n\n")
		rows := make([][]string, len(s.Ratios))
		for i, r := range s.Ratios {
			ci := "—"
			if r.CI != nil {
				ci = fmt.Sprintf("[%s, %s] (%g%%, %d resamples)", fmtNum(r.CI.Lo), fmtNum(r.CI.Hi), r.CI.Level*100, r.CI.Resamples)
			}
			stat := r.Stat
			if stat == "" {
				stat = "median"
			}
			rows[i] = []string{r.Panel, r.Metric, r.Numerator + " / " + r.Denominator, stat, fmtNum(r.Value) + "×", ci}
		}
		table(&b, []string{"panel", "metric", "ratio", "of", "value", "confidence interval"}, rows)
	}

	if len(s.Checks) > 0 {
		b.WriteString("## Goals\n\n")
		rows := make([][]string, len(s.Checks))
		for i, c := range s.Checks {
			value, verdict := fmtNum(c.Value)+" "+c.Unit, "not met"
			switch {
			case c.Missing != "":
				value, verdict = "—", "not evaluated: "+c.Missing
			case c.Met:
				verdict = "met"
			}
			rows[i] = []string{c.Source, c.Goal, value, c.Op + " " + fmtNum(c.Limit) + " " + c.Unit, verdict, c.Basis}
		}
		table(&b, []string{"source", "goal", "measured", "required", "verdict", "basis"}, rows)
	}

	b.WriteString("## Skipped\n\n")
	if len(s.Skipped) == 0 {
		b.WriteString("None.\n\n")
	} else {
		rows := make([][]string, len(s.Skipped))
		for i, k := range s.Skipped {
			rows[i] = []string{k.System, k.Reason}
		}
		table(&b, []string{"system", "reason"}, rows)
	}
	b.WriteString("## Failed\n\n")
	if len(s.Failed) == 0 {
		b.WriteString("None.\n\n")
	} else {
		rows := make([][]string, len(s.Failed))
		for i, f := range s.Failed {
			rows[i] = []string{f.System, f.Error}
		}
		table(&b, []string{"system", "error"}, rows)
	}

	if len(s.Notes) > 0 {
		b.WriteString("## Notes\n\n")
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "- %s\n", mdText(n))
		}
		b.WriteString("\n")
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// WriteSummary writes dir/summary.json and dir/summary.md (mode 0644,
// replacing old files) and returns their paths.
func WriteSummary(dir string, s Summary) (jsonPath, mdPath string, err error) {
	j, err := EncodeSummaryJSON(s)
	if err != nil {
		return "", "", err
	}
	md, err := EncodeSummaryMarkdown(s)
	if err != nil {
		return "", "", err
	}
	jsonPath, mdPath = filepath.Join(dir, "summary.json"), filepath.Join(dir, "summary.md")
	if err := os.WriteFile(jsonPath, j, 0o644); err != nil {
		return "", "", fmt.Errorf("report: %w", err)
	}
	if err := os.WriteFile(mdPath, append(md, '\n'), 0o644); err != nil {
		return "", "", fmt.Errorf("report: %w", err)
	}
	return jsonPath, mdPath, nil
}

// table writes a Markdown table.
func table(b *bytes.Buffer, head []string, rows [][]string) {
	row := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + mdCell(c) + " |")
		}
		b.WriteString("\n")
	}
	row(head)
	b.WriteString(strings.Repeat("|---", len(head)) + "|\n")
	for _, r := range rows {
		row(r)
	}
	b.WriteString("\n")
}

// mdCell makes s safe inside a table cell: one line, pipes escaped.
func mdCell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// mdText makes s one line.
func mdText(s string) string { return strings.Join(strings.Fields(s), " ") }

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// fmtNum prints v with 4 significant digits, without exponent for the
// usual range.
func fmtNum(v float64) string {
	if v != 0 && (math.Abs(v) < 1e-3 || math.Abs(v) >= 1e7) {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	digits := 3 - int(math.Floor(math.Log10(math.Abs(v))))
	if v == 0 || digits < 0 {
		digits = 0
	}
	return strconv.FormatFloat(v, 'f', digits, 64)
}

func humanBytes(n uint64) string {
	if n == 0 {
		return "—"
	}
	const gib = 1 << 30
	return fmt.Sprintf("%.1f GiB (%d bytes)", float64(n)/gib, n)
}
