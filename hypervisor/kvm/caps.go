package kvm

import "fmt"

// Cap is a KVM capability number for KVM_CHECK_EXTENSION.
type Cap uintptr

// The capabilities uaaf checks.
const (
	CapUserMemory    Cap = 3
	CapNrVCPUs       Cap = 9
	CapNrMemslots    Cap = 10
	CapCoalescedMMIO Cap = 15
	CapIOEventFD     Cap = 36
	CapGetTSCKHz     Cap = 61
	CapMaxVCPUs      Cap = 66
	CapSyncRegs      Cap = 74
	CapReadonlyMem   Cap = 81
	CapImmediateExit Cap = 136
	CapCoalescedPIO  Cap = 162
)

var capNames = map[Cap]string{
	CapUserMemory:    "KVM_CAP_USER_MEMORY",
	CapNrVCPUs:       "KVM_CAP_NR_VCPUS",
	CapNrMemslots:    "KVM_CAP_NR_MEMSLOTS",
	CapCoalescedMMIO: "KVM_CAP_COALESCED_MMIO",
	CapIOEventFD:     "KVM_CAP_IOEVENTFD",
	CapGetTSCKHz:     "KVM_CAP_GET_TSC_KHZ",
	CapMaxVCPUs:      "KVM_CAP_MAX_VCPUS",
	CapSyncRegs:      "KVM_CAP_SYNC_REGS",
	CapReadonlyMem:   "KVM_CAP_READONLY_MEM",
	CapImmediateExit: "KVM_CAP_IMMEDIATE_EXIT",
	CapCoalescedPIO:  "KVM_CAP_COALESCED_PIO",
}

func (c Cap) String() string {
	if n, ok := capNames[c]; ok {
		return n
	}
	return fmt.Sprintf("KVM_CAP(%d)", uintptr(c))
}

// KnownCaps lists the capabilities uaaf knows by name, in numeric order, for
// reports such as `uaaf probe`.
var KnownCaps = []Cap{
	CapUserMemory, CapNrVCPUs, CapNrMemslots, CapCoalescedMMIO, CapIOEventFD,
	CapGetTSCKHz, CapMaxVCPUs, CapSyncRegs, CapReadonlyMem, CapImmediateExit,
	CapCoalescedPIO,
}
