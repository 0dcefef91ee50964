package vmfunc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Device is an open /dev/uaaf: one session of the module, which can attach
// to one KVM vCPU at a time. Methods are safe for concurrent use.
type Device struct {
	mu   sync.Mutex
	fd   int // -1 once closed
	path string
}

// Caps is what the module found on the host at load time.
type Caps struct {
	// Flags holds the individual capability bits (CapVMX ...).
	Flags CapFlag
	// Usable reports whether Enable can succeed (CapUsable).
	Usable bool
	// ReasonCode is the module's UAAF_REASON_* code; ReasonNone if Usable.
	ReasonCode uint32
	// Reason says why EPTP switching is unavailable ("" if Usable).
	Reason string
	// Raw VMX capability MSRs (zero when unreadable, e.g. on AMD).
	MSRProcbasedCtls2, MSREPTVPIDCap, MSRVMFunc uint64
}

// Err returns nil when c.Usable, else an error wrapping ErrNotSupported
// that carries c.Reason.
func (c Caps) Err() error {
	if c.Usable {
		return nil
	}
	reason := c.Reason
	if reason == "" {
		reason = fmt.Sprintf("%s %d", reasonUnknownMessage, c.ReasonCode)
	}
	return fmt.Errorf("%w: %s", ErrNotSupported, reason)
}

// Status is a snapshot of the session, from UAAF_IOC_STATUS.
type Status struct {
	// State of the session; StateFaulted after a view fault.
	State State
	// ActiveView is the view the vCPU was in at its last VM exit.
	ActiveView uint32
	// NumViews is how many views are defined.
	NumViews uint32
	// FaultView is the view of the last fault, or ViewUnused.
	FaultView uint32
	// FaultExitReason is the basic VM-exit reason of the fault (48 EPT
	// violation, 49 EPT misconfiguration, 59 VMFUNC); 0 if none.
	FaultExitReason uint32
	// FaultGPA and FaultQualification describe the faulting access.
	FaultGPA, FaultQualification uint64
	// Entries and Exits count VM entries/exits seen while enabled.
	Entries, Exits uint64
}

// Faulted reports whether a view fault has been recorded.
func (s Status) Faulted() bool { return s.State == StateFaulted }

// Open opens the uaaf device at path (normally DefaultPath) and checks that
// the module speaks APIVersion. A missing node yields an error wrapping
// ErrNoDevice that tells the user to load the module; a version mismatch
// wraps ErrVersion.
func Open(path string) (*Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENXIO) || errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("%w: %s: %w (load the uaaf kernel module: see kmod/README.md)",
				ErrNoDevice, path, err)
		}
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	d := &Device{fd: fd, path: path}
	v, err := d.Version()
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: not a uaaf device: %w", path, err)
	}
	if v != APIVersion {
		unix.Close(fd)
		return nil, fmt.Errorf("%w: %s speaks version %d, want %d", ErrVersion, path, v, APIVersion)
	}
	return d, nil
}

// lockedFD returns the fd with d.mu held, or ErrClosed (mu released).
func (d *Device) lockedFD() (int, error) {
	d.mu.Lock()
	if d.fd < 0 {
		d.mu.Unlock()
		return -1, ErrClosed
	}
	return d.fd, nil
}

// Version returns the module's API version (UAAF_IOC_VERSION).
func (d *Device) Version() (uint32, error) {
	fd, err := d.lockedFD()
	if err != nil {
		return 0, err
	}
	defer d.mu.Unlock()
	var v RawVersion
	if err := ioctlPtr(fd, IocVersion, &v); err != nil {
		return 0, err
	}
	return v.APIVersion, nil
}

// Caps returns the host capabilities found by the module. An unsupported
// host is not an error here: check Caps.Usable or Caps.Err.
func (d *Device) Caps() (Caps, error) {
	fd, err := d.lockedFD()
	if err != nil {
		return Caps{}, err
	}
	defer d.mu.Unlock()
	var rc RawCaps
	if err := ioctlPtr(fd, IocCaps, &rc); err != nil {
		return Caps{}, err
	}
	return capsFromRaw(rc), nil
}

