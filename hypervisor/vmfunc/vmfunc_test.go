package vmfunc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Golden ioctl numbers, worked out by hand from the _IOC layout (dir<<30 |
// size<<16 | type<<8 | nr); internal/uapicheck checks them against C too.
func TestIoctlNumbers(t *testing.T) {
	tests := []struct {
		name      string
		got, want uintptr
		dir, nr   uintptr
		size      uintptr
	}{
		{"UAAF_IOC_VERSION", IocVersion, 0x8008b700, iocRead, 0, SizeofVersion},
		{"UAAF_IOC_CAPS", IocCaps, 0x8068b701, iocRead, 1, SizeofCaps},
		{"UAAF_IOC_ATTACH", IocAttach, 0x4008b702, iocWrite, 2, SizeofAttach},
		{"UAAF_IOC_DEFINE_VIEW", IocDefineView, 0x4010b707, iocWrite, 7, SizeofView},
		{"UAAF_IOC_ENABLE", IocEnable, 0x0000b704, iocNone, 4, 0},
		{"UAAF_IOC_STATUS", IocStatus, 0x8038b705, iocRead, 5, SizeofStatus},
		{"UAAF_IOC_DETACH", IocDetach, 0x0000b706, iocNone, 6, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
			}
			if h := ioc(tt.dir, tt.nr, tt.size); h != tt.want {
				t.Errorf("ioc(%d, %d, %d) = %#x, want %#x", tt.dir, tt.nr, tt.size, h, tt.want)
			}
			if n := ioctlName(tt.got); n != tt.name {
				t.Errorf("ioctlName(%#x) = %q, want %q", tt.got, n, tt.name)
			}
		})
	}
}

func TestOpenMissingIsErrNoDevice(t *testing.T) {
	path := filepath.Join(t.TempDir(), "uaaf")
	d, err := Open(path)
	if d != nil || !errors.Is(err, ErrNoDevice) {
		t.Fatalf("Open(%q) = %v, %v; want nil, ErrNoDevice", path, d, err)
	}
	if !errors.Is(err, unix.ENOENT) {
		t.Errorf("error %q does not keep ENOENT", err)
	}
	if !strings.Contains(err.Error(), "load the uaaf kernel module") {
		t.Errorf("error %q does not tell the user to load the module", err)
	}
}

func TestOpenNonUAAFDevice(t *testing.T) {
	// /dev/null answers every ioctl with ENOTTY: not a uaaf device, and
	// not ErrNoDevice either.
	d, err := Open(os.DevNull)
	if err == nil {
		d.Close()
		t.Fatalf("Open(%q) succeeded", os.DevNull)
	}
	if errors.Is(err, ErrNoDevice) || !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("Open(%q) = %v; want ENOTTY, not ErrNoDevice", os.DevNull, err)
	}
}

