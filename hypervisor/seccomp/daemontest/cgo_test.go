//go:build cgo

package daemontest

import (
	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/seccomp"
)

// cgoRules: with cgo enabled this test binary links runtime/cgo (through
// net), so its threads come from glibc's pthread_create: clone3, then rseq
// and set_robust_list in the new thread (measured in Log mode). The uaaf
// binary is built with CGO_ENABLED=0 and never makes these calls, so the
// profiles do not allow them; CGO_ENABLED=0 go test checks Daemon exactly.
// (Daemon allows openat, which glibc's threads also make.)
var cgoRules = []seccomp.Rule{
	{Syscall: unix.SYS_CLONE3},
	{Syscall: unix.SYS_RSEQ},
	{Syscall: unix.SYS_SET_ROBUST_LIST},
}
