package libfuncs

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/switcher"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// Enter runs the instance's vCPU on the calling goroutine until the library
// switches back to view 0. It implements switcher.View for the exit backend:
// the library may print (PUTS) and read the clock (WALLTIME); anything else
// — halting, a trap, touching memory outside its view, another port — is a
// *switcher.FaultError, and passing deadline is switcher.ErrDeadline.
func (in *Instance) Enter(deadline time.Time) (err error) {
	vc := in.vcpu // the timer must not read in.vcpu: Close clears it
	if vc == nil {
		return &switcher.FaultError{Msg: in.lf.Name + ": instance closed"}
	}
	if !in.started {
		vc.Start()
		in.started = true
	}
	var expired atomic.Bool
	timer := time.AfterFunc(time.Until(deadline), func() {
		expired.Store(true)
		vc.Stop()
	})
	defer func() {
		// A timer that fired as the call ended has stopped the vCPU for
		// good: count the call as late, so the instance is discarded
		// rather than failing its next call.
		if !timer.Stop() && err == nil {
			err = switcher.ErrDeadline
		}
	}()
	for {
		reason, err := in.vcpu.Run()
		if err != nil {
			if errors.Is(err, vcpu.ErrStopped) {
				if expired.Load() {
					return switcher.ErrDeadline
				}
				return err
			}
			if errors.Is(err, unix.EFAULT) {
				return in.fault("write to read-only memory (rip=%#x)", in.rip())
			}
			return in.fault("KVM_RUN: %v", err)
		}
		in.exits.Add(1)
		done, err := in.handleExit(reason)
		if err != nil || done {
			return err
		}
	}
}

func (in *Instance) handleExit(reason kvm.ExitReason) (done bool, err error) {
	k := in.vcpu.K
	switch reason {
	case kvm.ExitIO:
		io, data := k.IO(), k.IOData()
		if io.Direction != kvm.IODirOut || io.Size != 4 || len(data) != 4 {
			return false, in.fault("invalid port access: port=%#x", io.Port)
		}
		value := uint32(data[0]) | uint32(data[1])<<8 | uint32(data[2])<<16 | uint32(data[3])<<24
		switch {
		case io.Port == uaafabi.SwitchPort && value == 0:
			return true, nil
		case io.Port == uaafabi.SwitchPort:
			return false, in.fault("switch to view %d: a library may only return to its caller", value)
		case io.Port == hvt.HypercallPuts.Port():
			if err := in.outsideCallArea("PUTS", uint64(value), hvt.SizePuts); err != nil {
				return false, err
			}
			if b, err := in.mem.Slice(uint64(value), hvt.SizePuts); err == nil {
				p := hvt.DecodePuts(b)
				if err := in.outsideCallArea("PUTS", p.Data, p.Len); err != nil {
					return false, err
				}
			}
			return false, in.guestErr(monitor.ServePuts(in.mem, uint64(value), in.console))
		case io.Port == hvt.HypercallWalltime.Port():
			if err := in.outsideCallArea("WALLTIME", uint64(value), hvt.SizeWalltime); err != nil {
				return false, err
			}
			return false, in.guestErr(monitor.ServeWalltime(in.mem, in.ro, uint64(value)))
		case io.Port == hvt.HypercallHalt.Port():
			return false, in.halted(uint64(value))
		}
		return false, in.fault("invalid port access: port=%#x", io.Port)
	case kvm.ExitMMIO:
		mm := k.MMIO()
		if mm.PhysAddr < uint64(len(in.ram)) {
			return false, in.fault("write to read-only memory at gpa=%#x (rip=%#x)", mm.PhysAddr, in.rip())
		}
		return false, in.fault("access outside its view at gpa=%#x (rip=%#x)", mm.PhysAddr, in.rip())
	case kvm.ExitShutdown:
		return false, in.fault("triple fault (rip=%#x)", in.rip())
	case kvm.ExitInternalError:
		return false, in.fault("KVM internal error, suberror=%#x", k.InternalError().Suberror)
	}
	return false, in.fault("unhandled exit %v (rip=%#x)", reason, in.rip())
}

// outsideCallArea refuses hypercall memory in the call area: in the
// instance's VM those GPAs are the session's shared pages, not the private
// mapping the monitor serves hypercalls from. A library copies data out of
// the call area before it prints it.
func (in *Instance) outsideCallArea(what string, gpa, size uint64) error {
	end := gpa + size
	if end < gpa || (gpa < uaafabi.WindowEnd && end > uaafabi.CallGPA) {
		return in.fault("%s: pointer %#x+%d into the call area", what, gpa, size)
	}
	return nil
}

// halted turns a library's HALT (exit or abort, e.g. from a trap handler)
// into a fault that names the status.
func (in *Instance) halted(gpa uint64) error {
	b, err := in.mem.Slice(gpa, hvt.SizeHalt)
	if err != nil {
		return in.fault("HALT: %v", err)
	}
	h := hvt.DecodeHalt(b)
	if h.Status&0xff == hvt.ExitAbort {
		return in.fault("aborted")
	}
	return in.fault("exited with status %d", h.Status&0xff)
}

func (in *Instance) guestErr(err error) error {
	if err == nil {
		return nil
	}
	return in.fault("%v", err)
}

func (in *Instance) fault(format string, args ...any) error {
	return &switcher.FaultError{Msg: fmt.Sprintf("library %s: ", in.lf.Name) + fmt.Sprintf(format, args...)}
}

func (in *Instance) rip() uint64 {
	r, err := in.vcpu.K.GetRegs()
	if err != nil {
		return 0
	}
	return r.RIP
}