// capsFromRaw decodes the C struct.
func capsFromRaw(rc RawCaps) Caps {
	reason := rc.ReasonStr[:]
	if i := bytes.IndexByte(reason, 0); i >= 0 {
		reason = reason[:i]
	}
	return Caps{
		Flags:             CapFlag(rc.Flags),
		Usable:            CapFlag(rc.Flags)&CapUsable != 0,
		ReasonCode:        rc.Reason,
		Reason:            string(reason),
		MSRProcbasedCtls2: rc.MSRProcbasedCtls2,
		MSREPTVPIDCap:     rc.MSREPTVPIDCap,
		MSRVMFunc:         rc.MSRVMFunc,
	}
}

// Attach binds the session to vCPU vcpuID of the KVM VM whose fd (from
// KVM_CREATE_VM, in this process) is vmFD. The module holds a reference on
// the VM until Detach or Close. Fails with EBUSY if this session or another
// one is already attached to that vCPU.
func (d *Device) Attach(vmFD, vcpuID int) error {
	if vmFD < 0 || vmFD > 1<<31-1 || vcpuID < 0 || vcpuID > 1<<31-1 {
		return fmt.Errorf("vmfunc: attach: vm fd %d / vcpu %d out of range: %w", vmFD, vcpuID, unix.EINVAL)
	}
	fd, err := d.lockedFD()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	a := RawAttach{VMFD: int32(vmFD), VCPUID: uint32(vcpuID)}
	return mapErrno(ioctlPtr(fd, IocAttach, &a), false)
}

// validateView checks what the module would reject first, so a bad call
// fails with a clear message and without a system call. Memslot membership
// and permissions of the sources are the module's to check.
func validateView(index int, ranges []Range) error {
	if index < ViewSession || index > ViewMax {
		return fmt.Errorf("%w: index %d outside %d..%d (%d is the session view)",
			ErrInvalidView, index, ViewSession, ViewMax, ViewSession)
	}
	if len(ranges) == 0 || len(ranges) > MaxRanges {
		return fmt.Errorf("%w: %d ranges, want 1..%d", ErrInvalidView, len(ranges), MaxRanges)
	}
	for i, r := range ranges {
		switch {
		case r.Size == 0 || r.GPA%PageSize != 0 || r.SrcGPA%PageSize != 0 || r.Size%PageSize != 0:
			return fmt.Errorf("%w: range %d [%#x+%#x) <- %#x not page aligned or empty",
				ErrInvalidView, i, r.GPA, r.Size, r.SrcGPA)
		case r.GPA+r.Size < r.GPA || r.GPA+r.Size > GPALimit || r.SrcGPA+r.Size < r.SrcGPA:
			return fmt.Errorf("%w: range %d [%#x+%#x) <- %#x overflows", ErrInvalidView, i, r.GPA, r.Size, r.SrcGPA)
		case r.Perms == 0 || r.Perms&^PermRWX != 0 || (r.Perms&PermW != 0 && r.Perms&PermR == 0):
			return fmt.Errorf("%w: range %d: permissions %#x", ErrInvalidView, i, uint32(r.Perms))
		case r.Reserved != 0:
			return fmt.Errorf("%w: range %d: reserved field set", ErrInvalidView, i)
		}
	}
	// Neither side wraps (checked above), so the sums cannot overflow.
	overlap := func(a, asz, b, bsz uint64) bool { return a < b+bsz && b < a+asz }
	for i := range ranges {
		for j := i + 1; j < len(ranges); j++ {
			a, b := ranges[i], ranges[j]
			if overlap(a.GPA, a.Size, b.GPA, b.Size) {
				return fmt.Errorf("%w: ranges %d and %d overlap in the view", ErrInvalidView, i, j)
			}
			if overlap(a.SrcGPA, a.Size, b.SrcGPA, b.Size) {
				return fmt.Errorf("%w: ranges %d and %d share source pages", ErrInvalidView, i, j)
			}
		}
	}
	return nil
}

// DefineView builds view index from ranges: the module pins the pages
// behind each range's source (KVM GPAs [SrcGPA, SrcGPA+Size)) and maps them
// at the range's view GPAs, with exactly the given permissions, in a new
// EPT. Index ViewSession (0) is the session view, ViewMin..ViewMax are
// library views. Must be called after Attach and before Enable, once per
// index. Each source must lie inside one memslot whose permissions include
// the range's (a read-only memslot cannot become writable).
func (d *Device) DefineView(index int, ranges []Range) error {
	if err := validateView(index, ranges); err != nil {
		return err
	}
	fd, err := d.lockedFD()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	return mapErrno(defineView(fd, uint32(index), ranges), true)
}

