package kvm

import "fmt"

// Machine is the part of a one-vCPU guest that depends on neither its image
// nor its memory: the open device, the VM, and vCPU 0 with the CPUID leaves
// KVM supports. Creating it is most of a cold start's KVM work (more than a
// millisecond on the machines uaaf is developed on), which is why it can be
// started early, on another goroutine, with StartMachine.
type Machine struct {
	Sys  *System
	VM   *VM
	VCPU *VCPU
}

// NewMachine opens the KVM device at path, checks the capabilities every hvt
// guest needs (KVM_CAP_USER_MEMORY, KVM_CAP_GET_TSC_KHZ), and creates a VM
// with vCPU 0, whose CPUID is set to what KVM supports. Errors wrap ErrNoKVM
// (device cannot be opened), ErrAPIVersion, ErrMissingCap (naming the
// capability), or the failing ioctl's errno; nothing is left open then.
func NewMachine(path string) (*Machine, error) {
	p := newPending(path)
	p.build()
	return p.Wait()
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
//
// Ownership: exactly one goroutine uses a PendingMachine. It may call WaitVM
// to use the VM before the vCPU exists (to map memory, which overlaps the
// vCPU's creation), and must then call Wait (and own the Machine) or
// Discard, once.
type PendingMachine struct {
	path    string
	vmReady chan struct{} // closed once m.VM is set, or creation failed before
	done    chan struct{} // closed once creation ended; m and err are final
	m       Machine       // what exists so far
	err     error
}

func newPending(path string) *PendingMachine {
	return &PendingMachine{path: path, vmReady: make(chan struct{}), done: make(chan struct{})}
}

// StartMachine begins NewMachine(path) on a new goroutine and returns at
// once.
func StartMachine(path string) *PendingMachine {
	p := newPending(path)
	go p.build()
	return p
}

// build creates the machine step by step. It never closes what it created:
// on failure Wait does, once the owner is done with WaitVM's VM.
func (p *PendingMachine) build() {
	vmPublished := false
	defer func() {
		if !vmPublished {
			close(p.vmReady)
		}
		close(p.done)
	}()
	sys, err := Open(p.path)
	if err != nil {
		p.err = err
		return
	}
	p.m.Sys = sys
	for _, c := range []Cap{CapUserMemory, CapGetTSCKHz} {
		if n, err := sys.CheckExtension(c); err != nil || n != 1 {
			p.err = fmt.Errorf("%v unavailable: %w", c, ErrMissingCap)
			return
		}
	}
	if p.m.VM, p.err = sys.CreateVM(); p.err != nil {
		return
	}
	vmPublished = true
	close(p.vmReady)
	cpuid, err := sys.SupportedCPUID()
	if err != nil {
		p.err = err
		return
	}
	if p.m.VCPU, p.err = p.m.VM.CreateVCPU(0); p.err != nil {
		return
	}
	p.err = p.m.VCPU.SetCPUID(cpuid)
}

// Path returns the device path the machine is being created from.
func (p *PendingMachine) Path() string { return p.path }

// WaitVM blocks until the machine's VM exists and returns it, or nil if
// creation failed before that (Wait then says why). The VM stays the
// PendingMachine's: the caller may use it (its methods are safe while the
// vCPU is being created) only until it calls Wait or Discard.
func (p *PendingMachine) WaitVM() *VM {
	<-p.vmReady
	return p.m.VM
}

// Wait blocks until the machine exists or its creation failed. It returns
// the machine, which the caller owns from then on, or the error, having
// released whatever had been created.
func (p *PendingMachine) Wait() (*Machine, error) {
	<-p.done
	if p.err != nil {
		p.m.Close()
		return nil, p.err
	}
	m := p.m
	return &m, nil
}

// Discard waits for the machine and releases it, for an owner that no
// longer needs it.
func (p *PendingMachine) Discard() {
	if m, err := p.Wait(); err == nil {
		m.Close()
	}
}
