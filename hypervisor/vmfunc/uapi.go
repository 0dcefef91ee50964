package vmfunc

// This file mirrors kmod/uaaf_uapi.h (API version 2). Change both together;
// internal/uapicheck fails the tests when they differ.

// APIVersion is UAAF_API_VERSION: the module ABI this package speaks.
const APIVersion = 2

// DefaultPath is where the module's misc device appears.
const DefaultPath = "/dev/uaaf"

// EPTP-list geometry (UAAF_EPTP_ENTRIES, UAAF_VIEW_SESSION, UAAF_VIEW_MIN,
// UAAF_VIEW_MAX) and the per-call range limit (UAAF_MAX_RANGES). Slot 0 is
// the session view, built by the module like every other view (KVM's own
// EPT never enters the list); slots ViewMin..ViewMax are library views.
const (
	EPTPEntries = 512
	ViewSession = 0
	ViewMin     = 1
	ViewMax     = 511
	MaxRanges   = 256
	// GPALimit bounds a range's view side (a 4-level EPT translates 48 bits).
	GPALimit = 1 << 48
	// PageSize is the granularity of every range (4 KiB EPT leaves).
	PageSize = 4096
)

// Perm is a set of EPT permissions of a range (UAAF_PERM_*).
type Perm uint32

// Permission bits of Range.Perms. Write requires read; execute-only needs
// CapEPTExecOnly.
const (
	PermR   Perm = 1 << 0
	PermW   Perm = 1 << 1
	PermX   Perm = 1 << 2
	PermRWX      = PermR | PermW | PermX
)

// CapFlag is a set of host capabilities (UAAF_CAP_*).
type CapFlag uint64

// Capability bits reported in Caps.Flags.
const (
	CapVMX           CapFlag = 1 << 0
	CapEPT           CapFlag = 1 << 1
	CapVMFUNC        CapFlag = 1 << 2
	CapEPTPSwitching CapFlag = 1 << 3
	CapEPT4Level     CapFlag = 1 << 4
	CapEPTWB         CapFlag = 1 << 5
	CapINVEPTSingle  CapFlag = 1 << 6
	CapEPTExecOnly   CapFlag = 1 << 7
	// CapUsable: everything EPTP switching needs is present and the module
	// hooked KVM; Enable can succeed.
	CapUsable CapFlag = 1 << 63
)

// Reason codes (UAAF_REASON_*) for an absent CapUsable.
const (
	ReasonNone           = 0
	ReasonNoVMX          = 1
	ReasonMSRFault       = 2
	ReasonNoSecondary    = 3
	ReasonNoEPT          = 4
	ReasonNoVMFUNC       = 5
	ReasonNoEPTPSwitch   = 6
	ReasonNoEPT4Level    = 7
	ReasonNoEPTWB        = 8
	ReasonNoINVEPT       = 9
	ReasonKVMEntryABI    = 10
	reasonLen            = 64
	reasonUnknownMessage = "unknown reason"
)

// State is the session state reported by Status (UAAF_STATE_*).
type State uint32

// Session states.
const (
	StateDetached State = 0 // no vCPU attached
	StateAttached State = 1 // attached; views may be defined
	StateEnabled  State = 2 // EPTP list installed on the vCPU's next entry
	StateFaulted  State = 3 // a view fault shut the VM down
)

// ViewUnused is Status.FaultView when the fault happened after switching to
// an EPTP-list slot that holds no view (UAAF_VIEW_UNUSED).
const ViewUnused = 0xffffffff

// Magic is the ioctl type byte (UAAF_IOC_MAGIC).
const Magic = 0xB7

// Sizes of the C structs, used in the ioctl numbers. uapicheck proves them
// equal to both sizeof() in C and unsafe.Sizeof of the Raw* mirrors.
const (
	SizeofVersion = 8
	SizeofCaps    = 104
	SizeofAttach  = 8
	SizeofRange   = 32
	SizeofView    = 16
	SizeofStatus  = 56
)

