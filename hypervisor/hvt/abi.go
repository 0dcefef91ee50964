// Package hvt is the Solo5 "hvt" guest ABI, version 2, as seen from the
// monitor: hypercall numbers and argument layouts, the boot information block,
// the guest memory map constants, and the loader for hvt ELF images with their
// Solo5 ABI and manifest notes.
//
// The package is pure Go and touches no KVM state, so everything in it is
// testable (and fuzzable) without /dev/kvm. All multi-byte fields are little
// endian, as on x86-64.
package hvt

import (
	"encoding/binary"
	"fmt"
)

// ABI identification, from the ABI1 note of every hvt image.
const (
	// ABIVersion is the only hvt ABI version this monitor speaks.
	ABIVersion = 2
	// ABITargetHVT is the abi_target value of images built for hvt.
	ABITargetHVT = 1
)

// Guest physical memory map. The guest runs identity mapped (VA == GPA).
const (
	// BootInfoGPA is where the monitor writes struct hvt_boot_info; the guest
	// receives it in RDI at entry.
	BootInfoGPA = 0x10000
	// GuestMinBase is the lowest address an ELF segment may be loaded at.
	GuestMinBase = 0x100000
	// CmdlineSize is the size of the guest command-line buffer, NUL included.
	CmdlineSize = 8192
	// MaxMemory is the largest guest RAM the 4 boot page directories map.
	MaxMemory = 4 << 30
	// MemoryAlign is the granularity guest RAM sizes are rounded down to.
	MemoryAlign = 2 << 20
	// DefaultMemoryMiB is solo5-hvt's default --mem.
	DefaultMemoryMiB = 512
)

// Hypercall is an hvt hypercall number. The guest issues hypercall n with a
// 4-byte OUT to port PIOBase+n whose data is the 32-bit GPA of the argument
// struct.
type Hypercall uint32

// The hypercalls of hvt ABI version 2.
const (
	HypercallWalltime   Hypercall = 1
	HypercallPuts       Hypercall = 2
	HypercallPoll       Hypercall = 3
	HypercallBlockWrite Hypercall = 4
	HypercallBlockRead  Hypercall = 5
	HypercallNetWrite   Hypercall = 6
	HypercallNetRead    Hypercall = 7
	HypercallHalt       Hypercall = 8
	// HypercallMax is one past the highest hvt hypercall number.
	HypercallMax Hypercall = 9
)

// PIOBase is the I/O port of hypercall 0; hypercall n is port PIOBase+n.
const PIOBase = 0x500

// Port returns the I/O port the guest writes to issue h.
func (h Hypercall) Port() uint16 { return uint16(PIOBase + h) }

var hypercallNames = [...]string{
	HypercallWalltime:   "WALLTIME",
	HypercallPuts:       "PUTS",
	HypercallPoll:       "POLL",
	HypercallBlockWrite: "BLOCK_WRITE",
	HypercallBlockRead:  "BLOCK_READ",
	HypercallNetWrite:   "NET_WRITE",
	HypercallNetRead:    "NET_READ",
	HypercallHalt:       "HALT",
}

func (h Hypercall) String() string {
	if int(h) < len(hypercallNames) && hypercallNames[h] != "" {
		return hypercallNames[h]
	}
	return fmt.Sprintf("hypercall(%d)", uint32(h))
}

// Result codes written back into hypercall argument structs (solo5_result_t).
const (
	ResultOK      = 0
	ResultAgain   = 1
	ResultEInval  = 2
	ResultEUnspec = 3
)

// ExitAbort is the exit status of a guest that aborted or trapped.
const ExitAbort = 255

// Sizes of the hypercall argument structs (LP64 layouts of include/hvt_abi.h).
const (
	SizeWalltime   = 8
	SizePuts       = 16
	SizePoll       = 24
	SizeBlockIO    = 40 // hvt_hc_block_write and hvt_hc_block_read
	SizeNetIO      = 32 // hvt_hc_net_write and hvt_hc_net_read
	SizeHalt       = 16
	SizeBootInfo   = 56
	HaltCookieSize = 512 // bytes checked at a non-zero halt cookie
)

// Field offsets inside the hypercall argument structs.
const (
	OffWalltimeNsecs = 0

	OffPutsData = 0
	OffPutsLen  = 8

	OffPollTimeout  = 0
	OffPollReadySet = 8
	OffPollRet      = 16

	OffBlockHandle = 0
	OffBlockOffset = 8
	OffBlockData   = 16
	OffBlockLen    = 24
	OffBlockRet    = 32

	OffNetHandle = 0
	OffNetData   = 8
	OffNetLen    = 16
	OffNetRet    = 24

	OffHaltCookie = 0
	OffHaltStatus = 8
)

