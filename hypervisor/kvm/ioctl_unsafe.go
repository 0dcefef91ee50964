package kvm

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctlPtr issues an ioctl whose argument points at p, retrying on EINTR. p
// must point at a struct whose layout matches what req expects; the pointer is
// kept alive for the duration of the call by the Syscall rule for
// uintptr(unsafe.Pointer(p)) conversions in the argument list.
func ioctlPtr(fd int, req uintptr, p unsafe.Pointer) (int, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(p))
		if e == 0 {
			return int(r), nil
		}
		if e == unix.EINTR {
			continue
		}
		return -1, fmt.Errorf("%s: %w", ioctlName(req), e)
	}
}
