package monitor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// Run runs the guest on the calling goroutine (locked to its OS thread for
// the duration) until it halts, faults or is stopped. A halt returns the
// guest's exit status (0–255) and a nil error; anything else returns an error:
// a *GuestError for a guest that broke the ABI or faulted, one wrapping
// vcpu.ErrStopped after Stop or when ctx is done, ErrHost otherwise.
func (m *Monitor) Run(ctx context.Context) (status int, err error) {
	bootStart := time.Now()
	if m.machine.VCPU == nil || m.callee != nil {
		return 0, &Error{Kind: ErrHost, Msg: "monitor: Run called twice, after a failed New, or on a library instance"}
	}
	m.machine.VCPU.KeepP(m.cfg.SoleGuest)
	v := m.startVCPU()
	defer func() {
		// context.AfterFunc's stop does not wait for a Stop already
		// running: detach the vCPU under stopMu before Close unmaps its
		// run page, so that Stop never touches it afterwards.
		m.stopMu.Lock()
		m.vcpu = nil
		m.stopMu.Unlock()
		v.Close()
	}()
	if err := m.initVCPU(); err != nil {
		return 0, err
	}
	if m.hooks.BeforeRun != nil {
		if err := m.hooks.BeforeRun(m); err != nil {
			return 0, err
		}
	}
	if m.cfg.Confine != nil {
		v.KeepLocked()
		if err := m.cfg.Confine(); err != nil {
			return 0, &Error{Kind: ErrHost, Msg: "confine the vCPU thread: " + err.Error(), Err: err}
		}
	}
	stopWatch := context.AfterFunc(ctx, m.Stop)
	defer stopWatch()

	cpu0 := threadCPU()
	runStart := time.Now()
	m.stats.Boot = runStart.Sub(bootStart)
	m.entered.Store(&runStart)
	m.running.Store(&runClock{tid: v.Tid(), cpu0: cpu0})
	defer func() {
		m.stats.Run = time.Since(runStart)
		m.stats.CPU = threadCPU() - cpu0
		m.running.Store(nil)
	}()
	if err := m.loop(); err != nil {
		if errors.Is(err, vcpu.ErrStopped) {
			return 0, stoppedErr(ctx, err)
		}
		return 0, err
	}
	return m.status, nil
}

// startVCPU hands the machine's vCPU to a runner on the calling goroutine's
// OS thread (see vcpu.Runner.Start) and publishes it for Stop.
func (m *Monitor) startVCPU() *vcpu.Runner {
	v := vcpu.New(m.machine.VCPU)
	m.machine.VCPU = nil // v owns it now
	v.Start()
	m.stopMu.Lock()
	m.vcpu = v
	if m.stopped {
		v.Stop()
	}
	m.stopMu.Unlock()
	return v
}

// loop is the run loop of every guest uaaf runs — plain guests, sessions,
// library instances: it enters the guest and serves the exits it comes back
// with until the guest halts (Run), switches home (a library instance's
// Call) or fails.
func (m *Monitor) loop() error {
	for {
		reason, err := m.vcpu.Run()
		switch {
		case errors.Is(err, vcpu.ErrStopped):
			return err
		case errors.Is(err, unix.EFAULT):
			return m.guestFault("KVM: host/guest translation fault: rip=0x%x", m.rip())
		case err != nil:
			return m.hostErr(err)
		}
		m.exits.Add(1)
		done, err := m.handleExit(reason)
		if err != nil || done {
			return err
		}
	}
}

