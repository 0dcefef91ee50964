// Package switcher carries a UaaF session's cross-view calls: the guest's
// trampoline executes one SWITCH instruction, and a backend makes the target
// view run. Two backends implement the same contract, Backend:
//
//   - exit (portable): SWITCH is a 4-byte OUT to uaafabi.SwitchPort. The
//     session's vCPU exits; the backend runs the target view's own parked
//     vCPU (each view is a KVM VM of its own, a libvm.Instance sharing the
//     trampoline and the call area GPAs) until it switches home, then the
//     session resumes. Two VM exits per call, no register ioctls. Works on
//     any KVM.
//   - vmfunc: SWITCH is VMFUNC leaf 0; the vCPU changes EPT without a VM
//     exit. Needs Intel VT-x with EPTP switching and the kmod/ module.
//
// A backend owns its views for the session's whole life: it starts them
// (instances, or memslots of the session VM), serves or watches the
// switches, reports each view's state for the S-F table, and releases
// them. The guest code is identical for both (only the SWITCH bytes differ,
// see uaafabi.Trampoline), so what runs here on the exit backend is the code
// the vmfunc backend runs.
package switcher

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/libfuncs/libvm"
)

// Sentinel errors of package switcher.
var (
	// ErrUnavailable: the requested backend cannot run on this host.
	ErrUnavailable = errors.New("switch backend unavailable")
)

// Backend carries one session's calls between its views. Attach, Switch,
// ActiveView and Fault run on the session's vCPU thread, and Close on the
// goroutine that ran the session; Stop, Views and Stats are safe from any
// goroutine.
type Backend interface {
	// Name names the switch mechanism.
	Name() uaafabi.Backend
	// Exitless reports whether a call needs no VM exit (vmfunc): the
	// monitor then sees no calls, and must check that each hypercall comes
	// from view 0 (ActiveView).
	Exitless() bool
	// Attach binds the backend to the session VM and its vCPU, once the
	// vCPU has its boot state and before it first runs.
	Attach(vm *kvm.VM, vcpuID int) error
	// Switch serves the session's switch to EPTP index view (an OUT to
	// the switch port): on return the call area holds the call's status.
	// Only a stop of the whole session is returned as an error.
	Switch(view uint32) error
	// ActiveView returns the view the vCPU was in at its last exit.
	ActiveView() (uint32, error)
	// Fault describes a view fault that ended the session, if one did.
	Fault() (string, bool)
	// Stop interrupts a call in progress and refuses new ones.
	Stop()
	// Views returns the state of each view, by EPTP index.
	Views() []ViewState
	// Stats returns the counters so far.
	Stats() Stats
	// Close releases the views and the backend. Call it after the session's
	// monitor is closed (its memslots gone), on the goroutine that ran it.
	Close() error
}

// ViewState is one library view of a session, for the S-F table.
type ViewState struct {
	Index    int    // EPTP index, 1..511
	Library  string // library name
	Instance string // "none" (not started yet), "live", "discarded"
	Calls    uint64 // calls the session made into the view
	Faults   uint64 // calls that faulted or timed out
	Exits    uint64 // VM exits of the view's instances
}

// Stats counts a backend's work.
type Stats struct {
	Calls       uint64 `json:"calls"`       // switches into a library view
	Faults      uint64 `json:"faults"`      // calls whose callee faulted
	Timeouts    uint64 `json:"timeouts"`    // calls past their deadline
	BadIndex    uint64 `json:"bad_index"`   // switches to an index not bound
	Unavailable uint64 `json:"unavailable"` // instances that could not start
}

// Config is what a backend needs to serve a session.
type Config struct {
	// Libraries are the session's library views: Libraries[i] is EPTP
	// index i+1. They must stay loaded while the backend lives.
	Libraries []*libvm.Library
	// CallArea is the session's call area (uaafabi.CallSize bytes of its
	// guest memory at uaafabi.CallGPA, from mmap).
	CallArea []byte
	// ViewData is the session's view data page (its guest memory at
	// uaafabi.ViewDataGPA), where the backend writes its verdict when it
	// ends a call itself (uaafabi.PutVerdict); nil: none (tests).
	ViewData []byte
	// SessionMem is the session's guest memory size (vmfunc).
	SessionMem uint64
	// Deadline bounds one call; zero means DefaultDeadline. The exit
	// backend enforces it; on vmfunc a call runs without the monitor.
	Deadline time.Duration
	// Eager starts every view at New instead of at its first call.
	Eager bool
	// Console receives the libraries' console output; Log the backend's
	// notices (a discarded instance). Nil means os.Stdout and os.Stderr.
	Console, Log io.Writer
	// OnInstance, if set, is told each time an instance of a library
	// starts (on the goroutine that starts it).
	OnInstance func(library string)
}

// DefaultDeadline bounds a call when Config.Deadline is zero. Ring-0 guest
// code is emulated on PVM hosts (~1 µs an instruction), so it is generous.
const DefaultDeadline = 10 * time.Second

// New returns a backend of kind sel.Backend for one session.
func New(sel *Selection, cfg Config) (Backend, error) {
	if len(cfg.CallArea) != uaafabi.CallSize {
		return nil, fmt.Errorf("switcher: call area is %d bytes, want %d", len(cfg.CallArea), uaafabi.CallSize)
	}
	if len(cfg.Libraries) >= uaafabi.MaxViews {
		return nil, fmt.Errorf("switcher: %d library views, at most %d", len(cfg.Libraries), uaafabi.MaxViews-1)
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = DefaultDeadline
	}
	if cfg.Console == nil {
		cfg.Console = os.Stdout
	}
	if cfg.Log == nil {
		cfg.Log = os.Stderr
	}
	if sel == nil {
		sel = Exit()
	}
	switch sel.Backend {
	case uaafabi.BackendExit:
		return newExit(cfg)
	case uaafabi.BackendVMFUNC:
		dev, err := sel.device()
		if err != nil {
			return nil, err
		}
		return newVMFUNC(cfg, dev)
	}
	return nil, fmt.Errorf("switcher: unknown backend %q (want exit or vmfunc)", sel.Backend)
}
