package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// buildMaxRSS compiles testdata/maxrss.c, the launcher that measures a
// command's wall time and true peak RSS (see the comment in the file for why
// the Go process cannot read the latter from its own child).
func buildMaxRSS(b *testing.B) string {
	b.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		b.Fatalf("no C compiler to build testdata/maxrss.c (make deps installs gcc): %v", err)
	}
	out := filepath.Join(b.TempDir(), "maxrss")
	if o, err := exec.Command(cc, "-O2", "-Wall", "-o", out, filepath.Join("testdata", "maxrss.c")).CombinedOutput(); err != nil {
		b.Fatalf("cc testdata/maxrss.c: %v\n%s", err, o)
	}
	return out
}

// buildFloor builds the two do-nothing programs of testdata (floor.go,
// static like uaaf; floor.c, dynamic like solo5-hvt) and returns their paths.
func buildFloor(b *testing.B) (goProg, cProg string) {
	b.Helper()
	dir := b.TempDir()
	goProg, cProg = filepath.Join(dir, "floor-go"), filepath.Join(dir, "floor-c")
	gocmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", goProg, filepath.Join("testdata", "floor", "floor.go"))
	gocmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := gocmd.CombinedOutput(); err != nil {
		b.Fatalf("go build testdata/floor: %v\n%s", err, o)
	}
	if o, err := exec.Command("cc", "-O2", "-o", cProg, filepath.Join("testdata", "floor.c")).CombinedOutput(); err != nil {
		b.Fatalf("cc testdata/floor.c: %v\n%s", err, o)
	}
	return goProg, cProg
}

// coldRun runs one tender process to completion under the launcher and
// returns its wall time (fork to reap) and peak RSS in KiB. Anything but exit
// status 0 fails b.
func coldRun(b *testing.B, launcher, path string, args ...string) (time.Duration, int64) {
	b.Helper()
	d, kib, _, _ := coldRunOutput(b, launcher, path, args...)
	return d, kib
}

