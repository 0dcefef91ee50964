//go:build cgo

package seccomp

import "golang.org/x/sys/unix"

// cgoThreads is what threads made by the C library add, in a binary built
// with cgo (CGO_ENABLED=1, the go command's default where a C compiler is
// found): runtime/cgo creates threads with pthread_create, and glibc's
// thread start-up calls clone3, rseq and set_robust_list, which the Go
// runtime's own threads never do. `make build` builds uaaf without cgo;
// this keeps a `go build` or `go install` of it from being killed by its
// own filter at its first new thread. Install adds it to every profile.
var cgoThreads = []Rule{
	{Syscall: unix.SYS_CLONE3},
	{Syscall: unix.SYS_RSEQ},
	{Syscall: unix.SYS_SET_ROBUST_LIST},
}
