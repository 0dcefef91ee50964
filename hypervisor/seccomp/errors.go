package seccomp

import "errors"

// Sentinel errors of package seccomp. Returned errors wrap one of these (test
// with errors.Is) and, for a failed system call, the raw unix.Errno too.
var (
	// ErrUnsupported: the kernel has no seccomp filter mode (or no
	// SECCOMP_RET_KILL_PROCESS / SECCOMP_RET_LOG, both Linux 4.14).
	ErrUnsupported = errors.New("seccomp: not supported by this kernel")
	// ErrMode: a mode other than kill, log or off.
	ErrMode = errors.New("seccomp: invalid mode")
	// ErrProfile: a profile that does not assemble (unknown syscall name,
	// bad argument index, contradictory rules).
	ErrProfile = errors.New("seccomp: invalid profile")
	// ErrInstalled: Install was already called successfully in this process.
	ErrInstalled = errors.New("seccomp: a filter is already installed")
	// ErrStatus: /proc/PID/status has no readable Seccomp line.
	ErrStatus = errors.New("seccomp: no Seccomp line in status")
)
