package session

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/kvmtrace"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/libfuncs"
)

// runBench runs the callbench session with args and returns the guest's
// own measurement (ns for the whole loop) and the session for its stats.
func runBench(b *testing.B, reg *libfuncs.Registry, args ...string) (guestNs float64, s *Session) {
	b.Helper()
	var out bytes.Buffer
	s, err := New(Config{
		Monitor:  monitor.Config{Kernel: kvmtest.GuestImage(b, "callbench"), MemSize: 8 << 20, Args: args, Console: &out, Log: &out},
		Registry: reg,
	})
	if err != nil {
		b.Fatal(err)
	}
	status, err := s.Run(context.Background())
	if err != nil || status != 0 {
		s.Close()
		b.Fatalf("callbench %v: %d %v\n%s", args, status, err, out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 5 && f[0] == "BENCH" {
			ns, _ := strconv.ParseFloat(f[4], 64)
			return ns, s
		}
	}
	s.Close()
	b.Fatalf("no BENCH line:\n%s", out.String())
	return 0, nil
}

// BenchmarkCall measures a round trip into a trivial library function
// (testfns.nop) on the exit backend, timed by the guest's own clock, against
// a plain hvt hypercall (WALLTIME) measured the same way in the same run.
//
// Metrics: ns/call and ns/hypercall (guest-measured), x-hypercall (their
// ratio), exits/op (VM exits per call: the session's switch plus the
// callee's return). On PVM hosts ring-0 guest code is emulated (~1 µs an
// instruction), so ns/call there is dominated by the ~150 instructions of
// uaaf_call, the trampoline and the dispatcher; exits/op transfers to
// hardware as is. Where eBPF is available the kernel's own counts are
// reported too: emulated-insns/call and /hypercall (KVM's emulator runs every
// ring-0 instruction on PVM, so this is the guest's instruction count on the
// path) and kernel-exits/call.
func BenchmarkCall(b *testing.B) {
	reg := newRegistry(b, "testfns")
	n := max(b.N, 10)
	// Kernel-side counts, when eBPF is available: emulated guest
	// instructions and exits, per call and per hypercall (the difference
	// between a run of n and a run of 2n cancels boot and halt).
	tr, trErr := kvmtrace.New(kvmtrace.EmulateInsn, kvmtrace.UserspaceExit)
	if trErr == nil {
		defer tr.Close()
	} else {
		b.Logf("no kernel-side counts: %v", trErr)
	}
	perOp := func(args ...string) (insns, exits float64) {
		if trErr != nil {
			return 0, 0
		}
		count := func(k int) map[string]uint64 {
			before, _ := tr.Read()
			_, s := runBench(b, reg, append(args, strconv.Itoa(k))...)
			s.Close()
			after, _ := tr.Read()
			return map[string]uint64{
				kvmtrace.EmulateInsn:   after[kvmtrace.EmulateInsn] - before[kvmtrace.EmulateInsn],
				kvmtrace.UserspaceExit: after[kvmtrace.UserspaceExit] - before[kvmtrace.UserspaceExit],
			}
		}
		one, two := count(n), count(2*n)
		d := func(ev string) float64 { return (float64(two[ev]) - float64(one[ev])) / float64(n) }
		return d(kvmtrace.EmulateInsn), d(kvmtrace.UserspaceExit)
	}
	hcInsns, _ := perOp("hc")
	callInsns, callExits := perOp()

	hcNs, hs := runBench(b, reg, "hc", strconv.Itoa(n))
	hs.Close()
	b.ResetTimer()
	callNs, s := runBench(b, reg, strconv.Itoa(n))
	b.StopTimer()
	if trErr == nil {
		b.ReportMetric(callInsns, "emulated-insns/call")
		b.ReportMetric(hcInsns, "emulated-insns/hypercall")
		b.ReportMetric(callExits, "kernel-exits/call")
	}
	defer s.Close()
	exits := s.Monitor().Stats().Switches
	for _, v := range s.Row().Views {
		exits += v.Exits
	}
	b.ReportMetric(callNs/float64(n), "ns/call")
	b.ReportMetric(hcNs/float64(n), "ns/hypercall")
	b.ReportMetric(callNs/hcNs, "x-hypercall")
	b.ReportMetric(float64(exits)/float64(n), "exits/op")
}

// startSession binds and runs the demo session (it imports four functions)
// and returns the time to its first instruction and to its halt.
func startSession(b *testing.B, reg *libfuncs.Registry) (first, halt time.Duration) {
	start := time.Now()
	var out bytes.Buffer
	s, err := New(Config{
		Monitor:  monitor.Config{Kernel: kvmtest.GuestImage(b, "demo"), MemSize: 8 << 20, Console: &out, Log: &out},
		Registry: reg,
	})
	if err != nil {
		b.Fatal(err)
	}
	status, err := s.Run(context.Background())
	halt = time.Since(start)
	st := s.Monitor().Stats()
	first = halt - st.Run
	s.Close()
	if err != nil || status != 0 {
		b.Fatalf("demo: %d %v\n%s", status, err, out.String())
	}
	return first, halt
}

// BenchmarkSessionStart measures starting a session that imports four
// preloaded functions — to its first instruction and to its halt — against
// a cold start of the same session in the same run: a fresh registry that
// loads and boots the four libraries from disk first, as a plain
// `uaaf run` of the session does. Metrics x-cold-first and x-cold-halt are
// warm ÷ cold (lower is better; medians).
func BenchmarkSessionStart(b *testing.B) {
	kvmtest.Require(b)
	libs := []string{"base64", "sha256", "crc32", "sort"}
	warm := newRegistry(b, libs...)
	var wf, wh, cf, ch []time.Duration
	for i := 0; i < b.N; i++ {
		f, h := startSession(b, warm)
		wf, wh = append(wf, f), append(wh, h)

		b.StopTimer()
		cold, err := libfuncs.NewRegistry(libfuncs.Config{Console: &bytes.Buffer{}})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for _, l := range libs {
			if _, err := cold.Preload(l, libImage(b, l), false); err != nil {
				b.Fatal(err)
			}
		}
		load := time.Since(t0)
		f, h = startSession(b, cold)
		cf, ch = append(cf, load+f), append(ch, load+h)
		cold.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(median(wf).Microseconds()), "us-first")
	b.ReportMetric(float64(median(wh).Microseconds()), "us-halt")
	b.ReportMetric(float64(median(wf))/float64(median(cf)), "x-cold-first")
	b.ReportMetric(float64(median(wh))/float64(median(ch)), "x-cold-halt")
}

func median(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// rollup reads Pss and Private_Dirty of the whole process, in bytes.
func rollup(b *testing.B) (pss, privDirty uint64) {
	f, err := os.Open("/proc/self/smaps_rollup")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(fs[1], 10, 64)
		switch fs[0] {
		case "Pss:":
			pss = v << 10
		case "Private_Dirty:":
			privDirty = v << 10
		}
	}
	return pss, privDirty
}

// BenchmarkSessionMemory keeps N sessions alive at once (each has run the
// demo, so each holds live instances of four shared libraries) and reports
// host memory per extra session from /proc/self/smaps_rollup (B/session of
// Pss and of Private_Dirty), and the libraries' text Pss summed over all
// instances: text-B is one instance's resident text, text-private-B the text
// bytes private to any instance (0: one host copy however large N is).
func BenchmarkSessionMemory(b *testing.B) {
	for _, n := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			if n == 100 && testing.Short() {
				b.Skip("short")
			}
			reg := newRegistry(b, "base64", "sha256", "crc32", "sort")
			for i := 0; i < b.N; i++ {
				pss0, pd0 := rollup(b)
				var ss []*Session
				for j := 0; j < n; j++ {
					var out bytes.Buffer
					s, err := New(Config{
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
				pss1, pd1 := rollup(b)
				// Text pages private to an instance would be extra copies;
				// the shared ones are one copy however many map them.
				var textPrivate, textOnce uint64
				for _, s := range ss {
					for _, v := range s.views {
						if v.inst == nil {
							continue
						}
						e, err := smapsAt(uintptrOf(v.inst.Memory()) + 0x100000)
						if err != nil {
							b.Fatal(err)
						}
						textPrivate += (e.privateClean + e.privateDirty) << 10
						textOnce = max(textOnce, e.rss<<10)
					}
				}
				for _, s := range ss {
					s.Close()
				}
				b.ReportMetric(float64(pss1-pss0)/float64(n), "Pss-B/session")
				b.ReportMetric(float64(pd1-pd0)/float64(n), "PrivDirty-B/session")
				b.ReportMetric(float64(textPrivate), "text-private-B")
				b.ReportMetric(float64(textOnce), "text-B")
			}
		})
	}
}
