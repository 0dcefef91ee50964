package fig10

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/tools/bench/report"
)

// Keys of Bench.measured written by Throughput.
const (
	keyRate1     = "rate with 1 client"
	keyRateBest  = "best rate"
	keyRateBestC = "best rate clients"
)

// Throughput measures trivial invocations per second per system, with one
// client (back to back) and with Concurrency clients at once: uaaf through
// the daemon's invoke, the others one process (container) per invocation.
func (b *Bench) Throughput(ctx context.Context) error {
	type sys struct {
		name string
		run  func(ctx context.Context) error
	}
	var systems []sys
	if b.has(SysUAAF) {
		if d := b.panelDaemon(ctx); d != nil {
			defer b.closeDaemon(d)
			systems = append(systems, sys{SysUAAF, func(ctx context.Context) error {
				_, _, err := invoke(ctx, d.Client, api.Invoke{Image: "hello", Args: helloArgs}, expectHello)
				return err
			}})
		}
	}
	if b.has(SysIsolated) {
		argv := isolatedArgv(b.cfg, b.im, false, nil, b.im.hello, helloArgs...)
		systems = append(systems, sys{SysIsolated, func(ctx context.Context) error {
			_, _, err := processSample(ctx, argv, expectHello)
			return err
		}})
	}
	if b.has(SysSolo5) {
		argv := b.solo5.Argv(b.im.hello, helloArgs...)
		systems = append(systems, sys{SysSolo5, func(ctx context.Context) error {
			_, _, err := processSample(ctx, argv, expectHello)
			return err
		}})
	}
	if b.has(SysRunc) {
		systems = append(systems, sys{SysRunc, func(ctx context.Context) error {
			_, err := b.runc.Run(ctx, b.fn, expectDemo)
			return err
		}})
	}
	clients := []int{1}
	if b.cfg.Concurrency > 1 {
		clients = append(clients, b.cfg.Concurrency)
	}
	bar := b.progress(len(systems)*len(clients)*b.cfg.Invocations, "throughput")
	defer bar.Finish()

	p := report.Panel{
		Name: "throughput", Title: "Trivial invocations per second",
		X: report.Axis{Label: "clients at once"}, Y: report.Axis{Label: "throughput", Unit: "invocations/s"},
		Notes: []string{
			"a trivial invocation runs the hello guest to its exit and checks its status and output: uaaf through POST /v1/invoke of the daemon (a registered image); uaaf-isolated a cold `uaaf run` process; solo5-hvt a solo5-hvt process; runc `runc run` of the function.",
			"with 1 client the invocations run back to back; with more, that many loops run at once.",
		},
	}
	var st []report.Stat
	for _, s := range systems {
		ser := report.Series{System: s.name}
		ok := true
		for _, c := range clients {
			bar.Describe(fmt.Sprintf("throughput: %s, %d clients", s.name, c))
			rate, err := b.rate(ctx, s.run, c, bar)
			if err != nil {
				b.fail(s.name, err)
				ok = false
				break
			}
			ser.Points = append(ser.Points, report.Point{X: float64(c), Y: rate, N: b.cfg.Invocations})
			st = append(st, report.Stat{System: s.name, Metric: "throughput, " + clientsText(c), Unit: "inv/s", N: b.cfg.Invocations, Median: rate})
		}
		if !ok {
			continue
		}
		p.Series = append(p.Series, ser)
		b.record(s.name, keyRate1, ser.Points[0].Y)
		best := slices.MaxFunc(ser.Points, func(a, b report.Point) int { return cmp.Compare(a.Y, b.Y) })
		b.record(s.name, keyRateBest, best.Y)
		b.record(s.name, keyRateBestC, best.X)
	}
	b.addPanel(p, report.PNGOptions{LogY: true}, st)
	if u, ok := b.value(SysUAAF, keyRateBest); ok {
		for _, den := range []string{SysSolo5, SysIsolated, SysRunc} {
			if v, ok := b.value(den, keyRate1); ok && v > 0 {
				c, _ := b.value(SysUAAF, keyRateBestC)
				b.sum.Ratios = append(b.sum.Ratios, report.Ratio{Panel: "throughput", Metric: "trivial invocations/s",
					Numerator: "uaaf, " + clientsText(int(c)), Denominator: den + ", back to back", Stat: "rate", Value: u / v})
			}
		}
	}
	return nil
}

// rate runs Invocations calls of run from c goroutines at once and returns
// invocations per second over the whole.
func (b *Bench) rate(ctx context.Context, run func(context.Context) error, c int, bar *report.Progress) (float64, error) {
	n := b.cfg.Invocations
	// One unrecorded warm-up.
	if err := run(ctx); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		next  int
		first error
		wg    sync.WaitGroup
	)
	take := func() bool {
		mu.Lock()
		defer mu.Unlock()
		if next >= n || first != nil {
			return false
		}
		next++
		return true
	}
	start := time.Now()
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for take() {
				if err := run(ctx); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
					return
				}
				bar.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if first != nil {
		return 0, first
	}
	return float64(n) / elapsed.Seconds(), nil
}

// clientsText is "1 client" or "N clients".
func clientsText(n int) string {
	if n == 1 {
		return "1 client"
	}
	return fmt.Sprintf("%d clients", n)
}