func TestValidateView(t *testing.T) {
	ok := IdentityRange(0x100000, 0x4000, PermR|PermX)
	const lib1 = 0x10000000000 + 1<<32
	many := make([]Range, MaxRanges+1)
	for i := range many {
		many[i] = IdentityRange(uint64(i)*2*PageSize, PageSize, PermR)
	}
	tests := []struct {
		name   string
		index  int
		ranges []Range
		ok     bool
	}{
		{"valid", 1, []Range{ok}, true},
		{"session view 0", ViewSession, []Range{ok}, true},
		{"last index", ViewMax, []Range{ok}, true},
		{"index 512", 512, []Range{ok}, false},
		{"negative index", -1, []Range{ok}, false},
		{"no ranges", 1, nil, false},
		{"MaxRanges", 1, many[:MaxRanges], true},
		{"too many ranges", 1, many, false},
		{"unaligned gpa", 1, []Range{IdentityRange(0x100800, PageSize, PermR)}, false},
		{"unaligned size", 1, []Range{IdentityRange(0x100000, 0x800, PermR)}, false},
		{"empty range", 1, []Range{IdentityRange(0x100000, 0, PermR)}, false},
		{"wrapping range", 1, []Range{IdentityRange(1<<64-PageSize, 2*PageSize, PermR)}, false},
		{"view end beyond 2^48", 1, []Range{{GPA: GPALimit - PageSize, SrcGPA: lib1, Size: 2 * PageSize, Perms: PermR}}, false},
		{"no permissions", 1, []Range{IdentityRange(0, PageSize, 0)}, false},
		{"write without read", 1, []Range{IdentityRange(0, PageSize, PermW)}, false},
		{"unknown permission bit", 1, []Range{IdentityRange(0, PageSize, PermR|8)}, false},
		{"reserved set", 1, []Range{{Size: PageSize, Perms: PermR, Reserved: 1}}, false},
		{"execute only (module decides)", 1, []Range{IdentityRange(0, PageSize, PermX)}, true},
		{"relocated", 1, []Range{{GPA: 0x100000, SrcGPA: lib1 + 0x100000, Size: 0x4000, Perms: PermRWX}}, true},
		{"unaligned src", 1, []Range{{GPA: 0x100000, SrcGPA: lib1 + 0x800, Size: PageSize, Perms: PermR}}, false},
		{"wrapping src", 1, []Range{{GPA: 0x100000, SrcGPA: 1<<64 - PageSize, Size: 2 * PageSize, Perms: PermR}}, false},
		{"view overlap", 1, []Range{
			{GPA: 0x100000, SrcGPA: lib1, Size: 0x2000, Perms: PermR},
			{GPA: 0x101000, SrcGPA: lib1 + 0x10000, Size: PageSize, Perms: PermR}}, false},
		{"source overlap", 1, []Range{
			{GPA: 0x100000, SrcGPA: lib1, Size: 0x2000, Perms: PermR | PermX},
			{GPA: 0x200000, SrcGPA: lib1 + 0x1000, Size: PageSize, Perms: PermR | PermW}}, false},
		{"library layout", 2, []Range{
			{GPA: 0x1000, SrcGPA: lib1 + 0x1000, Size: 0x8000, Perms: PermR | PermW},
			IdentityRange(0x9000, PageSize, PermR|PermX),
			{GPA: 0xA000, SrcGPA: lib1 + 0xA000, Size: 0x2000, Perms: PermR | PermW},
			IdentityRange(0xC000, 0x4000, PermR|PermW),
			{GPA: 0x10000, SrcGPA: lib1 + 0x10000, Size: 0x3f0000, Perms: PermRWX}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateView(tt.index, tt.ranges)
			if tt.ok && err != nil {
				t.Fatalf("validateView: %v", err)
			}
			if !tt.ok && !errors.Is(err, ErrInvalidView) {
				t.Fatalf("validateView = %v, want ErrInvalidView", err)
			}
		})
	}
}

func TestIdentityRange(t *testing.T) {
	r := IdentityRange(0xC000, 0x4000, PermR|PermW)
	if r != (Range{GPA: 0xC000, SrcGPA: 0xC000, Size: 0x4000, Perms: PermR | PermW}) {
		t.Fatalf("IdentityRange = %+v", r)
	}
}

