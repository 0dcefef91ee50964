package daemon

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/seccomp"
	"github.com/uaaf/uaaf/session/api"
)

// BenchmarkSessionSeccomp measures what the seccomp filter of the vCPU
// threads (Options.Seccomp: the runner allowlist, loaded once on each
// runner thread, which then runs sessions one after another; runners.go)
// costs a session's start: two daemons in this process, one with the
// filter (kill) and one without (off), alternately invoke the hello guest
// (in-process, no HTTP). Reported: the medians of the boot phase (VM taken
// → first guest instruction; a new runner's filter load included),
// of the whole start (request → first instruction) and of the total
// (request → exit status), for each, and the median paired difference
// kill − off of boot and total.
func BenchmarkSessionSeccomp(b *testing.B) {
	kill := startDaemon(b, Options{Seccomp: seccomp.Kill})
	off := startDaemon(b, Options{Seccomp: seccomp.Off})
	var kb, ob, ks, os, kt, ot, db, dt []time.Duration
	invoke := func(td *testDaemon) api.Timings {
		res, err := td.Invoke(context.Background(), api.Invoke{Image: "hello", Args: []string{"Hello_Solo5"}}, time.Now())
		if err != nil || res.ExitStatus == nil || *res.ExitStatus != 0 {
			b.Fatalf("hello: %+v, %v", res.Session, err)
		}
		return res.Timings
	}
	for range 20 { // warm pools, shells and threads
		invoke(kill)
		invoke(off)
	}
	i := 0
	for b.Loop() {
		var k, o api.Timings
		if i%2 == 0 {
			k, o = invoke(kill), invoke(off)
		} else {
			o, k = invoke(off), invoke(kill)
		}
		i++
		kb, ob = append(kb, time.Duration(k.BootNs)), append(ob, time.Duration(o.BootNs))
		ks, os = append(ks, time.Duration(k.StartNs)), append(os, time.Duration(o.StartNs))
		kt, ot = append(kt, time.Duration(k.TotalNs)), append(ot, time.Duration(o.TotalNs))
		db, dt = append(db, time.Duration(k.BootNs-o.BootNs)), append(dt, time.Duration(k.TotalNs-o.TotalNs))
	}
	med := func(ds []time.Duration) float64 {
		s := slices.Clone(ds)
		slices.Sort(s)
		return float64(s[len(s)/2].Nanoseconds()) / 1e3
	}
	b.ReportMetric(med(kb), "kill-boot-us")
	b.ReportMetric(med(ob), "off-boot-us")
	b.ReportMetric(med(db), "diff-boot-us")
	b.ReportMetric(med(ks), "kill-start-us")
	b.ReportMetric(med(os), "off-start-us")
	b.ReportMetric(med(kt), "kill-total-us")
	b.ReportMetric(med(ot), "off-total-us")
	b.ReportMetric(med(dt), "diff-total-us")
}