// _IOC encoding of asm-generic/ioctl.h (x86): nr bits 0-7, type 8-15,
// size 16-29, direction 30-31.
const (
	iocNone  = 0
	iocWrite = 1
	iocRead  = 2

	iocNRShift   = 0
	iocTypeShift = 8
	iocSizeShift = 16
	iocDirShift  = 30
)

// ioc is _IOC(dir, Magic, nr, size) as an untyped-constant-friendly helper
// for tests and messages; the constants below spell the same expression.
func ioc(dir, nr, size uintptr) uintptr {
	return dir<<iocDirShift | Magic<<iocTypeShift | nr<<iocNRShift | size<<iocSizeShift
}

// Ioctl request numbers (UAAF_IOC_*): _IOR/_IOW/_IO(UAAF_IOC_MAGIC, nr, type).
const (
	IocVersion    = iocRead<<iocDirShift | Magic<<iocTypeShift | 0x00<<iocNRShift | SizeofVersion<<iocSizeShift
	IocCaps       = iocRead<<iocDirShift | Magic<<iocTypeShift | 0x01<<iocNRShift | SizeofCaps<<iocSizeShift
	IocAttach     = iocWrite<<iocDirShift | Magic<<iocTypeShift | 0x02<<iocNRShift | SizeofAttach<<iocSizeShift
	IocDefineView = iocWrite<<iocDirShift | Magic<<iocTypeShift | 0x07<<iocNRShift | SizeofView<<iocSizeShift // nr 0x03 was version 1's
	IocEnable     = iocNone<<iocDirShift | Magic<<iocTypeShift | 0x04<<iocNRShift
	IocStatus     = iocRead<<iocDirShift | Magic<<iocTypeShift | 0x05<<iocNRShift | SizeofStatus<<iocSizeShift
	IocDetach     = iocNone<<iocDirShift | Magic<<iocTypeShift | 0x06<<iocNRShift
)

// RawVersion has the same layout as C struct uaaf_version.
type RawVersion struct {
	APIVersion uint32
	Reserved   uint32
}

// RawCaps has the same layout as C struct uaaf_caps.
type RawCaps struct {
	Flags             uint64
	MSRProcbasedCtls2 uint64
	MSREPTVPIDCap     uint64
	MSRVMFunc         uint64
	Reason            uint32
	Reserved          uint32
	ReasonStr         [reasonLen]byte
}

// RawAttach has the same layout as C struct uaaf_attach.
type RawAttach struct {
	VMFD   int32
	VCPUID uint32
}

// Range is one range of a view; it has the same layout as C struct
// uaaf_range. The view maps guest-physical [GPA, GPA+Size) to the pages
// behind KVM guest-physical [SrcGPA, SrcGPA+Size), page by page: a library's
// RAM registered as a memslot at a high GPA can appear at the session's low
// GPAs in the library's view. SrcGPA == GPA is an identity range (see
// IdentityRange). GPA, SrcGPA and Size are multiples of PageSize, Size > 0,
// GPA+Size <= GPALimit, and the source lies inside one KVM memslot whose
// permissions include Perms. Within a view neither the view sides nor the
// source sides of two ranges may overlap. Reserved must be zero.
type Range struct {
	GPA      uint64
	SrcGPA   uint64
	Size     uint64
	Perms    Perm
	Reserved uint32
}

// IdentityRange is the Range that maps [gpa, gpa+size) to itself.
func IdentityRange(gpa, size uint64, perms Perm) Range {
	return Range{GPA: gpa, SrcGPA: gpa, Size: size, Perms: perms}
}

// RawView has the same layout as C struct uaaf_view. Ranges is a user
// pointer to NRanges Range values.
type RawView struct {
	Index   uint32
	NRanges uint32
	Ranges  uint64
}

// RawStatus has the same layout as C struct uaaf_status.
type RawStatus struct {
	State              uint32
	ActiveView         uint32
	NumViews           uint32
	FaultView          uint32
	FaultExitReason    uint32
	Reserved           uint32
	FaultGPA           uint64
	FaultQualification uint64
	Entries            uint64
	Exits              uint64
}
