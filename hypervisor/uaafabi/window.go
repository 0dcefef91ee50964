package uaafabi

import (
	"encoding/binary"
	"fmt"

	"github.com/uaaf/uaaf/hypervisor/x86"
)

// InstallWindow prepares the UaaF window in a view's guest memory mem, after
// the hvt boot page tables were written: it maps the trampoline page
// read-only, the view data page and the call area writable, copies backend
// b's trampoline to TrampGPA and records the view's index in its view data
// page. The caller makes the trampoline page read-only on the host.
func InstallWindow(mem []byte, b Backend, view uint32) error {
	code, err := Trampoline(b)
	if err != nil {
		return err
	}
	if len(mem) < WindowEnd {
		return fmt.Errorf("uaafabi: guest memory of %d bytes cannot hold the window", len(mem))
	}
	if err := x86.MapLowPage(mem, TrampGPA, false); err != nil {
		return err
	}
	if err := x86.MapLowPage(mem, ViewDataGPA, true); err != nil {
		return err
	}
	for gpa := uint64(CallGPA); gpa < WindowEnd; gpa += 4096 {
		if err := x86.MapLowPage(mem, gpa, true); err != nil {
			return err
		}
	}
	page := mem[TrampGPA : TrampGPA+4096]
	for i := range page {
		page[i] = 0xcc // int3 beyond the code
	}
	copy(page, code)
	clear(mem[ViewDataGPA : ViewDataGPA+4096])
	binary.LittleEndian.PutUint32(mem[ViewDataGPA+OffVDView:], view)
	return nil
}

// ViewData reads the resume, saved RSP and role fields of the view data page
// in mem.
func ViewData(mem []byte) (resume, savedRSP uint64, role uint32) {
	vd := mem[ViewDataGPA:]
	le := binary.LittleEndian
	return le.Uint64(vd[OffVDResume:]), le.Uint64(vd[OffVDSavedRSP:]), le.Uint32(vd[OffVDRole:])
}