// handleExit serves one KVM exit; done says the run is over (a halt, or a
// library instance's switch home). Only port I/O to the hypercall ports and
// the UaaF switch port is part of the ABI; every other exit ends the guest.
func (m *Monitor) handleExit(reason kvm.ExitReason) (done bool, err error) {
	k := m.vcpu.K
	switch reason {
	case kvm.ExitIO:
		io := k.IO()
		data := k.IOData()
		port := uint32(io.Port)
		if io.Direction != kvm.IODirOut || io.Size != 4 || io.Count != 1 || len(data) != 4 {
			return false, m.guestFault("Invalid guest port access: port=0x%x", port)
		}
		value := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		if port == uaafabi.SwitchPort {
			return m.serveSwitch(value)
		}
		if port < hvt.PIOBase || port >= hvt.PIOBase+uint32(hvt.HypercallMax) {
			return false, m.guestFault("Invalid guest port access: port=0x%x", port)
		}
		nr := hvt.Hypercall(port - hvt.PIOBase)
		if m.hooks.CheckHypercall != nil {
			if err := m.hooks.CheckHypercall(m); err != nil {
				return false, err
			}
		}
		h := m.handlers[nr]
		if h == nil {
			return false, m.guestFault("Invalid guest hypercall: num=%d", uint32(nr))
		}
		m.stats.Hypercalls[nr]++
		err := h(m, uint64(value))
		return m.halted, err
	case kvm.ExitMMIO:
		mmio := k.MMIO()
		if mmio.PhysAddr < uint64(len(m.ram)) {
			// Under PVM a write to a host-read-only page arrives as MMIO;
			// hardware KVM returns EFAULT from KVM_RUN for the same access.
			return false, m.guestFault("KVM: host/guest translation fault: rip=0x%x (%s read-only guest memory at gpa=0x%x)",
				m.rip(), accessKind(mmio.IsWrite), mmio.PhysAddr)
		}
		return false, m.guestFault("KVM: unhandled exit: exit_reason=0x%x, rip=0x%x (access to unbacked gpa=0x%x)",
			uint32(reason), m.rip(), mmio.PhysAddr)
	case kvm.ExitFailEntry:
		return false, m.guestFault("KVM: entry failure: hw_entry_failure_reason=0x%x", k.FailEntry().HardwareEntryFailureReason)
	case kvm.ExitInternalError:
		return false, m.guestFault("KVM: internal error exit: suberror=0x%x", k.InternalError().Suberror)
	case kvm.ExitShutdown:
		return false, m.guestFault("KVM: unhandled exit: exit_reason=0x%x, rip=0x%x (triple fault)", uint32(reason), m.rip())
	}
	return false, m.guestFault("KVM: unhandled exit: exit_reason=0x%x, rip=0x%x", uint32(reason), m.rip())
}

// serveSwitch serves an OUT to the UaaF switch port. A library instance's
// switch to view 0 is its return to the caller; a guest's goes to its
// Switch hook; without one the port is not part of the guest's ABI.
func (m *Monitor) serveSwitch(view uint32) (done bool, err error) {
	m.switches.Add(1)
	if m.callee != nil {
		if view != 0 {
			return false, m.guestFault("switch to view %d: a library may only return to its caller", view)
		}
		return true, nil
	}
	if m.hooks.Switch == nil {
		return false, m.guestFault("Invalid guest port access: port=0x%x", uaafabi.SwitchPort)
	}
	stop, err := m.hooks.Switch(m, view)
	if stop && err == nil {
		m.halted, m.status = true, 0
	}
	return m.halted, err
}

func accessKind(isWrite uint8) string {
	if isWrite != 0 {
		return "write to"
	}
	return "read of"
}

// rip reads the guest's instruction pointer for an error message. It costs a
// register ioctl, so it is used only on paths that end the guest.
func (m *Monitor) rip() uint64 {
	r, err := m.vcpu.K.GetRegs()
	if err != nil {
		return 0
	}
	return r.RIP
}

// threadCPU returns the calling thread's CPU time (0 if unreadable).
func threadCPU() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}

// stoppedErr says why a stopped guest stopped: ctx's cause when ctx ended
// the run, else err.
func stoppedErr(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil {
		return fmt.Errorf("%w: %w", vcpu.ErrStopped, cause)
	}
	return err
}
