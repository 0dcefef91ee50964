// Package switcher carries a UaaF session's cross-view calls: the guest's
// trampoline executes one SWITCH instruction, and a backend makes the target
// view run. Two backends implement the same contract:
//
//   - exit (portable): SWITCH is a 4-byte OUT to uaafabi.SwitchPort. The
//     session's vCPU exits; the monitor runs the target view's own parked
//     vCPU (each view is a KVM VM of its own, sharing the trampoline and the
//     call area GPAs) until it switches home, then resumes the session. Two
//     VM exits per call, no register ioctls. Works on any KVM.
//   - vmfunc: SWITCH is VMFUNC leaf 0; the vCPU changes EPT without a VM
//     exit. Needs Intel VT-x with EPTP switching and the kmod/ module.
//
// The guest code is identical for both (only the SWITCH bytes differ, see
// uaafabi.Trampoline), so what runs here on the exit backend is the code the
// vmfunc backend runs.
package switcher

import (
	"errors"
	"fmt"
	"time"

	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vmfunc"
)

// Sentinel errors of package switcher.
var (
	// ErrUnavailable: the requested backend cannot run on this host.
	ErrUnavailable = errors.New("switch backend unavailable")
	// ErrDeadline: a view ran past its call deadline.
	ErrDeadline = errors.New("call deadline exceeded")
)

// FaultError reports a library view that trapped, aborted, touched memory
// outside its view or otherwise broke the ABI during a call.
type FaultError struct{ Msg string }

func (e *FaultError) Error() string { return e.Msg }

// View is one library view of a session, as the exit backend drives it.
type View interface {
	// Enter runs the view's parked vCPU on the calling goroutine (the
	// session's vCPU thread) until it switches back to view 0 (nil), faults
	// (*FaultError), passes deadline (ErrDeadline), or is stopped
	// (hypervisor.ErrStopped).
	Enter(deadline time.Time) error
	// Stop interrupts a running Enter; safe from any goroutine.
	Stop()
}

// Views gives a backend the views of one session's EPTP list.
type Views interface {
	// View returns the view at EPTP index (1..511), starting its instance if
	// needed. An index the session did not bind gives ok=false; a bound view
	// whose instance cannot start gives an error.
	View(index uint32) (v View, ok bool, err error)
	// Discard drops a broken view's instance (after a fault or a missed
	// deadline); the next call to that index starts a fresh one.
	Discard(index uint32, why error)
}

// Stats counts a switcher's work. Read it after the session's run.
type Stats struct {
	Calls       uint64 `json:"calls"`       // switches into a library view
	Faults      uint64 `json:"faults"`      // calls whose callee faulted
	Timeouts    uint64 `json:"timeouts"`    // calls past their deadline
	BadIndex    uint64 `json:"bad_index"`   // switches to an index not bound
	Unavailable uint64 `json:"unavailable"` // instances that could not start
}

// Switcher carries one session's calls. Its methods other than Stop run on
// the session's vCPU thread.
type Switcher interface {
	// Backend names the switch mechanism.
	Backend() uaafabi.Backend
	// Exitless reports whether a call needs no VM exit (vmfunc).
	Exitless() bool
	// HandleSwitch serves the session's switch to EPTP index (exit
	// backend): on return the call area holds the call's status.
	HandleSwitch(index uint32) error
	// Stop interrupts a call in progress; safe from any goroutine.
	Stop()
	// Stats returns the counters so far.
	Stats() Stats
}

// Config is what a backend needs to serve a session.
type Config struct {
	Views Views
	// CallArea is the session's call area (uaafabi.CallSize bytes of its
	// guest memory at uaafabi.CallGPA): the monitor writes a call's status
	// there when the callee could not.
	CallArea []byte
	// Deadline bounds one call; zero means DefaultDeadline. The exit
	// backend enforces it; on vmfunc a call runs without the monitor.
	Deadline time.Duration
	// VMFUNC is required for the vmfunc backend: where the views' memory is.
	VMFUNC *VMFUNCConfig
}

// DefaultDeadline bounds a call when Config.Deadline is zero. Ring-0 guest
// code is emulated on PVM hosts (~1 µs an instruction), so it is generous.
const DefaultDeadline = 10 * time.Second

// New returns a switcher of backend b for one session.
func New(b uaafabi.Backend, cfg Config) (Switcher, error) {
	if len(cfg.CallArea) != uaafabi.CallSize || cfg.Views == nil {
		return nil, fmt.Errorf("switcher: bad config: call area %d bytes, views %v", len(cfg.CallArea), cfg.Views != nil)
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = DefaultDeadline
	}
	switch b {
	case uaafabi.BackendExit:
		return &exitSwitcher{cfg: cfg}, nil
	case uaafabi.BackendVMFUNC:
		if cfg.VMFUNC == nil {
			if err := ProbeVMFUNC(vmfunc.DefaultPath); err != nil {
				return nil, err
			}
			return nil, fmt.Errorf("switcher: vmfunc backend needs Config.VMFUNC (the views' memory layout)")
		}
		return NewVMFUNC(cfg, *cfg.VMFUNC)
	}
	return nil, fmt.Errorf("switcher: unknown backend %q (want auto, exit or vmfunc)", b)
}

// ProbeVMFUNC reports why the vmfunc backend cannot run here (an error
// wrapping ErrUnavailable), or nil when the kernel module at path says the
// host can do EPTP switching.
func ProbeVMFUNC(path string) error {
	dev, err := openVMFUNC(path)
	if err != nil {
		return err
	}
	return dev.Close()
}

// openVMFUNC opens the kernel module's device and checks that it reports
// EPTP switching; errors wrap ErrUnavailable with the module's reason.
func openVMFUNC(path string) (*vmfunc.Device, error) {
	dev, err := vmfunc.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	caps, err := dev.Caps()
	if err == nil {
		err = caps.Err()
	}
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("%w: vmfunc: %w", ErrUnavailable, err)
	}
	return dev, nil
}

// Select resolves a --switch request (auto, exit or vmfunc) for this host.
// It returns the backend and a one-line reason; asking for vmfunc where it
// cannot run is an error carrying the reason.
func Select(request string) (uaafabi.Backend, string, error) {
	switch request {
	case "", "auto":
		if err := ProbeVMFUNC(vmfunc.DefaultPath); err != nil {
			return uaafabi.BackendExit, "exit (auto: " + err.Error() + ")", nil
		}
		return uaafabi.BackendVMFUNC, "vmfunc (auto: the uaaf module reports EPTP switching)", nil
	case "exit":
		return uaafabi.BackendExit, "exit (requested)", nil
	case "vmfunc":
		if err := ProbeVMFUNC(vmfunc.DefaultPath); err != nil {
			return "", "", err
		}
		return uaafabi.BackendVMFUNC, "vmfunc (requested)", nil
	}
	return "", "", fmt.Errorf("switcher: unknown --switch %q (want auto, exit or vmfunc)", request)
}
