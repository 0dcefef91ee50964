package switcher

import (
	"fmt"
	"sort"
	"sync"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/libfuncs/libvm"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vmfunc"
)

// On the vmfunc backend every view lives in the session's own KVM VM: the
// session's RAM is its memslot at GPA 0, and library view k's memory is an
// extra memslot at LibraryBase(k). The kernel module builds one EPT per view
// that maps the view's memory at the same low GPAs the library was linked
// for, plus the session's call area, from those memslots.

// LibraryBase is where, in the session VM's guest-physical space, the
// memory of the library at EPTP index k is registered (1 TiB + k × 4 GiB,
// inside a 48-bit guest-physical space for every k < 512).
func LibraryBase(k int) uint64 { return 1<<40 + uint64(k)<<32 }

// LibraryView describes one library view for PlanViews.
type LibraryView struct {
	Index    int         // EPTP index, 1..511
	MemSize  uint64      // the library's guest memory
	ReadOnly []hvt.Range // page ranges mapped read+execute only (text, rodata, trampoline)
}

// PlanViews computes the ranges of the session view (index 0: the session's
// RAM, identity mapped) and of each library view: the library's memory at
// [0, MemSize) from its memslot at LibraryBase(Index), except the call area,
// which comes from the session's own RAM. Read-only ranges lose write
// permission; the call area loses execute permission.
func PlanViews(sessionMem uint64, libs []LibraryView) (session []vmfunc.Range, views map[int][]vmfunc.Range, err error) {
	if sessionMem < uaafabi.WindowEnd || sessionMem%vmfunc.PageSize != 0 {
		return nil, nil, fmt.Errorf("switcher: session memory %#x cannot hold the UaaF window", sessionMem)
	}
	session = []vmfunc.Range{vmfunc.IdentityRange(0, sessionMem, vmfunc.PermRWX)}
	views = map[int][]vmfunc.Range{}
	for _, l := range libs {
		if l.Index < 1 || l.Index >= uaafabi.MaxViews {
			return nil, nil, fmt.Errorf("switcher: library view index %d outside 1..%d", l.Index, uaafabi.MaxViews-1)
		}
		if _, dup := views[l.Index]; dup {
			return nil, nil, fmt.Errorf("switcher: library view index %d given twice", l.Index)
		}
		if l.MemSize < uaafabi.WindowEnd || l.MemSize%vmfunc.PageSize != 0 || l.MemSize > 1<<32 {
			return nil, nil, fmt.Errorf("switcher: library view %d: memory %#x", l.Index, l.MemSize)
		}
		base := LibraryBase(l.Index)
		var rs []vmfunc.Range
		add := func(start, end uint64, perms vmfunc.Perm) {
			if end > start {
				rs = append(rs, vmfunc.Range{GPA: start, SrcGPA: base + start, Size: end - start, Perms: perms})
			}
		}
		// Split [0, CallGPA) and [WindowEnd, MemSize) around the read-only ranges.
		ro := append([]hvt.Range(nil), l.ReadOnly...)
		sort.Slice(ro, func(i, j int) bool { return ro[i].Start < ro[j].Start })
		for _, span := range [][2]uint64{{0, uaafabi.CallGPA}, {uaafabi.WindowEnd, l.MemSize}} {
			at := span[0]
			for _, r := range ro {
				s, e := max(r.Start, span[0]), min(r.End, span[1])
				if s >= e || s < at {
					continue
				}
				add(at, s, vmfunc.PermRWX)
				add(s, e, vmfunc.PermR|vmfunc.PermX)
				at = e
			}
			add(at, span[1], vmfunc.PermRWX)
		}
		rs = append(rs, vmfunc.Range{GPA: uaafabi.CallGPA, SrcGPA: uaafabi.CallGPA, Size: uaafabi.CallSize, Perms: vmfunc.PermR | vmfunc.PermW})
		sort.Slice(rs, func(i, j int) bool { return rs[i].GPA < rs[j].GPA })
		if len(rs) > vmfunc.MaxRanges {
			return nil, nil, fmt.Errorf("switcher: library view %d needs %d ranges, the module takes %d", l.Index, len(rs), vmfunc.MaxRanges)
		}
		views[l.Index] = rs
	}
	return session, views, nil
}

// vmfuncBackend is the exitless backend: the session's vCPU switches views
// with VMFUNC, so Switch is never called; the work is at Attach. Every
// library view's memory is a private copy-on-write mapping of its pristine
// image, registered as memslot k of the session VM at LibraryBase(k), for
// the kernel module to build the view's EPT from.
type vmfuncBackend struct {
	cfg     Config
	dev     *vmfunc.Device
	session []vmfunc.Range
	views   map[int][]vmfunc.Range
	mapped  [][]byte // mapped[i] is view i+1's memory

	mu       sync.Mutex // guards stats and attached
	stats    Stats
	attached bool
}

