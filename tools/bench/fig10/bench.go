package fig10

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/uaaf/uaaf/tools/bench/baseline"
	"github.com/uaaf/uaaf/tools/bench/report"
	"github.com/uaaf/uaaf/tools/bench/stats"
)

// Bench is one benchmark run: its configuration, the baselines it found,
// and everything measured so far. Create it with New, run panels, Write,
// Close.
type Bench struct {
	cfg Config
	im  images

	solo5    *baseline.Solo5HVT // nil: not measured
	runc     *baseline.Runc     // nil: not measured
	fn       *baseline.Bundle   // the runc function
	fnWait   *baseline.Bundle   // its waiting variant
	tmp      string             // runc bundles and state
	failed   map[string]bool
	skipped  map[string]bool
	sum      report.Summary
	panels   []panelOut
	measured map[string]map[string]float64   // system → key → value, for the checks
	samples  map[string]map[string][]float64 // system → key → samples (ms), for ratios and checks
}

// panelOut is a panel and how to draw it.
type panelOut struct {
	p   report.Panel
	opt report.PNGOptions
}

// New checks cfg and the images, looks at each baseline it names and runs
// it once (so that a broken baseline fails in seconds, not after the
// benchmark): a solo5-hvt that cannot tell its version or run the trivial
// guest is an error. runc that cannot build or run the function is
// recorded as failed. Close the Bench.
func New(ctx context.Context, cfg Config) (*Bench, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	im, err := lookImages(cfg)
	if err != nil {
		return nil, err
	}
	b := &Bench{cfg: cfg, im: im, failed: map[string]bool{}, skipped: map[string]bool{}, measured: map[string]map[string]float64{}}
	b.sum.Machine = report.DetectMachine()
	b.sum.Title = "uaaf bench"
	b.loadNote("at the start")
	if b.sum.Machine.KVM == report.KVMPVM {
		b.note("KVM here is PVM (kvm_pvm): guest ring-0 code is emulated instruction by instruction (~1 µs each), a VM exit costs ~9 µs and vCPU register ioctls ~4.6 µs; guest run times and whatever runs guest code (boot, the libraries' first calls) are emulator times, far above hardware virtualisation. Ratios between systems measured in this run, exit counts and memory carry over; absolute times do not.")
	}
	if cfg.DaemonOnly {
		for _, s := range []string{SysIsolated, SysSolo5, SysRunc} {
			b.skip(s, "this run measures uaaf builds only")
		}
		return b, nil
	}
	if err := b.setupSolo5(ctx); err != nil {
		return nil, err
	}
	b.setupRunc(ctx)
	// The isolated baseline is uaaf itself: one smoke run.
	if _, _, err := processSample(ctx, isolatedArgv(cfg, im, true, nil, im.demo), expectDemo); err != nil {
		b.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrFailed, SysIsolated, err)
	}
	return b, nil
}

func (b *Bench) setupSolo5(ctx context.Context) error {
	if b.cfg.Solo5HVT == "" {
		b.skip(SysSolo5, "no --solo5-hvt given (build it from Solo5's source: https://github.com/Solo5/solo5)")
		return nil
	}
	s := &baseline.Solo5HVT{Path: b.cfg.Solo5HVT, MemMiB: b.cfg.MemMiB}
	if err := s.Available(); err != nil {
		return fmt.Errorf("%w: --solo5-hvt: %w", ErrConfig, err)
	}
	v, err := s.Version(ctx)
	if err != nil {
		return fmt.Errorf("%w: --solo5-hvt %s: %w", ErrFailed, s.Path, err)
	}
	if _, err := s.RunFirstOutput(ctx, b.im.hello, helloArgs, expectHello); err != nil {
		return fmt.Errorf("%w: --solo5-hvt %s: %w", ErrFailed, s.Path, err)
	}
	b.addVersion(SysSolo5, v)
	b.solo5 = s
	return nil
}

