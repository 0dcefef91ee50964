package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/tools/bench/stats"
)

var (
	update  = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")
	keepPNG = flag.String("keep-png", "", "also write the example PNGs into this directory, to look at them")
)

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from %s (run go test -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", name, path, got, want)
	}
}

// The example panels have the shapes of Figure 10's three panels; the
// numbers are made up for the tests.
func startupPanel() Panel {
	return Panel{
		Name:  "startup",
		Title: "Startup latency (median, whisker p99)",
		X:     Axis{Label: "phase"},
		Y:     Axis{Label: "time", Unit: "ms"},
		Categories: []string{
			"library load (cold)", "start → first instruction", "start → exit", "whole invocation",
		},
		Series: []Series{
			{System: "uaaf", Points: []Point{
				{X: 0, Y: 4.1, P99: 5.2, N: 50}, {X: 1, Y: 0.35, P99: 0.61, N: 50},
				{X: 2, Y: 0.9, P99: 1.3, N: 50}, {X: 3, Y: 2.4, P99: 3.1, N: 50},
			}},
			{System: "uaaf-isolated", Points: []Point{
				{X: 0, Y: 4.3, P99: 5.5, N: 50}, {X: 1, Y: 2.2, P99: 2.9, N: 50},
				{X: 2, Y: 2.8, P99: 3.6, N: 50}, {X: 3, Y: 6.9, P99: 8.0, N: 50},
			}},
			{System: "solo5-hvt", Points: []Point{{X: 3, Y: 3.3, P99: 4.4, N: 50}}},
			{System: "runc", Points: []Point{{X: 3, Y: 41.5, P99: 58.25, N: 20}}},
		},
		Notes: []string{"solo5-hvt and runc only have a whole-invocation time"},
	}
}

func scalePanel() Panel {
	xs := []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}
	var u, s Series
	u.System, s.System = "uaaf", "solo5-hvt"
	for i, x := range xs {
		// Deliberately out of order for "uaaf", to test the sorting.
		j := len(xs) - 1 - i
		u.Points = append(u.Points, Point{X: xs[j], Y: 0.4 + 0.0004*xs[j], P99: 0.9 + 0.002*xs[j], N: 100})
		s.Points = append(s.Points, Point{X: x, Y: 3 + 0.004*x, P99: 6 + 0.02*x, N: 100})
	}
	return Panel{
		Name:   "scale",
		Title:  "Start latency with N instances live",
		X:      Axis{Label: "live instances"},
		Y:      Axis{Label: "start latency", Unit: "ms"},
		Series: []Series{u, s},
	}
}

func memoryPanel() Panel {
	var u, s, r Series
	u.System, s.System, r.System = "uaaf", "solo5-hvt", "runc"
	for _, x := range []float64{0, 10, 20, 50, 100} {
		u.Points = append(u.Points, Point{X: x, Y: 12 + 0.25*x, Err: &Interval{Lo: 11.5 + 0.25*x, Hi: 12.5 + 0.25*x}, N: 3})
		s.Points = append(s.Points, Point{X: x, Y: 0.9 * x, N: 3})
		r.Points = append(r.Points, Point{X: x, Y: 1.6 * x, N: 3})
	}
	return Panel{
		Name:   "memory",
		Title:  "Total Pss against live instances",
		X:      Axis{Label: "live instances"},
		Y:      Axis{Label: "total Pss", Unit: "MiB"},
		Series: []Series{u, s, r},
	}
}

func TestCSVGolden(t *testing.T) {
	for _, p := range []Panel{startupPanel(), scalePanel(), memoryPanel()} {
		t.Run(p.Name, func(t *testing.T) {
			dir := t.TempDir()
			path, err := WriteCSV(dir, p)
			if err != nil {
				t.Fatal(err)
			}
			if path != filepath.Join(dir, p.Name+".csv") {
				t.Errorf("path = %s", path)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, p.Name+".csv", got)
		})
	}
}

func TestCSVSchema(t *testing.T) {
	p := scalePanel()
	b, err := EncodeCSV(p)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rows[0], CSVHeader) {
		t.Fatalf("header = %v, want %v", rows[0], CSVHeader)
	}
	if got, want := len(rows)-1, len(p.Series[0].Points)+len(p.Series[1].Points); got != want {
		t.Fatalf("%d data rows, want %d", got, want)
	}
	col := func(name string) int { return slices.Index(CSVHeader, name) }
	prevSystem, prevX := "", math.Inf(-1)
	for _, r := range rows[1:] {
		if len(r) != len(CSVHeader) {
			t.Fatalf("row %v has %d columns", r, len(r))
		}
		if r[col("panel")] != "scale" || r[col("x_unit")] != "" || r[col("y_unit")] != "ms" || r[col("category")] != "" {
			t.Errorf("row %v: wrong panel, units or category", r)
		}
		x := mustFloat(t, r[col("x")])
		if r[col("system")] == prevSystem && x < prevX {
			t.Errorf("rows of %s not in ascending x: %v after %v", prevSystem, x, prevX)
		}
		prevSystem, prevX = r[col("system")], x
		if r[col("p99")] == "" || r[col("n")] != "100" || r[col("err_lo")] != "" {
			t.Errorf("row %v: p99/n/err columns wrong", r)
		}
	}
	// Encoding must not reorder the caller's points.
	if p.Series[0].Points[0].X != 1000 {
		t.Errorf("EncodeCSV reordered the input")
	}
}

