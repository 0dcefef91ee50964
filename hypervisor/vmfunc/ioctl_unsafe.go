package vmfunc

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ioctl issues request req on fd with arg as its argument, retrying on
// EINTR, and wraps a failure with the request's name and the raw errno.
func ioctl(fd int, req, arg uintptr) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("%s: %w", ioctlName(req), e)
	}
}

// ioctlPtr is ioctl with a pointer to a Raw* struct (or Range) as argument.
// The pointer stays valid for the call by the Syscall conversion rule.
func ioctlPtr[T any](fd int, req uintptr, p *T) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(p)))
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return fmt.Errorf("%s: %w", ioctlName(req), e)
	}
}

// defineView issues UAAF_IOC_DEFINE_VIEW. The RawView carries the address of
// ranges as an integer, which the Syscall conversion rule does not cover, so
// ranges is kept reachable until the call has returned (Go's collector does
// not move heap objects, so the address stays valid while reachable).
func defineView(fd int, index uint32, ranges []Range) error {
	v := RawView{
		Index:   index,
		NRanges: uint32(len(ranges)),
		Ranges:  uint64(uintptr(unsafe.Pointer(unsafe.SliceData(ranges)))),
	}
	err := ioctlPtr(fd, IocDefineView, &v)
	runtime.KeepAlive(ranges)
	return err
}
