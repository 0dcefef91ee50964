package kvm

// Regs has the same layout as C struct kvm_regs (x86).
type Regs struct {
	RAX, RBX, RCX, RDX, RSI, RDI, RSP, RBP uint64
	R8, R9, R10, R11, R12, R13, R14, R15   uint64
	RIP, RFLAGS                            uint64
}

// Segment has the same layout as C struct kvm_segment.
type Segment struct {
	Base     uint64
	Limit    uint32
	Selector uint16
	Type     uint8
	Present  uint8
	DPL      uint8
	DB       uint8
	S        uint8
	L        uint8
	G        uint8
	AVL      uint8
	Unusable uint8
	_        uint8
}

// DTable has the same layout as C struct kvm_dtable (a GDTR or IDTR).
type DTable struct {
	Base  uint64
	Limit uint16
	_     [3]uint16
}

// Sregs has the same layout as C struct kvm_sregs (x86).
type Sregs struct {
	CS, DS, ES, FS, GS, SS Segment
	TR, LDT                Segment
	GDT, IDT               DTable
	CR0, CR2, CR3, CR4     uint64
	CR8                    uint64
	EFER                   uint64
	APICBase               uint64
	InterruptBitmap        [4]uint64
}

// UserspaceMemoryRegion has the same layout as C struct
// kvm_userspace_memory_region.
type UserspaceMemoryRegion struct {
	Slot          uint32
	Flags         uint32
	GuestPhysAddr uint64
	MemorySize    uint64
	UserspaceAddr uint64
}

// Memory region flags (KVM_MEM_*).
const (
	MemLogDirtyPages = 1 << 0
	MemReadonly      = 1 << 1
)

// CPUIDEntry2 has the same layout as C struct kvm_cpuid_entry2.
type CPUIDEntry2 struct {
	Function uint32
	Index    uint32
	Flags    uint32
	EAX      uint32
	EBX      uint32
	ECX      uint32
	EDX      uint32
	_        [3]uint32
}

// IOEventFD has the same layout as C struct kvm_ioeventfd.
type IOEventFD struct {
	Datamatch uint64
	Addr      uint64
	Len       uint32
	FD        int32
	Flags     uint32
	_         [36]uint8
}

// IOEventFD flags (KVM_IOEVENTFD_FLAG_*).
const (
	IOEventFDFlagDatamatch = 1 << 0
	IOEventFDFlagPIO       = 1 << 1
	IOEventFDFlagDeassign  = 1 << 2
)

// Sizes of the mirrored structs, in bytes, as the kernel defines them.
const (
	SizeofRegs                  = 144
	SizeofSegment               = 24
	SizeofDTable                = 16
	SizeofSregs                 = 312
	SizeofUserspaceMemoryRegion = 32
	SizeofCPUIDEntry2           = 40
	SizeofIOEventFD             = 64
	sizeofCPUID2Header          = 8 // struct kvm_cpuid2 without its entries
)

// MaxCPUIDEntries bounds the CPUID table uaaf asks the kernel for.
const MaxCPUIDEntries = 256

// cpuid2 has the layout of struct kvm_cpuid2 followed by room for
// MaxCPUIDEntries entries.
type cpuid2 struct {
	NEnt    uint32
	_       uint32
	Entries [MaxCPUIDEntries]CPUIDEntry2
}
