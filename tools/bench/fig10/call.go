package fig10

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/uaaf/uaaf/hypervisor/kvmtrace"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/tools/bench"
	"github.com/uaaf/uaaf/tools/bench/baseline"
	"github.com/uaaf/uaaf/tools/bench/report"
	"github.com/uaaf/uaaf/tools/bench/served"
	"github.com/uaaf/uaaf/tools/bench/stats"
)

// callRun is one callbench invocation: its loop time and the exits the
// daemon and the kernel counted.
type callRun struct {
	ns, exits    uint64
	insns, kexit uint64 // kernel counts (host-wide), valid with traced
	traced       bool
}

// callCounter is the kernel-side event counter (kvmtrace).
type callCounter interface {
	Read() (map[string]uint64, error)
}

func runCallbench(ctx context.Context, c *client.Client, tr callCounter, n int, hc bool) (callRun, error) {
	args := []string{strconv.Itoa(n)}
	if hc {
		args = []string{"hc", strconv.Itoa(n)}
	}
	var before map[string]uint64
	var r callRun
	if tr != nil {
		var err error
		if before, err = tr.Read(); err != nil {
			tr = nil
		}
	}
	res, _, err := invoke(ctx, c, api.Invoke{Image: "callbench", Args: args}, baseline.Expect{Stdout: []string{"BENCH "}})
	if err != nil {
		return r, err
	}
	if tr != nil {
		if after, err := tr.Read(); err == nil {
			r.traced = true
			r.insns = after[kvmtrace.EmulateInsn] - before[kvmtrace.EmulateInsn]
			r.kexit = after[kvmtrace.UserspaceExit] - before[kvmtrace.UserspaceExit]
		}
	}
	got, ns, err := bench.ParseBench(res.Output)
	if err != nil {
		return r, err
	}
	if got != uint64(n) {
		return r, fmt.Errorf("%w: callbench ran %d, asked %d", bench.ErrBench, got, n)
	}
	r.ns, r.exits = ns, res.Timings.VMExits
	return r, nil
}

// addCallbench loads the testfns library (pinned) into daemon d and
// registers the callbench image, which imports it.
func (b *Bench) addCallbench(ctx context.Context, d *served.Daemon) error {
	if _, err := d.Client.LoadLibrary(ctx, api.LoadLibrary{Name: "testfns", Path: b.im.libs["testfns"], Pin: true}); err != nil {
		return fmt.Errorf("load testfns: %w", err)
	}
	if _, err := d.Client.AddImage(ctx, api.AddImage{Name: "callbench", Path: b.im.callbench, MemMiB: b.cfg.MemMiB}); err != nil {
		return fmt.Errorf("register callbench: %w", err)
	}
	return nil
}

