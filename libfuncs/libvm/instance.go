package libvm

import (
	"fmt"
	"io"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

// Instance is one session's private view of a library: a KVM VM whose
// memory is a copy-on-write mapping of the pristine image, with the
// session's call area mapped at uaafabi.CallGPA, and one vCPU parked at the
// trampoline's callee entry. It is used on the session's vCPU thread; Stop
// and Exits are safe from any goroutine.
type Instance struct {
	mon *monitor.Monitor
	ram []byte
}

// NewInstance starts a private instance of l for a session whose call area
// is callArea (uaafabi.CallSize bytes of the session's RAM, from mmap).
// Console output of the library goes to console. Instances outlive a
// destroyed library: they keep its pages mapped.
func (l *Library) NewInstance(callArea []byte, console io.Writer) (in *Instance, err error) {
	if len(callArea) != uaafabi.CallSize {
		return nil, fmt.Errorf("libvm: call area is %d bytes, want %d", len(callArea), uaafabi.CallSize)
	}
	ram, err := l.MapPrivate(uaafabi.BackendExit)
	if err != nil {
		return nil, err
	}
	machine, err := l.rt.machine()
	if err != nil {
		unix.Munmap(ram)
		return nil, fmt.Errorf("libvm: %s: KVM: %w", l.Name, err)
	}
	mon, err := monitor.NewCallee(monitor.CalleeConfig{
		Name: l.Name, Machine: machine, RAM: ram, ReadOnly: l.ro,
		Slots: []monitor.Slot{
			{GPA: 0, Mem: ram[:uaafabi.CallGPA]},
			{GPA: uaafabi.CallGPA, Mem: callArea},
			{GPA: uaafabi.WindowEnd, Mem: ram[uaafabi.WindowEnd:]},
		},
		Sregs: l.sregs, RIP: uaafabi.TrampCalleeEntry, Console: console,
	})
	if err != nil {
		unix.Munmap(ram)
		return nil, err
	}
	return &Instance{mon: mon, ram: ram}, nil
}

// Enter runs one call: the instance's vCPU runs on the calling goroutine
// until the library switches back to view 0 (nil), faults (a
// *monitor.GuestError naming the library), passes deadline
// (monitor.ErrDeadline) or is stopped (vcpu.ErrStopped). After an error the
// instance cannot serve calls any more: discard it.
func (in *Instance) Enter(deadline time.Time) error { return in.mon.Call(deadline) }

// Stop interrupts a running Enter, from any goroutine; the instance cannot
// run again.
func (in *Instance) Stop() { in.mon.Stop() }

// Exits returns how many VM exits the instance has taken. Safe from any
// goroutine.
func (in *Instance) Exits() uint64 { return in.mon.Exits() }

// Close releases the instance's VM, vCPU and memory. Call it on the
// goroutine that ran it.
func (in *Instance) Close() error {
	in.mon.Close()
	if in.ram != nil {
		unix.Munmap(in.ram)
		in.ram = nil
	}
	return nil
}
