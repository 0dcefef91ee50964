package monitor

import (
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/x86"
)

// Template is an image laid out once in memory for many guests: its
// segments loaded, the boot GDT and page tables written, its read-only
// ranges known, and whatever the caller's prepare added (a session's UaaF
// window). The memory is a memfd; every guest started from the template
// (Config.Template) maps it copy-on-write, so a guest's start parses,
// loads and lays out nothing, and costs only the pages it writes.
//
// A Template is safe for concurrent use by many New calls; Close it when
// no New will use it any more (guests already started keep their
// mappings).
type Template struct {
	// Path is the image's path.
	Path string

	img     *hvt.Image
	memSize uint64
	ro      []hvt.Range
	hostRO  bool // ro protected on the host, RAM one memslot (ProtectOnHost)

	mu    sync.Mutex
	memfd int // -1 once closed
}

// NewTemplate lays img out for guests of memSize bytes, with solo5-hvt's
// loader checks and messages, and calls prepare (if not nil) on the laid
// out memory; prepare returns page ranges to make read-only in every guest
// besides the image's text and rodata. img may be closed afterwards.
func NewTemplate(img *Image, memSize uint64, prepare func(ram []byte) ([]hvt.Range, error)) (t *Template, err error) {
	if memSize == 0 {
		memSize = hvt.DefaultMemoryMiB << 20
	}
	if memSize%hvt.MemoryAlign != 0 || memSize > hvt.MaxMemory {
		return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("guest memory size %d bytes is not a multiple of 2 MiB up to 4 GiB", memSize)}
	}
	fd, err := unix.MemfdCreate("uaaf-image", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, &Error{Kind: ErrHost, Msg: "memfd: " + err.Error(), Err: err}
	}
	t = &Template{Path: img.Path, img: img.Image, memSize: memSize, memfd: fd}
	defer func() {
		if err != nil {
			t.Close()
			t = nil
		}
	}()
	if err := unix.Ftruncate(fd, int64(memSize)); err != nil {
		return t, &Error{Kind: ErrHost, Msg: "memfd size: " + err.Error(), Err: err}
	}
	ram, err := unix.Mmap(fd, 0, int(memSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return t, &Error{Kind: ErrHost, Msg: "map memfd: " + err.Error(), Err: err}
	}
	defer unix.Munmap(ram)
	if err := img.load(ram); err != nil {
		return t, err
	}
	for _, s := range img.Segments {
		if !s.Writable() {
			start := s.Vaddr &^ (guestmem.PageSize - 1)
			end := (s.Vaddr + s.Memsz + guestmem.PageSize - 1) &^ (guestmem.PageSize - 1)
			t.ro = append(t.ro, hvt.Range{Start: start, End: end})
		}
	}
	x86.WriteBootGDT(ram)
	if err := x86.WriteBootPageTables(ram, memSize); err != nil {
		return t, &Error{Kind: ErrConfig, Msg: err.Error(), Err: err}
	}
	// The manifest copy as a guest with no device attached gets it (the
	// command line after it is empty). Its page is then the template's
	// from the start, not allocated by a shell's first look at it.
	copy(ram[manifestGPA:], img.Manifest.Encode())
	if prepare != nil {
		extra, err := prepare(ram)
		if err != nil {
			return t, err
		}
		t.ro = append(t.ro, extra...)
	}
	return t, nil
}

// ProtectOnHost makes the guests of t keep their read-only pages read-only
// on the host (mprotect), with their RAM one memslot (slot 0), as guests
// without a template do, instead of read-only memslots: for a switch
// backend that adds memslots of its own to the guest's VM and wants each
// range of a view inside one memslot (vmfunc). Call it before the first
// guest of t.
func (t *Template) ProtectOnHost() { t.hostRO = true }

// Image returns the parsed image the template was made from.
func (t *Template) Image() *hvt.Image { return t.img }

// MemSize returns the guest memory size of guests started from t.
func (t *Template) MemSize() uint64 { return t.memSize }

// Resident returns the bytes of template memory the host holds.
func (t *Template) Resident() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var st unix.Stat_t
	if t.memfd < 0 || unix.Fstat(t.memfd, &st) != nil {
		return 0
	}
	return uint64(st.Blocks) * 512
}

// mapPrivate maps a guest's copy-on-write view of the template. The
// mapping reserves no swap (MAP_NORESERVE): a guest pays only for the
// pages it writes.
func (t *Template) mapPrivate() ([]byte, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.memfd < 0 {
		return nil, &Error{Kind: ErrConfig, Msg: t.Path + ": image template closed"}
	}
	ram, err := unix.Mmap(t.memfd, 0, int(t.memSize), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_NORESERVE)
	if err != nil {
		return nil, &Error{Kind: ErrHost, Msg: "map image template: " + err.Error(), Err: err}
	}
	return ram, nil
}

// readOnly returns the ranges read-only in every guest of t.
func (t *Template) readOnly() []hvt.Range { return slices.Clone(t.ro) }

// Close releases the template's memory once no guest maps it.
func (t *Template) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.memfd < 0 {
		return nil
	}
	err := unix.Close(t.memfd)
	t.memfd = -1
	return err
}

// Shell is a guest of a template made ahead of need: its RAM mapped
// copy-on-write with the read-only ranges protected, installed as memslot
// 0 of a machine whose VM and vCPU exist. New (Config.Shell) finishes it
// into one guest — command line, devices, boot info, vCPU registers — so
// that a warm pool of shells takes the memory mapping and the memslot, the
// two costliest steps left, off a session's start.
type Shell struct {
	t       *Template
	ram     []byte
	machine *kvm.Machine
	tscKHz  uint64 // its vCPU's TSC frequency, in the boot info already
	regsSet bool   // its vCPU has the boot registers
}

// NewShell makes a shell of t in machine m, which it takes over (closed
// with the shell, or by NewShell when it fails).
func (t *Template) NewShell(m *kvm.Machine) (*Shell, error) {
	ram, err := t.mapPrivate()
	if err != nil {
		m.Close()
		return nil, err
	}
	sh := &Shell{t: t, ram: ram, machine: m}
	// The boot info of a guest with no arguments and no device attached,
	// written here, ahead of need and before the memory is in the VM: New
	// then writes only what differs.
	if sh.tscKHz, err = m.VCPU.TSCKHz(); err != nil {
		sh.Close()
		return nil, &Error{Kind: ErrHost, Msg: "KVM: host TSC is unstable, cannot run unikernel: " + err.Error(), Err: err}
	}
	writeBootInfo(ram, t.memSize, t.img.KernelEnd, sh.tscKHz, t.img.Manifest.Encode(), "")
	if _, err := mapGuest(m.VM, 0, 0, ram, t.ro, t.hostRO); err != nil {
		sh.Close()
		return nil, &Error{Kind: ErrHost, Msg: "KVM: " + err.Error(), Err: err}
	}
	// The registers too (two ioctls, ~35 µs here), off the start path.
	if err := bootRegisters(m.VCPU, t.img.Entry, t.memSize); err != nil {
		sh.Close()
		return nil, &Error{Kind: ErrHost, Msg: "KVM: boot registers: " + err.Error(), Err: err}
	}
	sh.regsSet = true
	return sh, nil
}

// Template returns the template the shell was made of.
func (s *Shell) Template() *Template { return s.t }

// Close releases a shell that was never given to New.
func (s *Shell) Close() {
	s.machine.Close()
	guestmem.Free(s.ram)
}
