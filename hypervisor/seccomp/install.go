package seccomp

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// installed records what Install put in place; guarded by installMu.
var (
	installMu        sync.Mutex
	installedMode    = Off
	installedProfile string
)

// Install filters every thread of the process, present and future, through
// profile p: a call outside it kills the process with SIGSYS
// (SECCOMP_RET_KILL_PROCESS) in Kill mode, or is allowed and logged by the
// kernel (SECCOMP_RET_LOG) in Log mode; Off installs nothing and returns nil.
//
// It sets no_new_privs, then loads the filter with SECCOMP_FILTER_FLAG_TSYNC
// (Go moves goroutines between OS threads, so a filter on one thread would
// protect nothing) and SECCOMP_FILTER_FLAG_LOG (kills are logged too). A
// filter cannot be removed or loosened: call Install once, after all set-up
// that needs calls outside p and before the first guest instruction. Safe
// from any goroutine; a second successful call returns ErrInstalled.
//
// Errors wrap ErrMode, ErrProfile, ErrInstalled or ErrUnsupported (no
// seccomp filter mode in this kernel, or one older than Linux 4.14), or the
// errno of prctl/seccomp.
func Install(mode Mode, p Profile) error {
	if mode == Off {
		return nil
	}
	filter, err := compile(mode, p)
	if err != nil {
		return err
	}

	installMu.Lock()
	defer installMu.Unlock()
	if installedMode != Off {
		return fmt.Errorf("%w (%s, profile %s)", ErrInstalled, installedMode, installedProfile)
	}
	if !supported() {
		return ErrUnsupported
	}
	// no_new_privs is a thread attribute until TSYNC copies it to the other
	// threads: both calls must run on the same thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: install %s filter (%s): PR_SET_NO_NEW_PRIVS: %w", p.Name, mode, err)
	}
	tid, err := loadFilter(filter, unix.SECCOMP_FILTER_FLAG_TSYNC|unix.SECCOMP_FILTER_FLAG_LOG)
	switch {
	case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EINVAL):
		return fmt.Errorf("%w: install %s filter (%s): %w", ErrUnsupported, p.Name, mode, err)
	case err != nil:
		return fmt.Errorf("seccomp: install %s filter (%s): %w", p.Name, mode, err)
	case tid != 0:
		// TSYNC reports a thread it cannot synchronise (one with a filter
		// of its own) by its id, and installs nothing.
		return fmt.Errorf("seccomp: install %s filter (%s): thread %d has another filter and cannot be synchronised", p.Name, mode, tid)
	}
	installedMode, installedProfile = mode, p.Name
	return nil
}

// nativeArch returns the AUDIT_ARCH value of this machine's syscall ABI,
// the one the profiles' numbers are for: uaaf runs on amd64 only.
func nativeArch() (uint32, bool) {
	if runtime.GOARCH == "amd64" {
		return unix.AUDIT_ARCH_X86_64, true
	}
	return 0, false
}

// compile makes p's BPF program for this architecture, with mode's action
// (Kill or Log) for a call p does not allow.
func compile(mode Mode, p Profile) ([]unix.SockFilter, error) {
	var def uint32
	switch mode {
	case Kill:
		def = unix.SECCOMP_RET_KILL_PROCESS
	case Log:
		def = unix.SECCOMP_RET_LOG
	default:
		return nil, fmt.Errorf("%w %q", ErrMode, mode)
	}
	arch, ok := nativeArch()
	if !ok {
		return nil, fmt.Errorf("%w: no syscall table for %s", ErrUnsupported, runtime.GOARCH)
	}
	if len(cgoThreads) > 0 && len(p.rules()) > 0 { // an empty profile stays an error
		p.Groups = append(slices.Clone(p.Groups), cgoThreads)
	}
	return p.program(arch, def, os.Getpid())
}

// Available reports whether this kernel and architecture can filter: what
// `uaaf probe` says of seccomp.
func Available() bool {
	_, ok := nativeArch()
	return ok && supported()
}

// supported reports whether the kernel has seccomp's filter mode: asked
// for strict mode with flags it must refuse, such a kernel says EINVAL
// (one without seccomp says ENOSYS). The question is asked once, on first
// use, so a thread filtered later (a daemon's vCPU thread, under the
// daemon's process filter, which does not allow the probe) never asks it.
var supported = sync.OnceValue(func() bool {
	_, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_STRICT, 1, 0)
	return e == unix.EINVAL
})

// Installed returns the mode and profile name of the filter Install put in
// place in this process, or Off and "" if none. Safe from any goroutine.
func Installed() (Mode, string) {
	installMu.Lock()
	defer installMu.Unlock()
	return installedMode, installedProfile
}

// InstallThread filters the calling OS thread only through profile p (in
// mode, as Install): the thread that runs a guest, in a process whose other
// threads do other work (the daemon's vCPU threads; its control plane keeps
// what it needs). Threads this one creates inherit the filter — but the Go
// runtime never creates threads from a thread locked by LockOSThread, so
// none is created from it.
//
// The caller must have locked its goroutine to the thread
// (runtime.LockOSThread) and must never unlock it: when the goroutine
// exits locked, the runtime ends the thread and the filter with it,
// instead of handing a confined thread to other goroutines. (The main
// thread cannot end: the runtime parks it for good instead, and it never
// runs Go code again.) KVM's workers (kvm-nx-lpage-recovery) started from
// the thread inherit the filter too; they make no system calls. Filters stack:
// a thread keeps a process-wide filter Install put in place, and gets
// whichever of the two is stricter per call.
func InstallThread(mode Mode, p Profile) error {
	if mode == Off {
		return nil
	}
	filter, err := compile(mode, p)
	if err != nil {
		return err
	}
	if !supported() {
		return ErrUnsupported
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("seccomp: install %s filter on a thread (%s): PR_SET_NO_NEW_PRIVS: %w", p.Name, mode, err)
	}
	if _, err := loadFilter(filter, unix.SECCOMP_FILTER_FLAG_LOG); err != nil {
		return fmt.Errorf("seccomp: install %s filter on a thread (%s): %w", p.Name, mode, err)
	}
	return nil
}

// ThreadFilters returns how many seccomp filters apply to thread tid of
// this process (the Seccomp_filters line of its status; Linux ≥ 5.9).
func ThreadFilters(tid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/status", tid))
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrStatus, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Seccomp_filters:"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return 0, fmt.Errorf("%w: Seccomp_filters %q", ErrStatus, v)
			}
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: no Seccomp_filters line (kernel older than 5.9)", ErrStatus)
}
