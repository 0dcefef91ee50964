package ioctl

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ptr is Int for an argument that points at p: a struct whose layout is the
// one req expects. The object p points at is kept alive and in place for the
// duration of the call by the Syscall rule for uintptr(unsafe.Pointer(p))
// conversions in the argument list; pointers stored inside it are not (see
// vmfunc's defineView for how those are pinned).
func Ptr(fd int, req uintptr, p unsafe.Pointer) (int, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}
