// Package kvmtrace counts KVM's own tracepoint events with eBPF, so that
// benchmarks can report work the kernel does on a guest's behalf — VM exits
// to user space, port I/O exits, instructions KVM had to emulate — measured
// independently of the monitor's own counters.
//
// It attaches one tiny raw-tracepoint program per event (raw tracepoints
// need neither tracefs nor kprobes) that adds one to a counter. Counts are
// host-wide: run the measured workload alone. Needs root (CAP_BPF and
// CAP_PERFMON) and a kernel with the kvm tracepoints; New reports why not
// otherwise.
package kvmtrace

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Events uaaf benchmarks count.
const (
	// UserspaceExit fires when KVM_RUN returns to user space (a VM exit the
	// monitor sees).
	UserspaceExit = "kvm_userspace_exit"
	// PIO fires on every guest port I/O KVM handles or forwards.
	PIO = "kvm_pio"
	// EmulateInsn fires for every instruction KVM's emulator runs; on PVM
	// hosts that is every ring-0 guest instruction.
	EmulateInsn = "kvm_emulate_insn"
)

// ErrUnavailable: eBPF or the tracepoint cannot be used here.
var ErrUnavailable = errors.New("kvmtrace: unavailable")

// Counter counts events of a set of KVM tracepoints. Read and Close are safe
// from any goroutine, but not concurrently with Close.
type Counter struct {
	maps  map[string]*ebpf.Map
	progs []*ebpf.Program
	links []link.Link
}

// New attaches a counter to each named tracepoint.
func New(events ...string) (c *Counter, err error) {
	// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK: lift it where
	// allowed (newer kernels charge memcg and need nothing; a failure shows
	// up below when a map cannot be created). Done here rather than through
	// cilium/ebpf's rlimit package, whose init makes a bpf(2) probe in every
	// program that links it — 0.7 ms of every uaaf start.
	inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &inf)
	cnt := &Counter{maps: map[string]*ebpf.Map{}}
	defer func() {
		if err != nil {
			cnt.Close() // c is nil here; release what was attached
		}
	}()
	c = cnt
	for _, ev := range events {
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 1})
		if err != nil {
			return nil, fmt.Errorf("%w: map for %s: %w", ErrUnavailable, ev, err)
		}
		c.maps[ev] = m
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name:         "uaaf_count",
			Type:         ebpf.RawTracepoint,
			License:      "GPL",
			Instructions: countProgram(m),
		})
		if err != nil {
			return nil, fmt.Errorf("%w: program for %s: %w", ErrUnavailable, ev, err)
		}
		c.progs = append(c.progs, prog)
		l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: ev, Program: prog})
		if err != nil {
			return nil, fmt.Errorf("%w: attach %s: %w", ErrUnavailable, ev, err)
		}
		c.links = append(c.links, l)
	}
	return c, nil
}

// countProgram adds one to element 0 of m: the whole program.
func countProgram(m *ebpf.Map) asm.Instructions {
	return asm.Instructions{
		asm.StoreImm(asm.R10, -4, 0, asm.Word), // key = 0 on the stack
		asm.Mov.Reg(asm.R2, asm.R10),
		asm.Add.Imm(asm.R2, -4),
		asm.LoadMapPtr(asm.R1, m.FD()),
		asm.FnMapLookupElem.Call(),
		asm.JEq.Imm(asm.R0, 0, "out"),
		asm.Mov.Imm(asm.R1, 1),
		asm.StoreXAdd(asm.R0, asm.R1, asm.DWord),
		asm.Mov.Imm(asm.R0, 0).WithSymbol("out"),
		asm.Return(),
	}
}

// Read returns the counts so far, by event name.
func (c *Counter) Read() (map[string]uint64, error) {
	out := make(map[string]uint64, len(c.maps))
	for ev, m := range c.maps {
		var v uint64
		if err := m.Lookup(uint32(0), &v); err != nil {
			return nil, fmt.Errorf("kvmtrace: read %s: %w", ev, err)
		}
		out[ev] = v
	}
	return out, nil
}

// Close detaches the programs and frees the maps.
func (c *Counter) Close() error {
	for _, l := range c.links {
		l.Close()
	}
	for _, p := range c.progs {
		p.Close()
	}
	for _, m := range c.maps {
		m.Close()
	}
	c.links, c.progs, c.maps = nil, nil, nil
	return nil
}
