package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// ErrDeadline: a library instance ran past its call's deadline.
var ErrDeadline = errors.New("monitor: call deadline exceeded")

// CalleeConfig describes a library instance for NewCallee: a view whose
// memory already holds a library booted to its ready point (a copy of its
// pristine image), with its vCPU parked at the trampoline's callee entry.
type CalleeConfig struct {
	// Name is the library's name, for messages ("library NAME: …").
	Name string
	// Machine is the VM and vCPU 0 (CPUID set) the instance runs in.
	// NewCallee takes it over: it is closed with the Monitor, or by
	// NewCallee when it fails.
	Machine *kvm.Machine
	// RAM is the view's memory (index = GPA), from mmap; it stays the
	// caller's, to unmap after Close. Hypercall pointers are checked
	// against it.
	RAM []byte
	// Slots are the memslots of the view, in slot order: RAM except the
	// call area, and the calling session's call area at uaafabi.CallGPA.
	Slots []Slot
	// ReadOnly are the read-only pages of RAM (text, rodata, trampoline):
	// NewCallee maps them as read-only memslots (or protects them on the
	// host where KVM has none), and the monitor never writes there. A
	// range is applied to whichever slot holds its guest-physical pages.
	ReadOnly []hvt.Range
	// Sregs and RIP are the vCPU's state at the ready point.
	Sregs kvm.Sregs
	RIP   uint64
	// Console receives the library's console output; nil means os.Stdout.
	Console io.Writer
}

// Slot is one guest-physical range of a VM backed by host memory.
type Slot struct {
	GPA uint64
	Mem []byte // from mmap: it must never move
}

// callee is what a library instance's Monitor has beyond a guest's.
type callee struct {
	name    string
	started bool        // the vCPU runner is on its thread
	expired atomic.Bool // the current call's deadline timer fired
}

// NewCallee makes a Monitor that serves calls into one library instance
// (Call). It runs the same loop as a guest, with the callee's rules: a
// library may print (PUTS) and read the clock (WALLTIME) with pointers
// outside the call area; its switch to view 0 returns from Call; anything
// else — another hypercall, a halt, a trap, memory outside its view, another
// view — is a *GuestError naming the library.
func NewCallee(cfg CalleeConfig) (m *Monitor, err error) {
	m = &Monitor{console: cfg.Console, waker: -1, callee: &callee{name: cfg.Name},
		ram: cfg.RAM, mem: hvt.Memory(cfg.RAM), ro: cfg.ReadOnly, ramBorrowed: true}
	if m.console == nil {
		m.console = os.Stdout
	}
	m.log = m.console
	if cfg.Machine == nil {
		return nil, &Error{Kind: ErrHost, Msg: "monitor: NewCallee needs a machine"}
	}
	m.machine = *cfg.Machine
	defer func() {
		if err != nil {
			m.Close()
			m = nil
		}
	}()
	var slot uint32
	for _, s := range cfg.Slots {
		if slot, err = mapGuest(m.machine.VM, slot, s.GPA, s.Mem, cfg.ReadOnly, false); err != nil {
			return m, fmt.Errorf("library %s: %w", cfg.Name, m.hostErr(err))
		}
	}
	k := m.machine.VCPU
	sregs := cfg.Sregs
	if err := k.SetSregs(&sregs); err != nil {
		return m, m.hostErr(err)
	}
	regs := kvm.Regs{RIP: cfg.RIP, RFLAGS: 0x2}
	if err := k.SetRegs(&regs); err != nil {
		return m, m.hostErr(err)
	}
	m.registerCalleeHypercalls()
	return m, nil
}

// registerCalleeHypercalls installs the hypercalls a library instance may
// make; every other number is a fault.
func (m *Monitor) registerCalleeHypercalls() {
	m.handlers[hvt.HypercallPuts] = (*Monitor).hcCalleePuts
	m.handlers[hvt.HypercallWalltime] = (*Monitor).hcCalleeWalltime
	m.handlers[hvt.HypercallHalt] = (*Monitor).hcCalleeHalt
}

