package kvm

import "fmt"

// Machine is the part of a one-vCPU guest that depends on neither its image
// nor its memory size: the open device, the VM, and vCPU 0 with the CPUID
// leaves KVM supports. Creating it is most of a cold start's KVM work (about a
// millisecond on the machines uaaf is developed on), which is why it can be
// started early, on another goroutine, with StartMachine.
type Machine struct {
	Sys  *System
	VM   *VM
	VCPU *VCPU
}

// NewMachine opens the KVM device at path, checks the capabilities every hvt
// guest needs (KVM_CAP_USER_MEMORY, KVM_CAP_GET_TSC_KHZ), and creates a VM
// with vCPU 0, whose CPUID is set to what KVM supports. The CPUID query
// overlaps the VM's creation. Errors wrap ErrNoKVM (device cannot be opened),
// ErrAPIVersion, ErrMissingCap (naming the capability), or the failing
// ioctl's errno.
func NewMachine(path string) (*Machine, error) {
	sys, err := Open(path)
	if err != nil {
		return nil, err
	}
	for _, c := range []Cap{CapUserMemory, CapGetTSCKHz} {
		if n, err := sys.CheckExtension(c); err != nil || n != 1 {
			sys.Close()
			return nil, fmt.Errorf("%v unavailable: %w", c, ErrMissingCap)
		}
	}
	type cpuidResult struct {
		entries []CPUIDEntry2
		err     error
	}
	cpuidc := make(chan cpuidResult, 1)
	go func() {
		e, err := sys.SupportedCPUID()
		cpuidc <- cpuidResult{e, err}
	}()
	m := &Machine{Sys: sys}
	m.VM, err = sys.CreateVM()
	if err == nil {
		m.VCPU, err = m.VM.CreateVCPU(0)
	}
	cr := <-cpuidc
	if err == nil {
		err = cr.err
	}
	if err == nil {
		err = m.VCPU.SetCPUID(cr.entries)
	}
	if err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Close releases whatever of m exists: vCPU, VM, device. Call it only when
// no vCPU thread uses m.VCPU any more; a Machine whose parts were handed to
// a monitor is closed by that monitor instead.
func (m *Machine) Close() {
	if m.VCPU != nil {
		m.VCPU.Close()
		m.VCPU = nil
	}
	if m.VM != nil {
		m.VM.Close()
		m.VM = nil
	}
	if m.Sys != nil {
		m.Sys.Close()
		m.Sys = nil
	}
}

// PendingMachine is a Machine being created on its own goroutine.
type PendingMachine struct {
	path string
	done chan struct{}
	m    *Machine
	err  error
}

// StartMachine begins NewMachine(path) on a new goroutine and returns at
// once. Exactly one caller must Wait for the result (and then own the
// Machine) or Discard it.
func StartMachine(path string) *PendingMachine {
	p := &PendingMachine{path: path, done: make(chan struct{})}
	go func() {
		p.m, p.err = NewMachine(path)
		close(p.done)
	}()
	return p
}

// Path returns the device path the machine is being created from.
func (p *PendingMachine) Path() string { return p.path }

// Wait blocks until the machine exists or its creation failed, and returns
// it; the caller owns the Machine from then on.
func (p *PendingMachine) Wait() (*Machine, error) {
	<-p.done
	return p.m, p.err
}

// Discard waits for the machine and closes it, for a caller that no longer
// needs it.
func (p *PendingMachine) Discard() {
	if m, err := p.Wait(); err == nil {
		m.Close()
	}
}
