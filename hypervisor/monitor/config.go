package monitor

import (
	"fmt"
	"io"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
)

// Config says what to run and how. The zero value of every optional field is
// a sane default (see each field).
type Config struct {
	// Kernel is the path of the hvt unikernel image.
	Kernel string
	// MemSize is the guest RAM size in bytes: a multiple of 2 MiB, at most
	// 4 GiB. Zero means hvt.DefaultMemoryMiB.
	MemSize uint64
	// Args are the guest command-line words after the image name; they are
	// joined with single spaces, as solo5-hvt does.
	Args []string
	// Blocks and Nets attach host backends to manifest devices.
	Blocks []BlockSpec
	Nets   []NetSpec
	// DumpCoreDir, if set, is where a guest core is written when the guest
	// aborts (exit status 255).
	DumpCoreDir string
	// KVMPath is the KVM device; empty means /dev/kvm.
	KVMPath string
	// Machine, if set, is a KVM machine already being created from KVMPath
	// (kvm.StartMachine), so that a cold start can overlap its creation with
	// work done before New. New takes it over: it waits for it, uses it, and
	// closes it with the Monitor or when New fails. Nil means New starts one.
	Machine *kvm.PendingMachine
	// Console receives the guest's console output (PUTS); nil means os.Stdout.
	Console io.Writer
	// Log receives the monitor's own warnings and notices; nil means os.Stderr.
	Log io.Writer
	// RAM, if set, is the guest memory to use instead of a fresh anonymous
	// mapping: len(RAM) must equal MemSize, it must come from mmap, and the
	// caller unmaps it after Close (library preloading boots into a memfd).
	RAM []byte
	// SoleGuest says the guest is all this process runs (`uaaf run`): its
	// vCPU then keeps its Go scheduler slot while in the guest (see
	// kvm.VCPU.KeepP). Leave it false when other goroutines or guests must
	// run alongside.
	SoleGuest bool
	// Extension, if set, adds UaaF behaviour (sessions, library preload) to
	// the guest; see Extension.
	Extension Extension
}

// Extension adds to an hvt guest what plain hvt does not have. UaaF sessions
// use it to bind library functions and serve view switches; library preload
// uses it to stop a library once it reports ready.
type Extension interface {
	// Prepare runs at the end of New, after the image, boot state,
	// devices and vCPU are in place and before the vCPU first runs.
	Prepare(m *Monitor) error
	// VCPUReady runs in Run on the vCPU thread once the vCPU has its boot
	// state, before it first enters the guest.
	VCPUReady(m *Monitor) error
	// CheckHypercall runs before each hvt hypercall is served, on the vCPU
	// thread; an error ends the guest. The vmfunc backend uses it to refuse
	// hypercalls made from a library view, whose pointers are not the
	// session's.
	CheckHypercall(m *Monitor) error
	// HandleSwitch serves a 4-byte OUT of value to the UaaF switch port. It
	// runs on the vCPU thread. stop=true ends Run with status 0.
	HandleSwitch(m *Monitor, value uint32) (stop bool, err error)
	// Stop is called by Monitor.Stop, from any goroutine, to interrupt
	// whatever HandleSwitch may be running.
	Stop()
	// Close releases what Prepare acquired; Monitor.Close calls it first.
	Close()
}

// BlockSpec attaches a host file to a BLOCK_BASIC manifest device.
type BlockSpec struct {
	Name       string // manifest device name
	Path       string // backing file, opened read-write
	SectorSize uint16 // 0 means 512
}

// NetSpec attaches a host tap interface (or an already open tap fd) to a
// NET_BASIC manifest device.
type NetSpec struct {
	Name  string // manifest device name
	Iface string // tap interface name; empty when FD is used
	FD    int    // open tap fd when Iface is empty (the @FD form)
	MAC   string // xx:xx:xx:xx:xx:xx; empty means random, locally administered
}

// MemSizeFromMiB converts a --mem value in MiB into a guest memory size the
// way solo5-hvt does: at most 4 GiB, rounded down to 2 MiB (0 becomes 2 MiB).
// adjusted reports whether rounding changed the value, so the caller can warn.
func MemSizeFromMiB(mib int64) (size uint64, adjusted bool, err error) {
	if mib <= 0 {
		return 0, false, &Error{Kind: ErrUsage, Msg: "Malformed argument to --mem"}
	}
	if mib > hvt.MaxMemory>>20 {
		return 0, false, &Error{Kind: ErrUsage, Msg: fmt.Sprintf(
			"guest memory size %d MiB exceeds the max size %d MiB (%d bytes)", mib, hvt.MaxMemory>>20, uint64(hvt.MaxMemory))}
	}
	size = uint64(mib) << 20
	rounded := size &^ (hvt.MemoryAlign - 1)
	if rounded == 0 {
		rounded = hvt.MemoryAlign
	}
	return rounded, rounded != size, nil
}
