package kvm

import "fmt"

// ExitReason is struct kvm_run's exit_reason (KVM_EXIT_*).
type ExitReason uint32

// The exit reasons uaaf distinguishes.
const (
	ExitUnknown       ExitReason = 0
	ExitException     ExitReason = 1
	ExitIO            ExitReason = 2
	ExitHypercall     ExitReason = 3
	ExitDebug         ExitReason = 4
	ExitHLT           ExitReason = 5
	ExitMMIO          ExitReason = 6
	ExitIRQWindowOpen ExitReason = 7
	ExitShutdown      ExitReason = 8
	ExitFailEntry     ExitReason = 9
	ExitIntr          ExitReason = 10
	ExitNMI           ExitReason = 16
	ExitInternalError ExitReason = 17
	ExitSystemEvent   ExitReason = 24
)

var exitNames = map[ExitReason]string{
	ExitUnknown:       "UNKNOWN",
	ExitException:     "EXCEPTION",
	ExitIO:            "IO",
	ExitHypercall:     "HYPERCALL",
	ExitDebug:         "DEBUG",
	ExitHLT:           "HLT",
	ExitMMIO:          "MMIO",
	ExitIRQWindowOpen: "IRQ_WINDOW_OPEN",
	ExitShutdown:      "SHUTDOWN",
	ExitFailEntry:     "FAIL_ENTRY",
	ExitIntr:          "INTR",
	ExitNMI:           "NMI",
	ExitInternalError: "INTERNAL_ERROR",
	ExitSystemEvent:   "SYSTEM_EVENT",
}

func (r ExitReason) String() string {
	if n, ok := exitNames[r]; ok {
		return "KVM_EXIT_" + n
	}
	return fmt.Sprintf("KVM_EXIT(%d)", uint32(r))
}

// Port I/O directions (KVM_EXIT_IO_*).
const (
	IODirIn  = 0
	IODirOut = 1
)

// IOExit is the io member of struct kvm_run's exit union, valid when the exit
// reason is ExitIO.
type IOExit struct {
	Direction  uint8
	Size       uint8
	Port       uint16
	Count      uint32
	DataOffset uint64 // offset of the data within the kvm_run mapping
}

// MMIOExit is the mmio member of struct kvm_run's exit union, valid when the
// exit reason is ExitMMIO.
type MMIOExit struct {
	PhysAddr uint64
	Data     [8]uint8
	Len      uint32
	IsWrite  uint8
	_        [3]uint8
}

// FailEntryExit is the fail_entry member of the exit union (ExitFailEntry).
type FailEntryExit struct {
	HardwareEntryFailureReason uint64
	CPU                        uint32
	_                          uint32
}

// InternalErrorExit is the internal member of the exit union
// (ExitInternalError). Only the first NData entries of Data are valid.
type InternalErrorExit struct {
	Suberror uint32
	NData    uint32
	Data     [16]uint64
}