// Call runs the library instance on the calling goroutine until it switches
// back to view 0 (nil), faults (*GuestError), passes deadline (ErrDeadline:
// the instance is then stopped for good) or is stopped (an error wrapping
// vcpu.ErrStopped). The first Call locks the goroutine to its OS thread
// until Close; every Call and the Close must come from that goroutine (a
// session's vCPU thread).
func (m *Monitor) Call(deadline time.Time) (err error) {
	c := m.callee
	if c == nil {
		return &Error{Kind: ErrHost, Msg: "monitor: Call on a guest that is not a library instance"}
	}
	if !c.started {
		if m.machine.VCPU == nil {
			return m.guestFault("instance closed")
		}
		m.startVCPU()
		c.started = true
	}
	v := m.vcpu
	if v == nil {
		return m.guestFault("instance closed")
	}
	if !time.Now().Before(deadline) {
		v.Stop() // as if the timer had fired at once
		return ErrDeadline
	}
	timer := time.AfterFunc(time.Until(deadline), func() {
		c.expired.Store(true)
		v.Stop()
	})
	defer func() {
		// A timer that fired as the call ended has stopped the vCPU for
		// good: count the call as late, so the instance is discarded
		// rather than failing its next call.
		if !timer.Stop() && err == nil {
			err = ErrDeadline
		}
	}()
	err = m.loop()
	if errors.Is(err, vcpu.ErrStopped) && c.expired.Load() {
		return ErrDeadline
	}
	return err
}

// outsideCallArea refuses a library's hypercall memory in the call area: in
// the instance's VM those GPAs are the session's shared pages, not the
// private mapping the monitor serves hypercalls from. A library copies data
// out of the call area before it prints it.
func (m *Monitor) outsideCallArea(what string, gpa, size uint64) error {
	end := gpa + size
	switch {
	case end < gpa:
		return m.guestFault("%s: pointer %#x+%d wraps around the address space", what, gpa, size)
	case gpa < uaafabi.WindowEnd && end > uaafabi.CallGPA:
		return m.guestFault("%s: pointer %#x+%d into the call area", what, gpa, size)
	}
	return nil
}

func (m *Monitor) hcCalleePuts(gpa uint64) error {
	if err := m.outsideCallArea("PUTS", gpa, hvt.SizePuts); err != nil {
		return err
	}
	if b, err := m.mem.Slice(gpa, hvt.SizePuts); err == nil {
		p := hvt.DecodePuts(b)
		if err := m.outsideCallArea("PUTS", p.Data, p.Len); err != nil {
			return err
		}
	}
	return m.hcPuts(gpa)
}

func (m *Monitor) hcCalleeWalltime(gpa uint64) error {
	if err := m.outsideCallArea("WALLTIME", gpa, hvt.SizeWalltime); err != nil {
		return err
	}
	return m.hcWalltime(gpa)
}

// hcCalleeHalt turns a library's HALT (exit or abort, e.g. from a trap
// handler) into a fault that names the status. Its argument struct must lie
// outside the call area, as PUTS's and WALLTIME's must (found by
// FuzzCalleeHypercall: the status was read from the instance's own pages
// behind the session's call area, not from what the library wrote).
func (m *Monitor) hcCalleeHalt(gpa uint64) error {
	if err := m.outsideCallArea("HALT", gpa, hvt.SizeHalt); err != nil {
		return err
	}
	b, err := m.guestSlice("HALT", gpa, hvt.SizeHalt)
	if err != nil {
		return err
	}
	h := hvt.DecodeHalt(b)
	if h.Status&0xff == hvt.ExitAbort {
		return m.guestFault("aborted")
	}
	return m.guestFault("exited with status %d", h.Status&0xff)
}