func mustFloat(t *testing.T, s string) float64 {
	t.Helper()
	var v float64
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%q is not a number: %v", s, err)
	}
	return v
}

func TestValidate(t *testing.T) {
	ok := memoryPanel()
	tests := []struct {
		name   string
		mutate func(*Panel)
		bad    bool
	}{
		{"valid", func(*Panel) {}, false},
		{"valid categorical", func(p *Panel) { *p = startupPanel() }, false},
		{"empty name", func(p *Panel) { p.Name = "" }, true},
		{"path in name", func(p *Panel) { p.Name = "../x" }, true},
		{"upper case name", func(p *Panel) { p.Name = "Memory" }, true},
		{"duplicate system", func(p *Panel) { p.Series[1].System = "uaaf" }, true},
		{"unnamed system", func(p *Panel) { p.Series[0].System = "" }, true},
		{"NaN y", func(p *Panel) { p.Series[0].Points[1].Y = math.NaN() }, true},
		{"Inf x", func(p *Panel) { p.Series[0].Points[1].X = math.Inf(1) }, true},
		{"NaN p99", func(p *Panel) { p.Series[0].Points[1].P99 = math.NaN() }, true},
		{"inverted error bar", func(p *Panel) { p.Series[0].Points[0].Err = &Interval{Lo: 2, Hi: 1} }, true},
		{"negative n", func(p *Panel) { p.Series[0].Points[0].N = -1 }, true},
		{"category out of range", func(p *Panel) { *p = startupPanel(); p.Series[0].Points[0].X = 4 }, true},
		{"fractional category", func(p *Panel) { *p = startupPanel(); p.Series[0].Points[0].X = 0.5 }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := ok
			p.Series = slices.Clone(ok.Series)
			for i := range p.Series {
				p.Series[i].Points = slices.Clone(ok.Series[i].Points)
			}
			tc.mutate(&p)
			err := p.Validate()
			if tc.bad != (err != nil) || (err != nil && !errors.Is(err, ErrInvalid)) {
				t.Errorf("Validate() = %v, want invalid: %v", err, tc.bad)
			}
			if tc.bad {
				if _, err := EncodeCSV(p); !errors.Is(err, ErrInvalid) {
					t.Errorf("EncodeCSV accepted an invalid panel: %v", err)
				}
			}
		})
	}
}

func TestWritePNG(t *testing.T) {
	tests := []struct {
		name          string
		panel         Panel
		opt           PNGOptions
		width, height int
	}{
		{"startup linear", startupPanel(), PNGOptions{}, 1200, 750},
		{"startup log", startupPanel(), PNGOptions{LogY: true}, 1200, 750},
		{"scale log-log", scalePanel(), PNGOptions{LogX: true, LogY: true}, 1200, 750},
		{"memory", memoryPanel(), PNGOptions{WidthPx: 800, HeightPx: 500, DPI: 100}, 800, 500},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, err := WritePNG(dir, tc.panel, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("%s does not decode as PNG: %v", path, err)
			}
			if b := img.Bounds(); b.Dx() != tc.width || b.Dy() != tc.height {
				t.Errorf("image is %d×%d, want %d×%d", b.Dx(), b.Dy(), tc.width, tc.height)
			}
			// Something was drawn: not every pixel is the background.
			bg := img.At(0, 0)
			drawn := 0
			for y := 0; y < img.Bounds().Dy(); y += 7 {
				for x := 0; x < img.Bounds().Dx(); x += 7 {
					if img.At(x, y) != bg {
						drawn++
					}
				}
			}
			if drawn < 100 {
				t.Errorf("only %d sampled pixels differ from the background", drawn)
			}
			if *keepPNG != "" {
				b, _ := os.ReadFile(path)
				name := strings.ReplaceAll(tc.name, " ", "-") + ".png"
				if err := os.WriteFile(filepath.Join(*keepPNG, name), b, 0o644); err != nil {
					t.Error(err)
				}
			}
		})
	}
}

