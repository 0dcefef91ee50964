package monitor

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
)

// Config says what to run and how. The zero value of every optional field is
// a sane default (see each field).
type Config struct {
	// Kernel is the path of the hvt unikernel image. New opens and parses
	// it unless Image is set.
	Kernel string
	// Image, if set, is the image already opened and parsed (OpenImage);
	// New loads it instead of opening Kernel, and leaves it open for the
	// caller to close. Kernel is then Image.Path.
	Image *Image
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
	// Template, if set, is the image already laid out (NewTemplate): the
	// guest's RAM is a copy-on-write mapping of it, and New opens, parses
	// and loads nothing. Kernel, Image and MemSize are then the template's.
	Template *Template
	// Shell, if set, is a guest of a template prepared ahead of need
	// (Template.NewShell): New takes it over and only finishes it.
	// Template, ReadyMachine and Machine are then ignored.
	Shell *Shell
	// ReadyMachine, if set, is a KVM machine whose VM and vCPU (CPUID set)
	// exist already (a warm pool's): New takes it over, as it takes Machine.
	ReadyMachine *kvm.Machine
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
	// Hooks add UaaF behaviour (sessions, library preload) to the guest;
	// the zero value adds none.
	Hooks Hooks
	// Confine, if set, is called on the vCPU thread just before the guest's
	// first instruction (after every hook) to confine that thread (a
	// seccomp filter of its own, seccomp.InstallThread); an error ends Run.
	// The thread then stays locked to Run's goroutine, and ends when that
	// goroutine does: call Run from a goroutine that exits afterwards.
	Confine func() error
}

// Hooks add to an hvt guest what plain hvt does not have: a UaaF session
// binds library functions and serves view switches; library preload stops a
// library once it reports ready; `uaaf run` confines the process before the
// guest runs. Every hook is optional.
type Hooks struct {
	// Prepare runs at the end of New, once the image, boot state, devices
	// and vCPU are in place and before the vCPU first runs; an error fails
	// New.
	Prepare func(m *Monitor) error
	// BeforeRun runs in Run on the vCPU thread, once the vCPU has its boot
	// state and just before it first enters the guest; an error ends Run.
	BeforeRun func(m *Monitor) error
	// CheckHypercall runs on the vCPU thread before each hypercall is
	// served; an error ends the guest. The vmfunc backend refuses
	// hypercalls made from a library view with it (their pointers are not
	// the session's).
	CheckHypercall func(m *Monitor) error
	// Switch serves a 4-byte OUT of view to uaafabi.SwitchPort, on the vCPU
	// thread; stop=true ends Run with status 0. When nil the port is invalid,
	// as for any plain hvt guest.
	Switch func(m *Monitor, view uint32) (stop bool, err error)
	// Stop is called by Monitor.Stop, from any goroutine, to interrupt
	// whatever Switch is running.
	Stop func()
}

// BlockSpec attaches a host file to a BLOCK_BASIC manifest device.
type BlockSpec struct {
	Name       string // manifest device name
	Path       string // backing file, opened read-write (read-only with ReadOnly)
	SectorSize uint16 // 0 means 512
	// File, if set, is the backing file already open (Path then only names
	// it in messages); it stays the caller's to close.
	File *os.File
	// ReadOnly refuses the guest's writes (SOLO5_R_EUNSPEC).
	ReadOnly bool
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
		return 0, false, memErr(strconv.FormatInt(mib, 10))
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