func newVMFUNC(cfg Config, dev *vmfunc.Device) (Backend, error) {
	b := &vmfuncBackend{cfg: cfg, dev: dev}
	libs := make([]LibraryView, len(cfg.Libraries))
	for i, l := range cfg.Libraries {
		libs[i] = LibraryView{Index: i + 1, MemSize: l.MemSize(), ReadOnly: l.ReadOnlyRanges()}
	}
	var err error
	if b.session, b.views, err = PlanViews(cfg.SessionMem, libs); err != nil {
		dev.Close()
		return nil, err
	}
	for _, l := range cfg.Libraries {
		mem, err := l.MapPrivate(uaafabi.BackendVMFUNC)
		if err != nil {
			b.Close()
			return nil, err
		}
		b.mapped = append(b.mapped, mem)
	}
	return b, nil
}

func (b *vmfuncBackend) Name() uaafabi.Backend { return uaafabi.BackendVMFUNC }
func (b *vmfuncBackend) Exitless() bool        { return true }

// Stop has nothing to interrupt: calls run inside the session's KVM_RUN,
// which the monitor stops.
func (b *vmfuncBackend) Stop() {}

// Switch is never reached on this backend: the trampoline executes VMFUNC,
// not an OUT. A switch exit here means the guest ran the wrong trampoline;
// refuse the call.
func (b *vmfuncBackend) Switch(uint32) error {
	b.mu.Lock()
	b.stats.BadIndex++
	b.mu.Unlock()
	putVerdict(b.cfg, uaafabi.EInval)
	return nil
}

// Attach registers every library view's memory in the session VM, installs
// the session's EPTP list on its vCPU (session view 0, then every library
// view) and enables switching.
func (b *vmfuncBackend) Attach(vm *kvm.VM, vcpuID int) error {
	for i, mem := range b.mapped {
		if err := vm.MapMemory(uint32(i+1), LibraryBase(i+1), mem, 0); err != nil {
			return fmt.Errorf("vmfunc: library %s memslot: %w", b.cfg.Libraries[i].Name, err)
		}
	}
	if err := b.dev.Attach(vm.FD(), vcpuID); err != nil {
		return fmt.Errorf("vmfunc: attach: %w", err)
	}
	if err := b.dev.DefineSessionView(b.session); err != nil {
		return fmt.Errorf("vmfunc: session view: %w", err)
	}
	idx := make([]int, 0, len(b.views))
	for k := range b.views {
		idx = append(idx, k)
	}
	sort.Ints(idx)
	for _, k := range idx {
		if err := b.dev.DefineView(k, b.views[k]); err != nil {
			return fmt.Errorf("vmfunc: view %d: %w", k, err)
		}
	}
	if err := b.dev.Enable(); err != nil {
		return fmt.Errorf("vmfunc: enable: %w", err)
	}
	b.mu.Lock()
	b.attached = true
	b.mu.Unlock()
	return nil
}

// Fault describes a fatal view fault after the session VM shut down.
func (b *vmfuncBackend) Fault() (string, bool) {
	st, err := b.dev.Status()
	if err != nil || !st.Faulted() {
		return "", false
	}
	return fmt.Sprintf("view %d faulted at gpa=%#x (exit reason %d, qualification %#x)",
		st.FaultView, st.FaultGPA, st.FaultExitReason, st.FaultQualification), true
}

// ActiveView returns the view the vCPU was in at its last exit.
func (b *vmfuncBackend) ActiveView() (uint32, error) {
	st, err := b.dev.Status()
	if err != nil {
		return 0, fmt.Errorf("vmfunc: status: %w", err)
	}
	return st.ActiveView, nil
}

// Views reports every library view live once attached; calls are not seen
// by the monitor on this backend.
func (b *vmfuncBackend) Views() []ViewState {
	b.mu.Lock()
	state := "none"
	if b.attached {
		state = "live"
	}
	b.mu.Unlock()
	out := make([]ViewState, len(b.cfg.Libraries))
	for i, l := range b.cfg.Libraries {
		out[i] = ViewState{Index: i + 1, Library: l.Name, Instance: state}
	}
	return out
}

func (b *vmfuncBackend) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// Close detaches and closes the device and unmaps the views' memory (the
// session VM holding it as memslots is gone by now).
func (b *vmfuncBackend) Close() error {
	b.dev.Detach()
	err := b.dev.Close()
	for _, mem := range b.mapped {
		libvm.FreeMapping(mem)
	}
	b.mapped = nil
	return err
}