func TestWritePNGRejects(t *testing.T) {
	zeroY := memoryPanel() // solo5-hvt and runc have Y = 0 at x = 0
	empty := Panel{Name: "empty", Series: []Series{{System: "uaaf"}}}
	tests := []struct {
		name  string
		panel Panel
		opt   PNGOptions
	}{
		{"zero on log y", zeroY, PNGOptions{LogY: true}},
		{"zero on log x", zeroY, PNGOptions{LogX: true}},
		{"categorical log x", startupPanel(), PNGOptions{LogX: true}},
		{"no points", empty, PNGOptions{}},
		{"tiny image", scalePanel(), PNGOptions{WidthPx: 10, HeightPx: 10}},
		{"invalid panel", Panel{Name: "Bad Name"}, PNGOptions{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := WritePNG(dir, tc.panel, tc.opt)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("WritePNG error = %v, want ErrInvalid", err)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("a failed WritePNG left %v behind", ents)
			}
		})
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		labels []string
	}{
		{1, 1000, []string{"1", "2", "5", "10", "20", "50", "100", "200", "500", "1000"}},
		{0.1, 100000, []string{"0.1", "1", "10", "100", "1000", "10000", "100000"}},
		{3, 4, []string{"3", "4"}},
		{3.2, 3.8, []string{"3.2", "3.8"}},
		{0.3, 0.6, []string{"0.3", "0.4", "0.5", "0.6"}},
	}
	for _, tc := range tests {
		var got []string
		for _, tk := range logTicks(tc.lo, tc.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, tc.labels) {
			t.Errorf("logTicks(%v, %v) labels = %v, want %v", tc.lo, tc.hi, got, tc.labels)
		}
	}
}

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		labels []string
	}{
		{0, 160, []string{"0", "50", "100", "150"}},
		{0, 60, []string{"0", "10", "20", "30", "40", "50", "60"}},
		{-3, 103, []string{"0", "20", "40", "60", "80", "100"}},
		{0, 0.7, []string{"0.0", "0.2", "0.4", "0.6"}},
		{0.31, 0.39, []string{"0.32", "0.34", "0.36", "0.38"}},
	}
	for _, tc := range tests {
		var got []string
		for _, tk := range linearTicks(tc.lo, tc.hi) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
			if tk.Value < tc.lo || tk.Value > tc.hi {
				t.Errorf("linearTicks(%v, %v): tick %v outside the range", tc.lo, tc.hi, tk.Value)
			}
		}
		if !slices.Equal(got, tc.labels) {
			t.Errorf("linearTicks(%v, %v) labels = %v, want %v", tc.lo, tc.hi, got, tc.labels)
		}
	}
}

func exampleSummary() Summary {
	return Summary{
		Title:     "uaaf bench fig10",
		Generated: time.Date(2026, 12, 6, 10, 30, 0, 0, time.UTC),
		Machine: Machine{CPUModel: "Intel(R) Xeon(R) Processor", Cores: 2, MemoryBytes: 24 << 30,
			Kernel: "6.18.44-fc-v1300", KVM: KVMPVM, KVMEvidence: "/sys/module/kvm_pvm"},
		Versions: []Version{{"uaaf", "cf0d15c"}, {"solo5-hvt", "v0.12.1-7-g469c1a8"}},
		Panels: []PanelStats{
			{Panel: "startup", Stats: []Stat{
				{System: "uaaf", Metric: "whole invocation", Unit: "ms", N: 50, Median: 2.4, P99: 3.1},
				{System: "solo5-hvt", Metric: "whole invocation", Unit: "ms", N: 50, Median: 3.3, P99: 4.4},
			}},
			{Panel: "memory", Stats: []Stat{
				{System: "uaaf", Metric: "Pss per instance", Unit: "KiB", N: 5, Median: 256},
			}},
			{Panel: "scale"},
		},
		Ratios: []Ratio{
			{Panel: "startup", Metric: "whole invocation", Numerator: "uaaf", Denominator: "solo5-hvt", Value: 2.4 / 3.3,
				CI: &stats.RatioCI{Ratio: 2.4 / 3.3, Lo: 0.65, Hi: 0.81, Level: 0.95, Resamples: 10000, NA: 50, NB: 50}},
			{Panel: "memory", Metric: "Pss per instance", Numerator: "uaaf", Denominator: "solo5-hvt", Value: 0.28},
			{Panel: "scale", Metric: "start latency", Numerator: "uaaf at 1000 live", Denominator: "uaaf at 1 live", Stat: "p99", Value: 1.2},
		},
		Checks: []Check{
			Check{Goal: "p50 session start ≤ 0.02× a cold solo5-hvt run", Source: "issue 11", Value: 0.05, Op: AtMost, Limit: 0.02, Unit: "×",
				Basis: "0.16 ms (uaaf p50, n=50) / 3.2 ms (solo5-hvt median, n=50)"}.Evaluate(),
			Check{Goal: "idle daemon RSS ≤ 32 MiB", Source: "issue 9", Value: 13.5, Op: AtMost, Limit: 32, Unit: "MiB", Basis: "RSS after start"}.Evaluate(),
			Check{Goal: "memory below solo5-hvt", Source: "issue 11", Op: Below, Limit: 1, Unit: "×", Missing: "solo5-hvt skipped"}.Evaluate(),
		},
		Skipped: []Skipped{{System: "runc", Reason: "runc not found in $PATH"}},
		Failed:  []Failed{{System: "uaaf-isolated", Error: "baseline: run failed: bin/uaaf run x.hvt: exit status 1 | stderr: uaaf: bad image"}},
		Notes:   []string{"absolute times are PVM emulator times;\nratios transfer"},
	}
}

