package hvt

import "fmt"

// Memory is a guest's RAM as the monitor sees it: byte i is GPA i. Its length
// is the guest memory size the guest was told in BootInfo.MemSize.
//
// Memory does no locking: the guest may change the bytes at any time while its
// vCPU runs, so a caller that validates a value read from guest memory must use
// the value it validated, never re-read it.
type Memory []byte

// Slice returns the size bytes at gpa, checked the way Solo5's
// HVT_CHECKED_GPA_P checks a guest pointer: the range must lie inside guest
// memory and must not end exactly at its top (gpa+size < len). A failed check
// returns an *AccessError wrapping ErrGuestAccess.
func (m Memory) Slice(gpa, size uint64) ([]byte, error) {
	limit := uint64(len(m))
	end := gpa + size
	if gpa >= limit || end < gpa || end >= limit {
		return nil, &AccessError{GPA: gpa, Size: size}
	}
	return m[gpa:end:end], nil
}

// AccessError reports a guest-supplied address range that lies (partly)
// outside guest memory.
type AccessError struct {
	GPA, Size uint64
	ReadOnly  bool // the range is inside guest memory but read-only to the host
}

func (e *AccessError) Error() string {
	if e.ReadOnly {
		return fmt.Sprintf("Invalid guest access: gpa=0x%x, sz=%d (read-only memory)", e.GPA, e.Size)
	}
	return fmt.Sprintf("Invalid guest access: gpa=0x%x, sz=%d", e.GPA, e.Size)
}

// Unwrap makes errors.Is(err, ErrGuestAccess) true.
func (e *AccessError) Unwrap() error { return ErrGuestAccess }

// Range is a page range [Start, End) of guest-physical addresses.
type Range struct{ Start, End uint64 }

// SliceW is Slice for a range the monitor is about to write (a hypercall's
// results, a read buffer): it also refuses any range that overlaps ro, the
// pages the host has made read-only (the guest's text and rodata, the
// trampoline). Writing there from the host would fault the monitor itself.
func (m Memory) SliceW(gpa, size uint64, ro []Range) ([]byte, error) {
	b, err := m.Slice(gpa, size)
	if err != nil {
		return nil, err
	}
	end := gpa + size
	for _, r := range ro {
		if gpa < r.End && end > r.Start {
			return nil, &AccessError{GPA: gpa, Size: size, ReadOnly: true}
		}
	}
	return b, nil
}
