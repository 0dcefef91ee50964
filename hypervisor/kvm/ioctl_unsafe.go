package kvm

import (
	"fmt"
	"unsafe"

	"github.com/uaaf/uaaf/hypervisor/internal/ioctl"
)

// ioctlPtr issues an ioctl whose argument points at p, retrying on EINTR. p
// must point at a struct whose layout matches what req expects (see
// ioctl.Ptr for how it stays valid during the call); errors name the request.
func ioctlPtr(fd int, req uintptr, p unsafe.Pointer) (int, error) {
	r, err := ioctl.Ptr(fd, req, p)
	if err != nil {
		return -1, fmt.Errorf("%s: %w", ioctlName(req), err)
	}
	return r, nil
}