func TestSummaryGolden(t *testing.T) {
	dir := t.TempDir()
	jp, mp, err := WriteSummary(dir, exampleSummary())
	if err != nil {
		t.Fatal(err)
	}
	j, _ := os.ReadFile(jp)
	md, _ := os.ReadFile(mp)
	golden(t, "summary.json", j)
	golden(t, "summary.md", md)

	// The JSON decodes back to the same summary.
	var back Summary
	if err := json.Unmarshal(j, &back); err != nil {
		t.Fatal(err)
	}
	if back.Failed[0] != exampleSummary().Failed[0] || back.Ratios[0].CI.Lo != 0.65 || !back.Generated.Equal(exampleSummary().Generated) {
		t.Errorf("round trip lost data: %+v", back)
	}
	// summary.md names every skipped and failed system with its reason.
	for _, want := range []string{"## Skipped", "| runc | runc not found in $PATH |", "## Failed",
		`| uaaf-isolated | baseline: run failed: bin/uaaf run x.hvt: exit status 1 \| stderr: uaaf: bad image |`} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q", want)
		}
	}
}

func TestSummaryEmptyLists(t *testing.T) {
	j, err := EncodeSummaryJSON(Summary{Title: "t"})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"versions", "panels", "ratios", "checks", "skipped", "failed", "notes"} {
		if _, isList := m[k].([]any); !isList {
			t.Errorf("%s = %v, want a JSON array", k, m[k])
		}
	}
	md, err := EncodeSummaryMarkdown(Summary{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(md), "## Skipped\n\nNone.") || !strings.Contains(string(md), "## Failed\n\nNone.") {
		t.Errorf("empty summary.md does not say None:\n%s", md)
	}
	for name, bad := range map[string]Summary{
		"infinite ratio":   {Ratios: []Ratio{{Value: math.Inf(1)}}},
		"NaN check":        {Checks: []Check{{Goal: "g", Value: math.NaN(), Op: AtMost, Limit: 1}}},
		"unknown operator": {Checks: []Check{{Goal: "g", Value: 1, Op: "==", Limit: 1}}},
		"wrong verdict":    {Checks: []Check{{Goal: "g", Value: 2, Op: AtMost, Limit: 1, Met: true}}},
		"missing but met":  {Checks: []Check{{Goal: "g", Op: AtMost, Limit: 1, Met: true, Missing: "x"}}},
	} {
		if _, err := EncodeSummaryJSON(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s accepted: %v", name, err)
		}
	}
}

func TestFmtNum(t *testing.T) {
	tests := map[float64]string{0: "0", 2: "2.000", 12.345: "12.35", 1234.6: "1235", 0.012345: "0.01235", 123456: "123456", 2e-5: "2e-05", 3e8: "3e+08"}
	for v, want := range tests {
		if got := fmtNum(v); got != want {
			t.Errorf("fmtNum(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestCheckEvaluate(t *testing.T) {
	tests := []struct {
		c    Check
		want bool
	}{
		{Check{Value: 0.02, Op: AtMost, Limit: 0.02}, true},
		{Check{Value: 0.021, Op: AtMost, Limit: 0.02}, false},
		{Check{Value: 1, Op: Below, Limit: 1}, false},
		{Check{Value: 0.99, Op: Below, Limit: 1}, true},
		{Check{Value: 10, Op: AtLeast, Limit: 10}, true},
		{Check{Value: 9.9, Op: AtLeast, Limit: 10}, false},
		{Check{Value: 0, Op: AtMost, Limit: 1, Missing: "solo5-hvt failed"}, false},
		{Check{Value: 0, Op: "=", Limit: 1}, false},
	}
	for _, tc := range tests {
		if got := tc.c.Evaluate().Met; got != tc.want {
			t.Errorf("%+v: met = %v, want %v", tc.c, got, tc.want)
		}
	}
}
