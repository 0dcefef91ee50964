package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/kvmtrace"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/libfuncs/libvm"
	"github.com/uaaf/uaaf/session"
	"github.com/uaaf/uaaf/tools/bench/libtext"
	"github.com/uaaf/uaaf/tools/bench/procmem"
)

// newRegistry returns a registry preloading (pinned) the named libraries.
func newRegistry(b *testing.B, names ...string) *libvm.Registry {
	b.Helper()
	kvmtest.Require(b)
	reg := libvm.NewRegistry(libvm.Config{Console: io.Discard}, libfuncs.Config[*libvm.Library]{})
	b.Cleanup(func() { reg.Close() })
	for _, n := range names {
		if _, err := reg.Preload(n, kvmtest.LibraryImage(b, n), true); err != nil {
			b.Fatalf("preload %s: %v", n, err)
		}
	}
	return reg
}

// BenchmarkCall measures a round trip into a trivial library function
// (testfns.nop) on the exit backend, timed by the guest's own clock, against
// a plain hvt hypercall (a PUTS of 0 bytes) measured the same way in the same run
// (see MeasureCalls).
//
// Metrics: ns/call and ns/hypercall (guest-measured), x-hypercall (their
// ratio), exits/op (VM exits per call: the session's switch plus the
// callee's return). On PVM hosts ring-0 guest code is emulated (~1 µs an
// instruction), so ns/call there is dominated by the instructions of
// uaaf_call, the trampoline and the dispatcher; exits/op transfers to
// hardware as is. Where eBPF is available the kernel's own counts are
// reported too: emulated-insns/call and /hypercall (KVM's emulator runs every
// ring-0 instruction on PVM, so this is the guest's instruction count on the
// path) and kernel-exits/call.
func BenchmarkCall(b *testing.B) {
	reg := newRegistry(b, "testfns")
	var tr Counter
	if c, err := kvmtrace.New(kvmtrace.EmulateInsn, kvmtrace.UserspaceExit); err == nil {
		defer c.Close()
		tr = c
	} else {
		b.Logf("no kernel-side counts: %v", err)
	}
	r, err := MeasureCalls(reg, kvmtest.GuestImage(b, "callbench"), max(b.N, 10), tr)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(r.CallNs, "ns/call")
	b.ReportMetric(r.HypercallNs, "ns/hypercall")
	b.ReportMetric(r.XHypercall, "x-hypercall")
	b.ReportMetric(r.ExitsPerCall, "exits/op")
	if r.Traced {
		b.ReportMetric(r.InsnsCall, "emulated-insns/call")
		b.ReportMetric(r.InsnsHypercall, "emulated-insns/hypercall")
		b.ReportMetric(r.KernelExits, "kernel-exits/call")
	} else {
		b.Logf("no kernel-side counts: %s", r.TraceError)
	}
}

// BenchmarkSessionStart measures starting a session that imports four
// preloaded functions — to its first instruction and to its halt — against
// a cold start of the same session in the same run (see MeasureStart).
// x-cold-first and x-cold-halt are warm ÷ cold (lower is better; medians).
func BenchmarkSessionStart(b *testing.B) {
	kvmtest.Require(b)
	libs := map[string]string{}
	for _, l := range []string{"base64", "sha256", "crc32", "sort"} {
		libs[l] = kvmtest.LibraryImage(b, l)
	}
	r, err := MeasureStart(kvmtest.GuestImage(b, "demo"), libs, b.N)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(r.WarmFirst.Microseconds()), "us-first")
	b.ReportMetric(float64(r.WarmHalt.Microseconds()), "us-halt")
	b.ReportMetric(r.XColdFirst, "x-cold-first")
	b.ReportMetric(r.XColdHalt, "x-cold-halt")
}

// BenchmarkSessionMemory keeps N sessions alive at once (each has run the
// demo, so each holds live instances of four shared libraries) and reports
// host memory per extra session from /proc/self/smaps_rollup (B/session of
// Pss and of Private_Dirty), and the libraries' text Pss summed over all
// instances: text-B is the resident text counted once per page frame, text-private-B
// the text bytes private to any instance (0: one host copy however large N
// is).
func BenchmarkSessionMemory(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			if n == 100 && testing.Short() {
				b.Skip("short")
			}
			reg := newRegistry(b, "base64", "sha256", "crc32", "sort")
			textRanges := map[string][]hvt.Range{}
			for _, l := range []string{"base64", "sha256", "crc32", "sort"} {
				rs, err := libtext.Ranges(kvmtest.LibraryImage(b, l))
				if err != nil {
					b.Fatal(err)
				}
				textRanges[l] = rs
			}
			for i := 0; i < b.N; i++ {
				before, err := procmem.ReadRollup(procmem.Self)
				if err != nil {
					b.Fatal(err)
				}
				var ss []*session.Session
				for j := 0; j < n; j++ {
					var out bytes.Buffer
					s, err := session.New(session.Config{
						Monitor:  monitor.Config{Kernel: kvmtest.GuestImage(b, "demo"), MemSize: 8 << 20, Console: &out, Log: &out},
						Registry: reg,
					})
					if err != nil {
						b.Fatal(err)
					}
					if st, err := s.Run(context.Background()); err != nil || st != 0 {
						b.Fatalf("demo: %d %v", st, err)
					}
					ss = append(ss, s)
				}
				after, err := procmem.ReadRollup(procmem.Self)
				if err != nil {
					b.Fatal(err)
				}
				// Text pages private to an instance would be extra copies;
				// the shared ones are one copy however many map them.
				text, err := libtext.Measure([]int{procmem.Self}, textRanges)
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range ss {
					s.Close()
				}
				b.ReportMetric((float64(after.Pss)-float64(before.Pss))/float64(n), "Pss-B/session")
				b.ReportMetric((float64(after.PrivateDirty)-float64(before.PrivateDirty))/float64(n), "PrivDirty-B/session")
				b.ReportMetric(float64(text.Private), "text-private-B")
				b.ReportMetric(float64(text.Once), "text-B")
			}
		})
	}
}
