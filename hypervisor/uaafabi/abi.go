// Package uaafabi is the UaaF extension of the hvt ABI as the monitor sees
// it: the guest-physical window every view shares (trampoline, view data
// page, call area), the call-area header, the result codes, and the "UAAF"
// ELF notes by which a library-function image lists its exports and a session
// image its imports. guest/include/uaaf.h is the C side of the same ABI;
// TestMatchesHeader (abi_test.go, through the cgo package internal/cabi)
// proves the two agree. guest/UAAF_ABI.md describes it in prose.
//
// The package is pure Go: parsing and encoding only.
package uaafabi

import (
	"encoding/binary"
	"fmt"
)

// The UaaF window: the same guest-physical addresses in every view.
const (
	TrampGPA    = 0x9000 // trampoline code, one page, read-only
	ViewDataGPA = 0xA000 // per-view data page, private to the view
	CallGPA     = 0xC000 // call area, shared by a session and its libraries
	CallSize    = 0x4000 // 16 KiB
	WindowStart = TrampGPA
	WindowEnd   = CallGPA + CallSize // 0x10000, where hvt boot info starts

	// Trampoline entry points.
	TrampCall         = TrampGPA + 0x000 // caller entry: rdi = target view
	TrampCallerResume = TrampGPA + 0x040 // view 0 continues here after a call
	TrampCalleeEntry  = TrampGPA + 0x080 // a library view continues here
	TrampReady        = TrampGPA + 0x100 // a library reports "preloaded"
	TrampSize         = 0x140

	// SwitchPort is the I/O port of the exit-based switch: the guest writes
	// the target view with a 4-byte OUT.
	SwitchPort = 0x510
)

// View data page layout (struct uaaf_viewdata).
const (
	OffVDResume   = 0
	OffVDSavedRSP = 8
	OffVDDispatch = 16
	OffVDRole     = 24
	OffVDView     = 28
	OffVDVerdict  = 32

	RoleNone    = 0
	RoleSession = 1
	RoleLibFunc = 2
)

// Call area layout (struct uaaf_call_hdr, then data).
const (
	OffCallFn     = 0
	OffCallInLen  = 4
	OffCallOutCap = 8
	OffCallStatus = 12
	OffCallSeq    = 16
	CallHdrSize   = 64
	CallDataMax   = CallSize - CallHdrSize // 16320
)

// MaxViews is the size of a vCPU's EPTP list; index 0 is the session, so a
// session can bind at most MaxViews-1 libraries.
const MaxViews = 512

// Status is a call result: an output length >= 0 or an error < 0. Values
// -1..-15 belong to uaaf; a function's own errors are <= -16.
type Status int32

// The uaaf result codes (UAAF_E* in uaaf.h).
const (
	EInval    Status = -1
	ENoEnt    Status = -2
	E2Big     Status = -3
	EFault    Status = -4
	ETimedOut Status = -5
	EUnavail  Status = -6
	EBadRet   Status = -7
	ErrnoMin  Status = -15
)

var statusNames = map[Status]string{
	EInval:    "UAAF_EINVAL",
	ENoEnt:    "UAAF_ENOENT",
	E2Big:     "UAAF_E2BIG",
	EFault:    "UAAF_EFAULT",
	ETimedOut: "UAAF_ETIMEDOUT",
	EUnavail:  "UAAF_EUNAVAIL",
	EBadRet:   "UAAF_EBADRET",
}

func (s Status) String() string {
	if s >= 0 {
		return fmt.Sprintf("%d bytes", int32(s))
	}
	if n, ok := statusNames[s]; ok {
		return n
	}
	if s >= ErrnoMin {
		return fmt.Sprintf("UAAF_E(%d)", int32(s))
	}
	return fmt.Sprintf("function error %d", int32(s))
}

// PutStatus writes s into the call area header at call (the area's bytes).
func PutStatus(call []byte, s Status) {
	binary.LittleEndian.PutUint32(call[OffCallStatus:], uint32(s))
}

// PutVerdict writes the monitor's verdict on the last call, s, into a
// session's view data page vd (its bytes at ViewDataGPA). The session's
// uaaf_call returns a non-zero verdict in place of whatever the callee
// wrote in the call area, which a library could forge.
func PutVerdict(vd []byte, s Status) {
	binary.LittleEndian.PutUint32(vd[OffVDVerdict:], uint32(s))
}

// ReadStatus reads the status field of the call area header.
func ReadStatus(call []byte) Status {
	return Status(binary.LittleEndian.Uint32(call[OffCallStatus:]))
}

// Backend names a way of switching views; the trampoline differs only in
// its SWITCH instruction.
type Backend string

// The switch backends.
const (
	BackendExit   Backend = "exit"
	BackendVMFUNC Backend = "vmfunc"
)

// Trampoline returns the trampoline page contents (TrampSize bytes, to be
// placed at TrampGPA) for backend b.
func Trampoline(b Backend) ([]byte, error) {
	switch b {
	case BackendExit:
		return trampolineExit[:], nil
	case BackendVMFUNC:
		return trampolineVMFUNC[:], nil
	}
	return nil, fmt.Errorf("uaafabi: unknown switch backend %q", b)
}
