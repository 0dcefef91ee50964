// Package vcpu runs a KVM vCPU on a dedicated, locked OS thread and lets any
// goroutine stop it: the thread discipline every guest of uaaf (plain guests,
// sessions, library instances) runs under.
package vcpu

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/kvm"
)

// kickSignal interrupts a vCPU thread blocked in KVM_RUN. SIGURG is the
// signal the Go runtime already uses for preemption: it always has a handler
// installed, so delivering it never kills the process, and the extra EINTRs
// it causes are retried by Run.
const kickSignal = unix.SIGURG

// ErrStopped: the vCPU was stopped by Stop before it finished.
var ErrStopped = errors.New("vcpu: stopped")

// Runner runs one kvm.VCPU on a dedicated, locked OS thread and lets any
// goroutine stop it.
//
// Thread contract: Start locks the calling goroutine to its OS thread for
// the vCPU's lifetime; Run, the register accessors on K and Close must be
// called from that goroutine. Stop may be called from any goroutine, any
// number of times.
type Runner struct {
	K *kvm.VCPU

	mu         sync.Mutex // serialises Stop's use of K and tid with Start and Close
	tid        int        // OS thread running the vCPU, 0 before Start
	closed     bool       // Close has run; K must not be touched
	keepLocked bool       // Close leaves the thread locked (KeepLocked)
	stopped    atomic.Bool
}

// KeepLocked makes Close leave the OS thread locked to its goroutine, so
// that the thread ends when the goroutine does instead of going back to
// the Go scheduler: for a thread that was confined (a seccomp filter of
// its own) and must never run other goroutines. Call it from the goroutine
// that called Start.
func (v *Runner) KeepLocked() { v.keepLocked = true }

// Tid returns the OS thread running the vCPU (0 before Start).
func (v *Runner) Tid() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.tid
}

// New wraps k.
func New(k *kvm.VCPU) *Runner { return &Runner{K: k} }

// Start pins the calling goroutine to its OS thread and records the thread
// for Stop. Call it once, on the goroutine that will call Run; the thread stays
// locked until Close.
func (v *Runner) Start() {
	runtime.LockOSThread()
	v.mu.Lock()
	v.tid = unix.Gettid()
	v.mu.Unlock()
	if v.stopped.Load() {
		v.K.RequestImmediateExit()
	}
}

// Stop makes the vCPU's current or next Run return ErrStopped.
func (v *Runner) Stop() {
	if v.stopped.Swap(true) {
		return
	}
	v.mu.Lock()
	if !v.closed {
		v.K.RequestImmediateExit()
		if v.tid != 0 {
			// The thread may be anywhere; the signal only matters if it is
			// in KVM_RUN, and immediate_exit covers the case where it is
			// not yet.
			_ = unix.Tgkill(unix.Getpid(), v.tid, kickSignal)
		}
	}
	v.mu.Unlock()
}

// Stopped reports whether Stop has been called.
func (v *Runner) Stopped() bool { return v.stopped.Load() }

// Run enters the guest until it exits to user space for a reason other than a
// stray signal, and returns the exit reason. It returns ErrStopped once Stop
// was called, and KVM_RUN errors (such as EFAULT) wrapped.
func (v *Runner) Run() (kvm.ExitReason, error) {
	for {
		if v.stopped.Load() {
			return 0, ErrStopped
		}
		err := v.K.Run()
		if err == nil {
			return v.K.ExitReason(), nil
		}
		if errors.Is(err, kvm.ErrInterrupted) {
			continue // Stop is checked at the top; anything else is a stray signal
		}
		return 0, err
	}
}

// Close releases the vCPU and unlocks the OS thread. Call it from the
// goroutine that called Start, after the last Run.
func (v *Runner) Close() error {
	v.mu.Lock()
	if v.closed {
		v.mu.Unlock()
		return nil
	}
	v.closed = true
	err := v.K.Close()
	started := v.tid != 0 && !v.keepLocked
	v.tid = 0
	v.mu.Unlock()
	if started {
		runtime.UnlockOSThread()
	}
	if err != nil {
		return fmt.Errorf("vcpu: close: %w", err)
	}
	return nil
}