func (b *Bench) setupRunc(ctx context.Context) {
	if b.cfg.Runc == "" {
		reason := b.cfg.RuncSkip
		if reason == "" {
			reason = "not asked for"
		}
		b.skip(SysRunc, reason)
		return
	}
	r := baseline.Runc{Path: b.cfg.Runc}
	v, err := r.Version(ctx)
	if err != nil {
		b.fail(SysRunc, err)
		return
	}
	if os.Geteuid() != 0 {
		b.skip(SysRunc, "runc containers need root")
		return
	}
	tmp, err := os.MkdirTemp("", "uaaf-bench-runc-*")
	if err != nil {
		b.fail(SysRunc, err)
		return
	}
	b.tmp = tmp
	r.Root = filepath.Join(tmp, "state")
	fn, err := baseline.BuildFunction(ctx, tmp)
	if errors.Is(err, baseline.ErrNotInstalled) {
		b.skip(SysRunc, err.Error())
		return
	}
	if err != nil {
		b.fail(SysRunc, err)
		return
	}
	for _, bd := range []struct {
		dst  **baseline.Bundle
		dir  string
		args []string
	}{{&b.fn, "bundle-fn", nil}, {&b.fnWait, "bundle-fn-wait", []string{baseline.FunctionWaitArg}}} {
		dir := filepath.Join(tmp, bd.dir)
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.fail(SysRunc, err)
			return
		}
		if *bd.dst, err = r.NewBundle(ctx, dir, fn, bd.args...); err != nil {
			b.fail(SysRunc, err)
			return
		}
	}
	if _, err := r.RunFirstOutput(ctx, b.fn, expectDemo); err != nil {
		b.fail(SysRunc, err)
		return
	}
	b.addVersion(SysRunc, v)
	b.runc = &r
}

// Close removes what New made. It does not touch what was measured.
func (b *Bench) Close() error {
	if b.tmp == "" {
		return nil
	}
	err := os.RemoveAll(b.tmp)
	b.tmp = ""
	return err
}

// skip records system as not measured, once.
func (b *Bench) skip(system, reason string) {
	if b.skipped[system] {
		return
	}
	b.skipped[system] = true
	b.sum.Skipped = append(b.sum.Skipped, report.Skipped{System: system, Reason: reason})
}

// fail records that a run of system failed: the system is out of every
// later measurement and whatever it gave in the current panel is dropped
// by the caller.
func (b *Bench) fail(system string, err error) {
	if b.failed[system] {
		return
	}
	b.failed[system] = true
	b.sum.Failed = append(b.sum.Failed, report.Failed{System: system, Error: err.Error()})
}

// Failed returns the systems whose runs failed so far.
func (b *Bench) Failed() []string {
	var out []string
	for _, f := range b.sum.Failed {
		out = append(out, f.System)
	}
	return out
}

// has reports whether system is measured (present and not failed).
func (b *Bench) has(system string) bool {
	if b.skipped[system] {
		return false
	}
	switch system {
	case SysSolo5:
		return b.solo5 != nil && !b.failed[system]
	case SysRunc:
		return b.runc != nil && !b.failed[system]
	}
	return !b.failed[system]
}

// record keeps a value for the checks and ratios.
func (b *Bench) record(system, key string, v float64) {
	if b.measured[system] == nil {
		b.measured[system] = map[string]float64{}
	}
	b.measured[system][key] = v
}

func (b *Bench) value(system, key string) (float64, bool) {
	v, ok := b.measured[system][key]
	return v, ok
}

// addPanel keeps a panel and its headline numbers.
func (b *Bench) addPanel(p report.Panel, opt report.PNGOptions, st []report.Stat) {
	b.panels = append(b.panels, panelOut{p, opt})
	b.sum.Panels = append(b.sum.Panels, report.PanelStats{Panel: p.Name, Stats: st})
}

// loadNote records the load average (other work on a shared machine
// disturbs every number).
func (b *Bench) loadNote(when string) {
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(la))
		if len(f) >= 3 {
			b.note(fmt.Sprintf("load average %s: %s %s %s (1, 5, 15 min) on %d CPUs", when, f[0], f[1], f[2], b.sum.Machine.Cores))
		}
	}
}

// log writes one line to Config.Log, if set.
func (b *Bench) log(format string, args ...any) {
	if b.cfg.Log != nil {
		fmt.Fprintf(b.cfg.Log, "bench: "+format+"\n", args...)
	}
}