func TestCapsFromRaw(t *testing.T) {
	reason := func(s string) (b [reasonLen]byte) { copy(b[:], s); return }
	tests := []struct {
		name       string
		raw        RawCaps
		usable     bool
		wantReason string
	}{
		{"usable", RawCaps{Flags: uint64(CapVMX | CapEPT | CapVMFUNC | CapEPTPSwitching | CapUsable)}, true, ""},
		{"AMD or PVM", RawCaps{Reason: ReasonNoVMX, ReasonStr: reason("no Intel VT-x (AMD, or VMX hidden by a hypervisor)")},
			false, "no Intel VT-x (AMD, or VMX hidden by a hypervisor)"},
		{"no EPTP switching", RawCaps{Flags: uint64(CapVMX | CapEPT | CapVMFUNC), Reason: ReasonNoEPTPSwitch,
			ReasonStr: reason("VMFUNC leaf 0 (EPTP switching) not supported")}, false, "VMFUNC leaf 0 (EPTP switching) not supported"},
		{"reason without text", RawCaps{Reason: 42}, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := capsFromRaw(tt.raw)
			if c.Usable != tt.usable || c.Reason != tt.wantReason || c.ReasonCode != tt.raw.Reason {
				t.Fatalf("capsFromRaw = %+v", c)
			}
			err := c.Err()
			if tt.usable {
				if err != nil {
					t.Fatalf("Err = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, ErrNotSupported) {
				t.Fatalf("Err = %v, want ErrNotSupported", err)
			}
			if want := tt.wantReason; want == "" {
				want = fmt.Sprint(tt.raw.Reason)
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Err = %q, want the code %s in it", err, want)
				}
			} else if !strings.Contains(err.Error(), want) {
				t.Errorf("Err = %q, want the reason %q in it", err, want)
			}
		})
	}
}

func TestMapErrno(t *testing.T) {
	tests := []struct {
		name string
		err  error
		view bool
		want error
	}{
		{"nil", nil, false, nil},
		{"not attached", unix.ENOTCONN, false, ErrNotAttached},
		{"not supported", unix.EOPNOTSUPP, false, ErrNotSupported},
		{"view EINVAL", unix.EINVAL, true, ErrInvalidView},
		{"view EACCES (RO memslot)", unix.EACCES, true, ErrInvalidView},
		{"view EEXIST", unix.EEXIST, true, ErrInvalidView},
		{"view E2BIG", unix.E2BIG, true, ErrInvalidView},
		{"attach EINVAL stays raw", unix.EINVAL, false, unix.EINVAL},
		{"EBUSY stays raw", unix.EBUSY, true, unix.EBUSY},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mapErrno(tt.err, tt.view)
			if tt.want == nil {
				if got != nil {
					t.Fatalf("mapErrno = %v, want nil", got)
				}
				return
			}
			if !errors.Is(got, tt.want) || !errors.Is(got, tt.err) {
				t.Fatalf("mapErrno(%v) = %v, want it to wrap %v and the errno", tt.err, got, tt.want)
			}
		})
	}
}

func TestClosedDevice(t *testing.T) {
	d := &Device{fd: -1}
	calls := map[string]func() error{
		"Version":    func() error { _, err := d.Version(); return err },
		"Caps":       func() error { _, err := d.Caps(); return err },
		"Attach":     func() error { return d.Attach(3, 0) },
		"DefineView": func() error { return d.DefineView(1, []Range{{Size: PageSize, Perms: PermR}}) },
		"DefineSessionView": func() error {
			return d.DefineSessionView([]Range{{Size: PageSize, Perms: PermR}})
		},
		"Enable": d.Enable,
		"Status": func() error { _, err := d.Status(); return err },
		"Detach": d.Detach,
		"Close":  d.Close,
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			if err := call(); !errors.Is(err, ErrClosed) {
				t.Fatalf("%s on a closed Device = %v, want ErrClosed", name, err)
			}
		})
	}
}

// TestDevice runs against a loaded module; it skips where /dev/uaaf is
// absent (always on the project's machines, which cannot load modules).
func TestDevice(t *testing.T) {
	d, err := Open(DefaultPath)
	if errors.Is(err, ErrNoDevice) {
		t.Skipf("uaaf module not loaded: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	caps, err := d.Caps()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Detach(); !errors.Is(err, ErrNotAttached) {
		t.Errorf("Detach before Attach = %v, want ErrNotAttached", err)
	}
	if !caps.Usable {
		t.Logf("host: %v", caps.Err())
		if err := d.Enable(); !errors.Is(err, ErrNotAttached) && !errors.Is(err, ErrNotSupported) {
			t.Errorf("Enable on unsupported host = %v", err)
		}
	}
}
