package vmfunc

import (
	"fmt"
	"runtime"
	"unsafe"

	"github.com/uaaf/uaaf/hypervisor/internal/ioctl"
)

// ioctlInt issues request req on fd with the integer arg, retrying on
// EINTR, and wraps a failure with the request's name and the raw errno.
func ioctlInt(fd int, req, arg uintptr) error {
	if _, err := ioctl.Int(fd, req, arg); err != nil {
		return fmt.Errorf("%s: %w", ioctlName(req), err)
	}
	return nil
}

// ioctlPtr is ioctlInt with a pointer to a Raw* struct as argument.
func ioctlPtr[T any](fd int, req uintptr, p *T) error {
	if _, err := ioctl.Ptr(fd, req, unsafe.Pointer(p)); err != nil {
		return fmt.Errorf("%s: %w", ioctlName(req), err)
	}
	return nil
}

// defineView issues UAAF_IOC_DEFINE_VIEW. The RawView carries the address of
// the ranges array as an integer (the C struct's __u64), which neither the
// garbage collector nor the Syscall conversion rule knows to be a pointer:
// ranges could be on the goroutine's stack, which moves when it grows, and
// unreachable after the conversion. A runtime.Pinner pins the array for the
// call (pinning makes it a heap object that is neither moved nor freed until
// Unpin), so the address the module reads stays the array's.
func defineView(fd int, index uint32, ranges []Range) error {
	var pin runtime.Pinner
	defer pin.Unpin()
	first := unsafe.SliceData(ranges)
	if first != nil {
		pin.Pin(first)
	}
	v := RawView{
		Index:   index,
		NRanges: uint32(len(ranges)),
		Ranges:  uint64(uintptr(unsafe.Pointer(first))),
	}
	return ioctlPtr(fd, IocDefineView, &v)
}