// Call measures the library call round trip through the daemon — a call of
// testfns.nop by the callbench session — against a plain hypercall
// (a console write of zero bytes: one exit, nothing to do) from the same
// session: guest-measured time per operation,
// VM exits per operation (the daemon's count), and where eBPF works the
// kernel's count of exits and of instructions its emulator ran (host-wide:
// the least of the repeats is kept). Per-operation counts are the
// difference between runs of 2·CallN and CallN operations, which cancels
// boot and exit.
func (b *Bench) Call(ctx context.Context) error {
	if !b.has(SysUAAF) {
		return nil
	}
	d := b.panelDaemon(ctx)
	if d == nil {
		return nil
	}
	defer b.closeDaemon(d)
	if v, err := d.Client.Version(ctx); err == nil {
		b.addVersion(SysUAAF, v.Version)
		if !strings.HasPrefix(v.Switch, "vmfunc") {
			b.skip("uaaf (vmfunc backend)", "the daemon chose "+v.Switch)
		}
	}
	if err := b.addCallbench(ctx, d); err != nil {
		b.fail(SysUAAF, err)
		return nil
	}
	var tr callCounter
	if c, err := kvmtrace.New(kvmtrace.EmulateInsn, kvmtrace.UserspaceExit); err == nil {
		defer c.Close()
		tr = c
	} else {
		b.note("call: no kernel-side counts (eBPF): " + err.Error())
	}
	repeats := max(3, b.cfg.Rounds/4)
	bar := b.progress(repeats*4, "call")
	defer bar.Finish()

	n := b.cfg.CallN
	type perOp struct {
		us, exits []float64
		// Kernel counts of the runs of n and of 2n operations: host-wide,
		// so other work on the machine only ever adds to them; the least
		// of each over the repeats is the best estimate of ours.
		insns, kexits [2][]float64
	}
	var ops [2]perOp // call, hypercall
	for range repeats {
		for i, hc := range []bool{false, true} {
			var runs [2]callRun
			for j, k := range []int{n, 2 * n} {
				r, err := runCallbench(ctx, d.Client, tr, k, hc)
				bar.Add(1)
				if err != nil {
					b.fail(SysUAAF, err)
					return nil
				}
				runs[j] = r
			}
			o := &ops[i]
			o.us = append(o.us, float64(runs[0].ns)/float64(n)/1e3)
			o.exits = append(o.exits, (float64(runs[1].exits)-float64(runs[0].exits))/float64(n))
			if runs[0].traced && runs[1].traced {
				for j := range runs {
					o.insns[j] = append(o.insns[j], float64(runs[j].insns))
					o.kexits[j] = append(o.kexits[j], float64(runs[j].kexit))
				}
			}
		}
	}

	cats := []string{"library call (testfns.nop)", "plain hypercall (PUTS of 0 bytes)"}
	p := report.Panel{
		Name: "call", Title: "Call round trip vs a plain hypercall (guest-measured)",
		X: report.Axis{Label: "operation"}, Y: report.Axis{Label: "time per operation", Unit: "µs"},
		Categories: cats,
		Notes: []string{
			"the callbench session, invoked through the daemon, times N operations with its own monotonic clock; exits per operation are the difference of the daemon's vm_exits between runs of 2N and N operations; emulated instructions and kernel exits are KVM's tracepoints counted with eBPF around each run — host-wide, so other work on the machine adds to them: the least count of the 2N runs minus the least of the N runs, over N.",
		},
	}
	ser := report.Series{System: SysUAAF + " (exit backend)"}
	var st []report.Stat
	for i, o := range ops {
		pt, err := point(float64(i), o.us)
		if err != nil {
			return err
		}
		ser.Points = append(ser.Points, pt)
		st = append(st, report.Stat{System: ser.System, Metric: cats[i], Unit: "µs", N: pt.N, Median: pt.Y, P99: pt.P99})
		med, _ := stats.Median(o.exits)
		st = append(st, report.Stat{System: ser.System, Metric: cats[i] + ": VM exits", Unit: "per op", N: len(o.exits), Median: med})
		if len(o.insns[0]) > 0 {
			perOp := func(c [2][]float64) float64 { return (minOf(c[1]) - minOf(c[0])) / float64(n) }
			st = append(st,
				report.Stat{System: ser.System, Metric: cats[i] + ": instructions KVM emulated (host-wide, least of each run)", Unit: "per op", N: len(o.insns[0]), Median: perOp(o.insns)},
				report.Stat{System: ser.System, Metric: cats[i] + ": exits to user space, kernel count (host-wide, least of each run)", Unit: "per op", N: len(o.kexits[0]), Median: perOp(o.kexits)})
		}
	}
	p.Series = []report.Series{ser}
	b.addPanel(p, report.PNGOptions{}, st)
	r, err := ratio("call", "time per operation", "library call", "hypercall", ops[0].us, ops[1].us)
	if err != nil {
		return err
	}
	b.sum.Ratios = append(b.sum.Ratios, r)
	return nil
}

func minOf(xs []float64) float64 {
	m := xs[0]
	for _, x := range xs[1:] {
		m = min(m, x)
	}
	return m
}
