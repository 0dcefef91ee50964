// Package guestmem allocates guest RAM on the host and protects parts of it:
// the memory a KVM memslot maps, as the monitor and the library runtime use
// it. All functions are safe for concurrent use on distinct mappings.
package guestmem

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ErrMemory: guest memory could not be allocated, protected or inspected.
var ErrMemory = errors.New("guestmem: guest memory")

// PageSize is the host and guest base page size.
const PageSize = 4096

// AllocMemory maps size bytes of zero-filled, lazily allocated anonymous
// memory for guest RAM. Pages cost host memory only once touched. Free it with
// Free after every memslot using it is gone.
func Alloc(size uint64) ([]byte, error) {
	if size == 0 || size%PageSize != 0 {
		return nil, fmt.Errorf("%w: size %#x not a positive multiple of the page size", ErrMemory, size)
	}
	mem, err := unix.Mmap(-1, 0, int(size), unix.PROT_READ|unix.PROT_WRITE,
		unix.MAP_SHARED|unix.MAP_ANONYMOUS|unix.MAP_NORESERVE)
	if err != nil {
		return nil, fmt.Errorf("%w: mmap %d bytes: %w", ErrMemory, size, err)
	}
	return mem, nil
}

// Free unmaps memory returned by Alloc.
func Free(mem []byte) error {
	if mem == nil {
		return nil
	}
	if err := unix.Munmap(mem); err != nil {
		return fmt.Errorf("%w: munmap: %w", ErrMemory, err)
	}
	return nil
}

// ProtectReadOnly makes mem[off:off+n] read-only on the host. KVM then maps
// those guest pages read-only too: a guest write to them exits (EFAULT from
// KVM_RUN on hardware KVM, an MMIO exit under PVM) instead of changing them.
// off and n must be page aligned.
func ProtectReadOnly(mem []byte, off, n uint64) error {
	if off%PageSize != 0 || n%PageSize != 0 || off+n < off || off+n > uint64(len(mem)) {
		return fmt.Errorf("%w: protect [%#x, %#x) of %#x: bad range", ErrMemory, off, off+n, len(mem))
	}
	if n == 0 {
		return nil
	}
	if err := unix.Mprotect(mem[off:off+n], unix.PROT_READ); err != nil {
		return fmt.Errorf("%w: mprotect [%#x, %#x): %w", ErrMemory, off, off+n, err)
	}
	return nil
}