// coldRunOutput is coldRun that also returns the process's stdout and
// stderr.
func coldRunOutput(b *testing.B, launcher, path string, args ...string) (time.Duration, int64, string, string) {
	b.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(launcher, append([]string{path}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.ExtraFiles = []*os.File{w} // fd 3: the launcher's report
	err = cmd.Run()
	w.Close()
	if err != nil {
		b.Fatalf("%s %q: %v; stderr %q", path, args, err, stderr.String())
	}
	report, err := io.ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	var ns, kib int64
	if _, err := fmt.Sscanf(string(report), "ns=%d maxrss_kib=%d", &ns, &kib); err != nil {
		b.Fatalf("launcher report %q: %v", report, err)
	}
	// Not cmd.ProcessState.SysUsage(): the launcher's own ru_maxrss carries
	// this process's RSS; only its report about its child is used.
	return time.Duration(ns), kib, stdout.String(), stderr.String()
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	switch {
	case len(s) == 0:
		return 0
	case len(s)%2 == 1:
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// BenchmarkColdRun measures whole `uaaf run` processes: exec, VM creation,
// image load, boot, the guest's run and exit. Absolute times on PVM hosts are
// emulator times; the comparable numbers are the ratio and the RSS.
//
// hello: uaaf's own hello guest at --mem=512; reports peak-rss-KiB, the
// maximum over iterations of the process's ru_maxrss.
//
// vs-solo5 (only with SOLO5_HVT=path of solo5-hvt and SOLO5_IMG=a Solo5
// hello image): each iteration runs that image under uaaf and under
// solo5-hvt, alternating which goes first, and reports uaaf/solo5-ratio: the
// median uaaf time over the median solo5-hvt time of the same loop; and
// both peak RSS values. Each iteration also runs a static Go program and a C
// program that only exit (testdata/floor*) and reports go-floor-ratio:
// (solo5-hvt + Go - C) / solo5-hvt with medians, the ratio a Go monitor would
// have if everything but the language runtime's start-up cost what
// solo5-hvt's does.
func BenchmarkColdRun(b *testing.B) {
	kvmtest.Require(b)
	bin := binary(b)
	hello := kvmtest.GuestImage(b, "hello")
	launcher := buildMaxRSS(b)

	b.Run("hello", func(b *testing.B) {
		var peak int64
		for b.Loop() {
			_, rss := coldRun(b, launcher, bin, "run", "--mem=512", hello, "Hello_Solo5")
			peak = max(peak, rss)
		}
		b.ReportMetric(float64(peak), "peak-rss-KiB")
	})

	solo5, img := os.Getenv("SOLO5_HVT"), os.Getenv("SOLO5_IMG")
	if solo5 == "" || img == "" {
		b.Logf("SOLO5_HVT and SOLO5_IMG not both set: no comparison with solo5-hvt")
		return
	}
	goFloor, cFloor := buildFloor(b)
	b.Run("vs-solo5", func(b *testing.B) {
		var ut, st, gt, ct []time.Duration
		var upeak, speak int64
		runU := func() {
			d, rss := coldRun(b, launcher, bin, "run", "--mem=512", img, "Hello_Solo5")
			ut, upeak = append(ut, d), max(upeak, rss)
		}
		runS := func() {
			d, rss := coldRun(b, launcher, solo5, "--mem=512", img, "Hello_Solo5")
			st, speak = append(st, d), max(speak, rss)
		}
		runG := func() {
			d, _ := coldRun(b, launcher, goFloor)
			gt = append(gt, d)
		}
		runC := func() {
			d, _ := coldRun(b, launcher, cFloor)
			ct = append(ct, d)
		}
		i := 0
		for b.Loop() {
			if i%2 == 0 {
				runU()
				runS()
				runG()
				runC()
			} else {
				runS()
				runU()
				runC()
				runG()
			}
			i++
		}
		if mu, ms := median(ut), median(st); ms > 0 {
			b.ReportMetric(float64(mu)/float64(ms), "uaaf/solo5-ratio")
			b.ReportMetric(float64(ms+median(gt)-median(ct))/float64(ms), "go-floor-ratio")
		}
		b.ReportMetric(float64(upeak), "uaaf-peak-rss-KiB")
		b.ReportMetric(float64(speak), "solo5-peak-rss-KiB")
	})
}

// quartiles returns the 25th, 50th and 75th percentiles of ds.
func quartiles(ds []time.Duration) (p25, p50, p75 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s) == 0 {
		return 0, 0, 0
	}
	return s[len(s)/4], median(s), s[len(s)*3/4]
}

// us is d in microseconds, for metrics.
func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

// statsSeccomp returns phases_ms.seccomp of the --stats JSON on stderr's
// last line.
func statsSeccomp(b *testing.B, stderr string) time.Duration {
	b.Helper()
	ls := lines(stderr)
	var st struct {
		Phases map[string]float64 `json:"phases_ms"`
	}
	if len(ls) == 0 || json.Unmarshal([]byte(ls[len(ls)-1]), &st) != nil {
		b.Fatalf("no --stats JSON on stderr: %q", stderr)
	}
	return time.Duration(st.Phases["seccomp"] * float64(time.Millisecond))
}

// alternate runs run("kill") and run("off") once per b.Loop iteration,
// in alternating order so that neither always goes first, and returns
// their durations and the pairwise differences kill-off.
func alternate(b *testing.B, run func(mode string) time.Duration) (kill, off, diff []time.Duration) {
	for i := 0; b.Loop(); i++ {
		var k, o time.Duration
		if i%2 == 0 {
			k, o = run("kill"), run("off")
		} else {
			o, k = run("off"), run("kill")
		}
		kill, off, diff = append(kill, k), append(off, o), append(diff, k-o)
	}
	return kill, off, diff
}

// BenchmarkSeccomp measures what the seccomp filter costs `uaaf run`, with
// the filter (--seccomp=kill) and without (--seccomp=off) alternating in
// each iteration, in the same run:
//
// cold: whole `uaaf run --mem=32 hello` processes (as BenchmarkColdRun);
// kill-us and off-us are their medians, diff-us the median of the paired
// differences kill − off, diff-p25-us and diff-p75-us its quartiles (the
// spread says how much of a difference this machine can see), install-us
// the median time Install took inside the kill runs (--stats).
//
// call: the call benchmark session (callbench, 1000 calls of testfns.nop on
// the exit backend, timed by the guest's clock) under each; kill-ns/call and
// off-ns/call are medians, diff-ns/call the median paired difference. A
// call makes two KVM_RUN ioctls, each filtered once.
func BenchmarkSeccomp(b *testing.B) {
	kvmtest.Require(b)
	bin := binary(b)
	launcher := buildMaxRSS(b)
	b.Run("cold", func(b *testing.B) {
		hello := kvmtest.GuestImage(b, "hello")
		var install []time.Duration
		run := func(mode string) time.Duration {
			d, _, _, stderr := coldRunOutput(b, launcher, bin, "run", "--stats", "--seccomp="+mode, "--mem=32", hello, "Hello_Solo5")
			if mode == "kill" {
				install = append(install, statsSeccomp(b, stderr))
			}
			return d
		}
		kill, off, diff := alternate(b, run)
		p25, p50, p75 := quartiles(diff)
		b.ReportMetric(us(median(kill)), "kill-us")
		b.ReportMetric(us(median(off)), "off-us")
		b.ReportMetric(us(p50), "diff-us")
		b.ReportMetric(us(p25), "diff-p25-us")
		b.ReportMetric(us(p75), "diff-p75-us")
		b.ReportMetric(us(median(install)), "install-us")
	})
	b.Run("call", func(b *testing.B) {
		callbench, testfns := kvmtest.GuestImage(b, "callbench"), kvmtest.LibraryImage(b, "testfns")
		const calls = 1000
		run := func(mode string) time.Duration {
			_, _, stdout, stderr := coldRunOutput(b, launcher, bin, "run", "--seccomp="+mode, "--mem=8", "--lib", "testfns="+testfns, callbench, strconv.Itoa(calls))
			var n, ns int64
			i := strings.Index(stdout, "BENCH calls ")
			if i < 0 {
				b.Fatalf("callbench printed no BENCH line: %q %q", stdout, stderr)
			}
			if _, err := fmt.Sscanf(stdout[i:], "BENCH calls %d ns %d", &n, &ns); err != nil || n != calls {
				b.Fatalf("callbench: %q: %v", stdout[i:], err)
			}
			return time.Duration(ns / n)
		}
		kill, off, diff := alternate(b, run)
		p25, p50, p75 := quartiles(diff)
		b.ReportMetric(float64(median(kill)), "kill-ns/call")
		b.ReportMetric(float64(median(off)), "off-ns/call")
		b.ReportMetric(float64(p50), "diff-ns/call")
		b.ReportMetric(float64(p25), "diff-p25-ns/call")
		b.ReportMetric(float64(p75), "diff-p75-ns/call")
	})
}
