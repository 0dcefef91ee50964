package guestmem

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Resident reports, per page of mem (which must start page aligned, e.g. a
// mapping from Alloc), whether the page is resident in host memory
// (mincore(2)); vec[i]&1 is set for resident page i.
func Resident(mem []byte) ([]byte, error) {
	if len(mem) == 0 {
		return nil, nil
	}
	vec := make([]byte, (len(mem)+PageSize-1)/PageSize)
	_, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(mem))),
		uintptr(len(mem)), uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	if e != 0 {
		return nil, fmt.Errorf("%w: mincore: %w", ErrMemory, e)
	}
	return vec, nil
}
