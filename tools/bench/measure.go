// Package bench holds uaaf's measurements: what `uaaf bench` runs and the
// go test benchmarks report. Each reports ratios against a baseline measured
// in the same run, plus counts that carry over to other hardware (VM exits,
// emulated guest instructions, bytes of memory).
package bench

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/libfuncs/libvm"
	"github.com/uaaf/uaaf/session"
)

// CallResult is what MeasureCalls found, per operation.
type CallResult struct {
	N              int     `json:"n"`
	CallNs         float64 `json:"ns_per_call"`      // guest-measured round trip of a call
	HypercallNs    float64 `json:"ns_per_hypercall"` // guest-measured plain hypercall (PUTS of 0 bytes)
	XHypercall     float64 `json:"x_hypercall"`      // CallNs / HypercallNs
	ExitsPerCall   float64 `json:"exits_per_call"`   // monitor-side: switch + callee return
	Traced         bool    `json:"traced"`           // the kernel-side counts below are valid
	InsnsCall      float64 `json:"emulated_insns_per_call"`
	InsnsHypercall float64 `json:"emulated_insns_per_hypercall"`
	KernelExits    float64 `json:"kernel_exits_per_call"`
	TraceError     string  `json:"trace_error,omitempty"`
}

// runCallbench runs the callbench session image with args and returns the
// guest's own measurement of its loop (ns) and the closed session's view
// exits and switches.
func runCallbench(reg *libvm.Registry, image string, args ...string) (ns float64, exits uint64, err error) {
	var out bytes.Buffer
	s, err := session.New(session.Config{
		Monitor:  monitor.Config{Kernel: image, MemSize: 8 << 20, Args: args, Console: &out, Log: &out},
		Registry: reg,
	})
	if err != nil {
		return 0, 0, err
	}
	defer s.Close()
	status, err := s.Run(context.Background())
	if err != nil || status != 0 {
		return 0, 0, fmt.Errorf("callbench %v: status %d, %v\n%s", args, status, err, out.String())
	}
	exits = s.Monitor().Stats().Switches
	for _, v := range s.Row().Views {
		exits += v.Exits
	}
	_, loop, err := ParseBench(out.String())
	if err != nil {
		return 0, 0, fmt.Errorf("callbench %v: %w", args, err)
	}
	return float64(loop), exits, nil
}

// Counter reads host-wide counts of KVM events by name (kvmtrace.Counter
// does, with eBPF). It is an interface so that the uaaf binary need not
// link the eBPF library.
type Counter interface {
	Read() (map[string]uint64, error)
}

// Event names MeasureCalls reads from a Counter (the KVM tracepoints).
const (
	EventEmulateInsn   = "kvm_emulate_insn"
	EventUserspaceExit = "kvm_userspace_exit"
)

// MeasureCalls measures n calls of testfns.nop made by the callbench
// session image, against n plain hypercalls (PUTS of 0 bytes) from the same image, on the
// exit backend. reg must be able to provide "testfns". With a Counter of
// EventEmulateInsn and EventUserspaceExit it adds the kernel's counts, per
// operation, from the difference between runs of n and 2n (which cancels
// boot and halt); tr may be nil.
func MeasureCalls(reg *libvm.Registry, image string, n int, tr Counter) (CallResult, error) {
	r := CallResult{N: n}
	hcNs, _, err := runCallbench(reg, image, "hc", strconv.Itoa(n))
	if err != nil {
		return r, err
	}
	callNs, exits, err := runCallbench(reg, image, strconv.Itoa(n))
	if err != nil {
		return r, err
	}
	r.CallNs, r.HypercallNs = callNs/float64(n), hcNs/float64(n)
	r.XHypercall = callNs / hcNs
	r.ExitsPerCall = float64(exits) / float64(n)

	if tr == nil {
		r.TraceError = "no kernel event counter given"
		return r, nil
	}
	count := func(args ...string) (map[string]float64, error) {
		var one, two map[string]uint64
		for i, k := range []int{n, 2 * n} {
			before, err := tr.Read()
			if err != nil {
				return nil, err
			}
			if _, _, err := runCallbench(reg, image, append(args, strconv.Itoa(k))...); err != nil {
				return nil, err
			}
			after, err := tr.Read()
			if err != nil {
				return nil, err
			}
			d := map[string]uint64{}
			for ev := range after {
				d[ev] = after[ev] - before[ev]
			}
			if i == 0 {
				one = d
			} else {
				two = d
			}
		}
		per := map[string]float64{}
		for ev := range two {
			per[ev] = (float64(two[ev]) - float64(one[ev])) / float64(n)
		}
		return per, nil
	}
	hc, err := count("hc")
	if err != nil {
		return r, err
	}
	call, err := count()
	if err != nil {
		return r, err
	}
	r.Traced = true
	r.InsnsHypercall = hc[EventEmulateInsn]
	r.InsnsCall = call[EventEmulateInsn]
	r.KernelExits = call[EventUserspaceExit]
	return r, nil
}