// DefineSessionView defines view 0, the view the guest runs in when it is
// not in a library: normally the session's own memory, identity mapped (see
// IdentityRange), including the shared window. It must be defined before
// Enable. Equivalent to DefineView(ViewSession, ranges).
func (d *Device) DefineSessionView(ranges []Range) error {
	return d.DefineView(ViewSession, ranges)
}

// Enable lets the module install the EPTP list on the vCPU's next VM entry
// (the vCPU is kicked); from then on the guest runs in view 0 or a library
// view, never in KVM's own EPT. On a host without EPTP switching it returns
// an error wrapping ErrNotSupported with the module's reason; before
// DefineSessionView, one wrapping ErrNoSessionView.
func (d *Device) Enable() error {
	fd, err := d.lockedFD()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	err = ioctlInt(fd, IocEnable, 0)
	if errors.Is(err, unix.EOPNOTSUPP) {
		var rc RawCaps
		if cerr := ioctlPtr(fd, IocCaps, &rc); cerr == nil {
			return fmt.Errorf("%w (%w)", capsFromRaw(rc).Err(), err)
		}
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	}
	if errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("%w: %w", ErrNoSessionView, err)
	}
	return mapErrno(err, false)
}

// Status returns the session's state, active view, last view fault and
// counters. Read it after KVM_RUN returned KVM_EXIT_SHUTDOWN to learn which
// view faulted where.
func (d *Device) Status() (Status, error) {
	fd, err := d.lockedFD()
	if err != nil {
		return Status{}, err
	}
	defer d.mu.Unlock()
	var rs RawStatus
	if err := ioctlPtr(fd, IocStatus, &rs); err != nil {
		return Status{}, err
	}
	return Status{
		State:              State(rs.State),
		ActiveView:         rs.ActiveView,
		NumViews:           rs.NumViews,
		FaultView:          rs.FaultView,
		FaultExitReason:    rs.FaultExitReason,
		FaultGPA:           rs.FaultGPA,
		FaultQualification: rs.FaultQualification,
		Entries:            rs.Entries,
		Exits:              rs.Exits,
	}, nil
}

// Detach removes the EPTP list from the vCPU, frees every view and unpins
// its pages, and drops the VM reference. It blocks until the vCPU is out of
// the guest (a running vCPU is kicked; a vCPU halted inside KVM_RUN delays
// it). Detaching a detached session wraps ErrNotAttached.
func (d *Device) Detach() error {
	fd, err := d.lockedFD()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	return mapErrno(ioctlInt(fd, IocDetach, 0), false)
}

// Close detaches (as Detach) and closes the device. Closing twice returns
// ErrClosed.
func (d *Device) Close() error {
	fd, err := d.lockedFD()
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	d.fd = -1
	return unix.Close(fd)
}

// mapErrno adds the package sentinel that matches a module errno; view
// says whether err came from DefineView, whose argument errors (EINVAL,
// EEXIST, EACCES, ENOENT, EOVERFLOW, E2BIG) become ErrInvalidView.
func mapErrno(err error, view bool) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOTCONN):
		return fmt.Errorf("%w: %w", ErrNotAttached, err)
	case errors.Is(err, unix.EOPNOTSUPP):
		return fmt.Errorf("%w: %w", ErrNotSupported, err)
	case !view:
		return err
	case errors.Is(err, unix.EINVAL), errors.Is(err, unix.EEXIST), errors.Is(err, unix.EACCES),
		errors.Is(err, unix.ENOENT), errors.Is(err, unix.EOVERFLOW), errors.Is(err, unix.E2BIG):
		return fmt.Errorf("%w: %w", ErrInvalidView, err)
	}
	return err
}

// ioctlName names a request for error messages.
func ioctlName(req uintptr) string {
	switch req {
	case IocVersion:
		return "UAAF_IOC_VERSION"
	case IocCaps:
		return "UAAF_IOC_CAPS"
	case IocAttach:
		return "UAAF_IOC_ATTACH"
	case IocDefineView:
		return "UAAF_IOC_DEFINE_VIEW"
	case IocEnable:
		return "UAAF_IOC_ENABLE"
	case IocStatus:
		return "UAAF_IOC_STATUS"
	case IocDetach:
		return "UAAF_IOC_DETACH"
	}
	return fmt.Sprintf("ioctl(%#x)", req)
}
