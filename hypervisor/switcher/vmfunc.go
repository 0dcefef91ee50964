package switcher

import (
	"fmt"
	"sort"

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

// vmfuncSwitcher is the exitless backend: the session's vCPU switches views
// with VMFUNC, so HandleSwitch is never called; the work is at attach.
type vmfuncSwitcher struct {
	cfg     Config
	dev     *vmfunc.Device
	session []vmfunc.Range
	views   map[int][]vmfunc.Range
	stats   Stats
}

// VMFUNCConfig is what the vmfunc backend needs beyond Config.
type VMFUNCConfig struct {
	DevicePath string // default vmfunc.DefaultPath
	SessionMem uint64
	Libraries  []LibraryView
}

// NewVMFUNC returns a vmfunc switcher for a session whose library memory is
// registered in the session VM at LibraryBase. Call Attach with the session
// VM and vCPU before the vCPU first runs.
func NewVMFUNC(cfg Config, vc VMFUNCConfig) (Switcher, error) {
	if vc.DevicePath == "" {
		vc.DevicePath = vmfunc.DefaultPath
	}
	session, views, err := PlanViews(vc.SessionMem, vc.Libraries)
	if err != nil {
		return nil, err
	}
	dev, err := openVMFUNC(vc.DevicePath)
	if err != nil {
		return nil, err
	}
	return &vmfuncSwitcher{cfg: cfg, dev: dev, session: session, views: views}, nil
}

func (s *vmfuncSwitcher) Backend() uaafabi.Backend { return uaafabi.BackendVMFUNC }
func (s *vmfuncSwitcher) Exitless() bool           { return true }
func (s *vmfuncSwitcher) Stop()                    {}

// Stats: calls are not seen by the monitor on this backend.
func (s *vmfuncSwitcher) Stats() Stats { return s.stats }

// HandleSwitch is never reached on this backend: the trampoline executes
// VMFUNC, not an OUT. A switch exit here means the guest ran the wrong
// trampoline; refuse the call.
func (s *vmfuncSwitcher) HandleSwitch(index uint32) error {
	s.stats.BadIndex++
	uaafabi.PutStatus(s.cfg.CallArea, uaafabi.EInval)
	return nil
}

// Attach installs the session's EPTP list on its vCPU: session view 0,
// then every library view, then enables switching. Call it on the vCPU
// thread before the first KVM_RUN.
func (s *vmfuncSwitcher) Attach(vmFD, vcpuID int) error {
	if err := s.dev.Attach(vmFD, vcpuID); err != nil {
		return fmt.Errorf("vmfunc: attach: %w", err)
	}
	if err := s.dev.DefineSessionView(s.session); err != nil {
		return fmt.Errorf("vmfunc: session view: %w", err)
	}
	idx := make([]int, 0, len(s.views))
	for k := range s.views {
		idx = append(idx, k)
	}
	sort.Ints(idx)
	for _, k := range idx {
		if err := s.dev.DefineView(k, s.views[k]); err != nil {
			return fmt.Errorf("vmfunc: view %d: %w", k, err)
		}
	}
	if err := s.dev.Enable(); err != nil {
		return fmt.Errorf("vmfunc: enable: %w", err)
	}
	return nil
}

// Fault describes a fatal view fault after the session VM shut down.
func (s *vmfuncSwitcher) Fault() (string, bool) {
	st, err := s.dev.Status()
	if err != nil || !st.Faulted() {
		return "", false
	}
	return fmt.Sprintf("view %d faulted at gpa=%#x (exit reason %d, qualification %#x)",
		st.FaultView, st.FaultGPA, st.FaultExitReason, st.FaultQualification), true
}

// ActiveView returns the view the vCPU was in at its last exit.
func (s *vmfuncSwitcher) ActiveView() (uint32, error) {
	st, err := s.dev.Status()
	if err != nil {
		return 0, fmt.Errorf("vmfunc: status: %w", err)
	}
	return st.ActiveView, nil
}

// Close detaches and closes the device.
func (s *vmfuncSwitcher) Close() error {
	s.dev.Detach()
	return s.dev.Close()
}

// Attacher is implemented by backends that must be bound to the session's
// vCPU before it runs (vmfunc).
type Attacher interface {
	// Attach binds the backend to the session VM's vCPU.
	Attach(vmFD, vcpuID int) error
	// ActiveView is the view the vCPU was in at its last exit.
	ActiveView() (uint32, error)
	// Fault describes a fatal view fault, if one happened.
	Fault() (string, bool)
	// Close releases the backend.
	Close() error
}