// StartResult is what MeasureStart found: medians over its rounds.
type StartResult struct {
	Rounds     int           `json:"rounds"`
	WarmFirst  time.Duration `json:"warm_first_ns"` // bind + boot to the first instruction, libraries preloaded
	WarmHalt   time.Duration `json:"warm_halt_ns"`  // … to halt
	ColdFirst  time.Duration `json:"cold_first_ns"` // the same with the libraries loaded from disk first
	ColdHalt   time.Duration `json:"cold_halt_ns"`
	XColdFirst float64       `json:"x_cold_first"` // WarmFirst / ColdFirst
	XColdHalt  float64       `json:"x_cold_halt"`
}

// startOnce binds and runs a session image with reg and returns the times
// to its first instruction and to its halt.
func startOnce(reg *libvm.Registry, image string) (first, halt time.Duration, err error) {
	start := time.Now()
	var out bytes.Buffer
	s, err := session.New(session.Config{
		Monitor:  monitor.Config{Kernel: image, MemSize: 8 << 20, Console: &out, Log: &out},
		Registry: reg,
	})
	if err != nil {
		return 0, 0, err
	}
	status, err := s.Run(context.Background())
	halt = time.Since(start)
	first = halt - s.Monitor().Stats().Run
	s.Close()
	if err != nil || status != 0 {
		return 0, 0, fmt.Errorf("%s: status %d, %v\n%s", image, status, err, out.String())
	}
	return first, halt, nil
}

// MeasureStart measures starting the session image with its libraries
// (name → image path) preloaded, against a cold start in the same run: a
// fresh registry that loads and boots the libraries from disk first, as a
// plain `uaaf run` does.
func MeasureStart(image string, libs map[string]string, rounds int) (StartResult, error) {
	r := StartResult{Rounds: rounds}
	names := make([]string, 0, len(libs))
	for n := range libs {
		names = append(names, n)
	}
	sort.Strings(names)
	newReg := func(preload bool) (*libvm.Registry, time.Duration, error) {
		reg := libvm.NewRegistry(libvm.Config{Console: &bytes.Buffer{}}, libfuncs.Config[*libvm.Library]{})
		start := time.Now()
		for _, n := range names {
			if _, err := reg.Preload(n, libs[n], preload); err != nil {
				reg.Close()
				return nil, 0, err
			}
		}
		return reg, time.Since(start), nil
	}
	warm, _, err := newReg(true)
	if err != nil {
		return r, err
	}
	defer warm.Close()
	var wf, wh, cf, ch []time.Duration
	for i := 0; i < rounds; i++ {
		f, h, err := startOnce(warm, image)
		if err != nil {
			return r, err
		}
		wf, wh = append(wf, f), append(wh, h)
		cold, load, err := newReg(false)
		if err != nil {
			return r, err
		}
		f, h, err = startOnce(cold, image)
		cold.Close()
		if err != nil {
			return r, err
		}
		cf, ch = append(cf, load+f), append(ch, load+h)
	}
	r.WarmFirst, r.WarmHalt, r.ColdFirst, r.ColdHalt = Median(wf), Median(wh), Median(cf), Median(ch)
	r.XColdFirst = float64(r.WarmFirst) / float64(r.ColdFirst)
	r.XColdHalt = float64(r.WarmHalt) / float64(r.ColdHalt)
	return r, nil
}

// Median returns the median of d (d is not modified).
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}
