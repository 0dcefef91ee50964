//go:build cgo

package seccomp

import "golang.org/x/sys/unix"

// glibcThreadCloneFlags are the clone flags of glibc's pthread_create
// (create_thread in nptl): a thread of this process, never a new process.
const glibcThreadCloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SYSVSEM |
	unix.CLONE_SIGHAND | unix.CLONE_THREAD | unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID

// cgoThreads is what threads made by the C library add, in a binary built
// with cgo (CGO_ENABLED=1, the go command's default where a C compiler is
// found) that links runtime/cgo: it creates threads with pthread_create,
// and glibc's thread start-up calls rseq and set_robust_list, which the Go
// runtime's own threads never do. `make build` builds uaaf without cgo;
// this keeps a `go build` or `go install` of it from being killed by its
// own filter at its first new thread. Install adds it to every profile.
var cgoThreads = []Rule{
	// clone3 passes its flags in memory, out of seccomp's sight: it is
	// refused with ENOSYS, on which glibc (2.34+) falls back to clone,
	// whose flags are checked: pthread_create's only.
	{Syscall: unix.SYS_CLONE3, Errno: unix.ENOSYS},
	{Syscall: unix.SYS_CLONE, Arg: 0, Values: []uint64{glibcThreadCloneFlags}},
	{Syscall: unix.SYS_RSEQ},
	{Syscall: unix.SYS_SET_ROBUST_LIST},
}
