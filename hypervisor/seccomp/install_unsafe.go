package seccomp

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// loadFilter is seccomp(SECCOMP_SET_MODE_FILTER, flags, prog) for the
// calling thread (and with TSYNC all others). It returns the syscall's
// non-negative result (with TSYNC: 0, or the id of a thread that could not
// be synchronised) or its errno.
func loadFilter(filter []unix.SockFilter, flags uintptr) (int, error) {
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	r, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&prog)))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