// Fig10 runs every panel: startup, scale and memory (one ramp per system),
// throughput and call.
func (b *Bench) Fig10(ctx context.Context) error {
	b.sum.Title = "uaaf bench fig10"
	for _, step := range []struct {
		name string
		run  func(context.Context) error
	}{{"startup", b.Startup}, {"scale and memory", b.ScaleAndMemory}, {"throughput", b.Throughput}, {"call", b.Call}} {
		t0 := time.Now()
		if err := step.run(ctx); err != nil {
			return fmt.Errorf("%s: %w", step.name, err)
		}
		b.log("%s done in %.0f s", step.name, time.Since(t0).Seconds())
	}
	return nil
}

// SetTitle sets the summary's title (e.g. the command that ran).
func (b *Bench) SetTitle(t string) { b.sum.Title = t }

// note adds a line to the summary's notes, once.
func (b *Bench) note(s string) {
	if !slices.Contains(b.sum.Notes, s) {
		b.sum.Notes = append(b.sum.Notes, s)
	}
}

// progress returns a bar of total steps (silent without Config.Progress).
func (b *Bench) progress(total int, desc string) *report.Progress {
	if b.cfg.Progress == nil {
		return nil
	}
	return b.cfg.Progress(total, desc)
}

// Summary returns the summary so far (checks evaluated on what was
// measured).
func (b *Bench) Summary() report.Summary {
	s := b.sum
	s.Notes = slices.Clone(s.Notes)
	if la, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(la)); len(f) >= 3 {
			s.Notes = append(s.Notes, fmt.Sprintf("load average at the end: %s %s %s (1, 5, 15 min) on %d CPUs", f[0], f[1], f[2], s.Machine.Cores))
		}
	}
	s.Checks = b.checks()
	s.Generated = time.Now()
	return s
}

// Write writes DIR/<panel>.csv and .png for every panel measured, and
// DIR/summary.json and summary.md, and returns the paths written.
func (b *Bench) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("fig10: %w", err)
	}
	var paths []string
	for _, po := range b.panels {
		if len(po.p.Series) == 0 {
			continue
		}
		p, err := report.WriteCSV(dir, po.p)
		if err != nil {
			return paths, err
		}
		paths = append(paths, p)
		if p, err = report.WritePNG(dir, po.p, po.opt); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	j, m, err := report.WriteSummary(dir, b.Summary())
	if err != nil {
		return paths, err
	}
	return append(paths, j, m), nil
}

// Err returns an error wrapping ErrFailed naming the failed systems, or nil.
func (b *Bench) Err() error {
	if len(b.sum.Failed) == 0 {
		return nil
	}
	var msgs []string
	for _, f := range b.sum.Failed {
		msgs = append(msgs, f.System+": "+f.Error)
	}
	return fmt.Errorf("%w: %s", ErrFailed, strings.Join(msgs, "; "))
}

// ms converts durations to float64 milliseconds.
func ms(ds []time.Duration) []float64 {
	out := make([]float64, len(ds))
	for i, d := range ds {
		out[i] = millis(d)
	}
	return out
}

// millis is d in milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// point summarises samples (ms) at x as a panel point: median, p99, n.
func point(x float64, vals []float64) (report.Point, error) {
	med, err := stats.Median(vals)
	if err != nil {
		return report.Point{}, err
	}
	p99, err := stats.Percentile(vals, 0.99)
	if err != nil {
		return report.Point{}, err
	}
	return report.Point{X: x, Y: med, P99: p99, N: len(vals)}, nil
}

// ratio returns the ratio of the medians of a and b with its bootstrap
// interval, as a summary ratio.
func ratio(panel, metric, num, den string, a, b []float64) (report.Ratio, error) {
	ci, err := stats.RatioOfMedians(a, b, stats.Bootstrap{})
	if err != nil {
		return report.Ratio{}, err
	}
	return report.Ratio{Panel: panel, Metric: metric, Numerator: num, Denominator: den, Value: ci.Ratio, CI: &ci}, nil
}
