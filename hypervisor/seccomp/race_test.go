//go:build race

package seccomp

import "golang.org/x/sys/unix"

// raceRules: the race detector needs cgo, so a -race test binary's threads
// come from glibc's pthread_create: clone3, then rseq and set_robust_list
// in the new thread, whose first malloc reads
// /sys/devices/system/cpu/online (measured with strace and in Log mode).
// The uaaf binary is built with CGO_ENABLED=0 and never makes these calls,
// so the profiles do not allow them. Without -race this test binary links
// no cgo (it must not import net) and checks the profiles exactly.
var raceRules = []Rule{
	{Syscall: unix.SYS_CLONE3},
	{Syscall: unix.SYS_RSEQ},
	{Syscall: unix.SYS_SET_ROBUST_LIST},
	{Syscall: unix.SYS_OPENAT, Arg: 2, Values: []uint64{unix.O_RDONLY | unix.O_CLOEXEC}},
}
