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

	ownSys bool // Close closes Sys (NewMachine, StartMachine)
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

// NewMachine creates a VM with vCPU 0 on the open device s, the vCPU's
// CPUID set to cpuid (as SupportedCPUID returned it). The Machine does not
// own s: its Close leaves s open. Many guests of one process share a System
// this way instead of opening the device each.
func (s *System) NewMachine(cpuid []CPUIDEntry2) (m *Machine, err error) {
	m = &Machine{Sys: s}
	defer func() {
		if err != nil {
			m.Close()
			m = nil
		}
	}()
	if m.VM, err = s.CreateVM(); err != nil {
		return m, err
	}
	if m.VCPU, err = m.VM.CreateVCPU(0); err != nil {
		return m, err
	}
	return m, m.VCPU.SetCPUID(cpuid)
}

// Close releases whatever of m exists: vCPU, VM, and the device if m opened
// it. Call it only when
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
	if m.Sys != nil && m.ownSys {
		m.Sys.Close()
	}
	m.Sys = nil
}

// PendingMachine is a Machine being created on its own goroutine.
//
// The work is split so that its two parts overlap: the creating goroutine
// opens the device and creates the VM and the vCPU; the owner, when it
// joins, queries the CPUID leaves KVM supports (QueryCPUID), may map memory
// into the VM as soon as it exists (WaitVM), and finally sets the vCPU's
// CPUID (Wait).
//
// Ownership: exactly one goroutine uses a PendingMachine, calling any of
// QueryCPUID and WaitVM, then Wait (and owning the Machine) or Discard, once.
type PendingMachine struct {
	path     string
	sysReady chan struct{} // closed once m.Sys is set, or opening failed
	vmReady  chan struct{} // closed once m.VM is set, or creation failed before
	done     chan struct{} // closed once creation ended; m and err are final
	m        Machine       // what exists so far
	err      error

	// Owner's side.
	queried  bool
	cpuid    []CPUIDEntry2
	cpuidErr error
}

func newPending(path string) *PendingMachine {
	return &PendingMachine{path: path, sysReady: make(chan struct{}),
		vmReady: make(chan struct{}), done: make(chan struct{}), m: Machine{ownSys: true}}
}

// StartMachine begins creating the machine NewMachine(path) returns, on a
// new goroutine, and returns at once.
func StartMachine(path string) *PendingMachine {
	p := newPending(path)
	go p.build()
	return p
}

// build creates the device, VM and vCPU. It never closes what it created:
// on failure Wait does, once the owner is done with WaitVM's VM.
func (p *PendingMachine) build() {
	ready := []chan struct{}{p.sysReady, p.vmReady}
	defer func() {
		for _, c := range ready {
			close(c)
		}
		close(p.done)
	}()
	publish := func() { close(ready[0]); ready = ready[1:] }
	sys, err := Open(p.path)
	if err != nil {
		p.err = err
		return
	}
	p.m.Sys = sys
	publish()
	for _, c := range []Cap{CapUserMemory, CapGetTSCKHz} {
		if n, err := sys.CheckExtension(c); err != nil || n != 1 {
			p.err = fmt.Errorf("%v unavailable: %w", c, ErrMissingCap)
			return
		}
	}
	if p.m.VM, p.err = sys.CreateVM(); p.err != nil {
		return
	}
	publish()
	p.m.VCPU, p.err = p.m.VM.CreateVCPU(0)
}

// Path returns the device path the machine is being created from.
func (p *PendingMachine) Path() string { return p.path }

// QueryCPUID asks KVM, on the calling goroutine, which CPUID leaves it
// supports, as soon as the device is open and while the creating goroutine
// makes the VM and vCPU. Wait sets them on the vCPU (and queries them
// itself if QueryCPUID was not called). An error is reported by Wait.
func (p *PendingMachine) QueryCPUID() {
	if p.queried {
		return
	}
	p.queried = true
	<-p.sysReady
	if p.m.Sys != nil {
		p.cpuid, p.cpuidErr = p.m.Sys.SupportedCPUID()
	}
}

// WaitVM blocks until the machine's VM exists and returns it, or nil if
// creation failed before that (Wait then says why). The VM stays the
// PendingMachine's: the caller may use it (its methods are safe while the
// vCPU is being created) only until it calls Wait or Discard.
func (p *PendingMachine) WaitVM() *VM {
	<-p.vmReady
	return p.m.VM
}

// Wait blocks until the VM and vCPU exist or their creation failed, and sets
// the vCPU's CPUID. It returns the machine, which the caller owns from then
// on, or the first error, having released whatever had been created.
func (p *PendingMachine) Wait() (*Machine, error) {
	p.QueryCPUID()
	<-p.done
	err := p.err
	if err == nil {
		err = p.cpuidErr
	}
	if err == nil {
		err = p.m.VCPU.SetCPUID(p.cpuid)
	}
	if err != nil {
		p.m.Close()
		return nil, err
	}
	m := p.m
	return &m, nil
}

// Discard waits for the machine and releases it, for an owner that no
// longer needs it.
func (p *PendingMachine) Discard() {
	<-p.done
	p.m.Close()
}