// Puts is the argument of HypercallPuts.
type Puts struct {
	Data uint64 // GPA of the bytes to write
	Len  uint64
}

// DecodePuts reads a Puts from the SizePuts bytes at b.
func DecodePuts(b []byte) Puts {
	return Puts{Data: le64(b, OffPutsData), Len: le64(b, OffPutsLen)}
}

// Poll is the argument of HypercallPoll (inputs only).
type Poll struct {
	TimeoutNsecs uint64 // relative timeout
}

// DecodePoll reads a Poll from the SizePoll bytes at b.
func DecodePoll(b []byte) Poll { return Poll{TimeoutNsecs: le64(b, OffPollTimeout)} }

// EncodePollResult writes the outputs of HypercallPoll into b.
func EncodePollResult(b []byte, readySet uint64, ret int32) {
	binary.LittleEndian.PutUint64(b[OffPollReadySet:], readySet)
	binary.LittleEndian.PutUint32(b[OffPollRet:], uint32(ret))
}

// BlockIO is the argument of HypercallBlockRead and HypercallBlockWrite.
type BlockIO struct {
	Handle uint64 // manifest index
	Offset uint64 // byte offset on the device
	Data   uint64 // GPA of the buffer
	Len    uint64
}

// DecodeBlockIO reads a BlockIO from the SizeBlockIO bytes at b.
func DecodeBlockIO(b []byte) BlockIO {
	return BlockIO{
		Handle: le64(b, OffBlockHandle),
		Offset: le64(b, OffBlockOffset),
		Data:   le64(b, OffBlockData),
		Len:    le64(b, OffBlockLen),
	}
}

// NetIO is the argument of HypercallNetRead and HypercallNetWrite.
type NetIO struct {
	Handle uint64 // manifest index
	Data   uint64 // GPA of the frame buffer
	Len    uint64 // frame length (write) or buffer capacity (read)
}

// DecodeNetIO reads a NetIO from the SizeNetIO bytes at b.
func DecodeNetIO(b []byte) NetIO {
	return NetIO{Handle: le64(b, OffNetHandle), Data: le64(b, OffNetData), Len: le64(b, OffNetLen)}
}

// Halt is the argument of HypercallHalt.
type Halt struct {
	Cookie uint64 // GPA of a trap frame, or 0
	Status uint32 // guest exit status
}

// DecodeHalt reads a Halt from the SizeHalt bytes at b.
func DecodeHalt(b []byte) Halt {
	return Halt{Cookie: le64(b, OffHaltCookie), Status: binary.LittleEndian.Uint32(b[OffHaltStatus:])}
}

// BootInfo has the layout of struct hvt_boot_info (56 bytes), written by the
// monitor at BootInfoGPA before the guest starts.
type BootInfo struct {
	MemSize       uint64 // guest RAM visible to the guest, bytes
	KernelEnd     uint64 // end of the highest non-empty loaded segment
	CPUCycleFreq  uint64 // TSC frequency in Hz
	Cmdline       uint64 // GPA of the NUL-terminated command line
	Manifest      uint64 // GPA of the manifest copy
	HostFeatures  uint32 // bit 0: net ring I/O offered (uaaf never offers it)
	GuestFeatures uint32
	NetRing       uint64 // GPA of the net ring, or 0
}

// Encode writes bi into the first SizeBootInfo bytes of b.
func (bi *BootInfo) Encode(b []byte) {
	_ = b[SizeBootInfo-1]
	le := binary.LittleEndian
	le.PutUint64(b[0:], bi.MemSize)
	le.PutUint64(b[8:], bi.KernelEnd)
	le.PutUint64(b[16:], bi.CPUCycleFreq)
	le.PutUint64(b[24:], bi.Cmdline)
	le.PutUint64(b[32:], bi.Manifest)
	le.PutUint32(b[40:], bi.HostFeatures)
	le.PutUint32(b[44:], bi.GuestFeatures)
	le.PutUint64(b[48:], bi.NetRing)
}

// TrapFrame is the guest's struct trap_regs that a trapping Solo5 guest passes
// as the halt cookie: seven 64-bit words.
type TrapFrame struct {
	CR2, ErrorCode, RIP, CS, RFLAGS, RSP, SS uint64
}

// SizeTrapFrame is the size of TrapFrame in guest memory.
const SizeTrapFrame = 56

// DecodeTrapFrame reads a TrapFrame from the SizeTrapFrame bytes at b.
func DecodeTrapFrame(b []byte) TrapFrame {
	return TrapFrame{
		CR2: le64(b, 0), ErrorCode: le64(b, 8), RIP: le64(b, 16), CS: le64(b, 24),
		RFLAGS: le64(b, 32), RSP: le64(b, 40), SS: le64(b, 48),
	}
}

func le64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
