//go:build cgo

package uapicheck

import (
	"testing"
	"unsafe"

	"github.com/uaaf/uaaf/hypervisor/vmfunc"
)

func TestIoctlNumbersMatchC(t *testing.T) {
	c := Ioctls()
	tests := []struct {
		name string
		got  uintptr
	}{
		{"UAAF_IOC_VERSION", vmfunc.IocVersion},
		{"UAAF_IOC_CAPS", vmfunc.IocCaps},
		{"UAAF_IOC_ATTACH", vmfunc.IocAttach},
		{"UAAF_IOC_DEFINE_VIEW", vmfunc.IocDefineView},
		{"UAAF_IOC_ENABLE", vmfunc.IocEnable},
		{"UAAF_IOC_STATUS", vmfunc.IocStatus},
		{"UAAF_IOC_DETACH", vmfunc.IocDetach},
	}
	if len(tests) != len(c) {
		t.Errorf("Go mirrors %d ioctls, C header has %d", len(tests), len(c))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want, ok := c[tt.name]; !ok || tt.got != want {
				t.Errorf("Go %#x, C %#x (present %v)", tt.got, want, ok)
			}
		})
	}
}

func TestStructSizesMatchC(t *testing.T) {
	c := Sizes()
	tests := []struct {
		name      string
		goSize    uintptr
		constSize uintptr
	}{
		{"uaaf_version", unsafe.Sizeof(vmfunc.RawVersion{}), vmfunc.SizeofVersion},
		{"uaaf_caps", unsafe.Sizeof(vmfunc.RawCaps{}), vmfunc.SizeofCaps},
		{"uaaf_attach", unsafe.Sizeof(vmfunc.RawAttach{}), vmfunc.SizeofAttach},
		{"uaaf_range", unsafe.Sizeof(vmfunc.Range{}), vmfunc.SizeofRange},
		{"uaaf_view", unsafe.Sizeof(vmfunc.RawView{}), vmfunc.SizeofView},
		{"uaaf_status", unsafe.Sizeof(vmfunc.RawStatus{}), vmfunc.SizeofStatus},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.goSize != c[tt.name] || tt.constSize != c[tt.name] {
				t.Errorf("sizeof: C %d, Go struct %d, Go const %d", c[tt.name], tt.goSize, tt.constSize)
			}
		})
	}
}

func TestFieldOffsetsMatchC(t *testing.T) {
	var (
		v  vmfunc.RawVersion
		cp vmfunc.RawCaps
		a  vmfunc.RawAttach
		r  vmfunc.Range
		w  vmfunc.RawView
		s  vmfunc.RawStatus
	)
	type layout struct{ off, size uintptr }
	goFields := map[string]layout{
		"uaaf_version.api_version":        {unsafe.Offsetof(v.APIVersion), unsafe.Sizeof(v.APIVersion)},
		"uaaf_version.reserved":           {unsafe.Offsetof(v.Reserved), unsafe.Sizeof(v.Reserved)},
		"uaaf_caps.flags":                 {unsafe.Offsetof(cp.Flags), unsafe.Sizeof(cp.Flags)},
		"uaaf_caps.msr_procbased_ctls2":   {unsafe.Offsetof(cp.MSRProcbasedCtls2), unsafe.Sizeof(cp.MSRProcbasedCtls2)},
		"uaaf_caps.msr_ept_vpid_cap":      {unsafe.Offsetof(cp.MSREPTVPIDCap), unsafe.Sizeof(cp.MSREPTVPIDCap)},
		"uaaf_caps.msr_vmfunc":            {unsafe.Offsetof(cp.MSRVMFunc), unsafe.Sizeof(cp.MSRVMFunc)},
		"uaaf_caps.reason":                {unsafe.Offsetof(cp.Reason), unsafe.Sizeof(cp.Reason)},
		"uaaf_caps.reserved":              {unsafe.Offsetof(cp.Reserved), unsafe.Sizeof(cp.Reserved)},
		"uaaf_caps.reason_str":            {unsafe.Offsetof(cp.ReasonStr), unsafe.Sizeof(cp.ReasonStr)},
		"uaaf_attach.vm_fd":               {unsafe.Offsetof(a.VMFD), unsafe.Sizeof(a.VMFD)},
		"uaaf_attach.vcpu_id":             {unsafe.Offsetof(a.VCPUID), unsafe.Sizeof(a.VCPUID)},
		"uaaf_range.gpa":                  {unsafe.Offsetof(r.GPA), unsafe.Sizeof(r.GPA)},
		"uaaf_range.src_gpa":              {unsafe.Offsetof(r.SrcGPA), unsafe.Sizeof(r.SrcGPA)},
		"uaaf_range.size":                 {unsafe.Offsetof(r.Size), unsafe.Sizeof(r.Size)},
		"uaaf_range.perms":                {unsafe.Offsetof(r.Perms), unsafe.Sizeof(r.Perms)},
		"uaaf_range.reserved":             {unsafe.Offsetof(r.Reserved), unsafe.Sizeof(r.Reserved)},
		"uaaf_view.index":                 {unsafe.Offsetof(w.Index), unsafe.Sizeof(w.Index)},
		"uaaf_view.nr_ranges":             {unsafe.Offsetof(w.NRanges), unsafe.Sizeof(w.NRanges)},
		"uaaf_view.ranges":                {unsafe.Offsetof(w.Ranges), unsafe.Sizeof(w.Ranges)},
		"uaaf_status.state":               {unsafe.Offsetof(s.State), unsafe.Sizeof(s.State)},
		"uaaf_status.active_view":         {unsafe.Offsetof(s.ActiveView), unsafe.Sizeof(s.ActiveView)},
		"uaaf_status.nr_views":            {unsafe.Offsetof(s.NumViews), unsafe.Sizeof(s.NumViews)},
		"uaaf_status.fault_view":          {unsafe.Offsetof(s.FaultView), unsafe.Sizeof(s.FaultView)},
		"uaaf_status.fault_exit_reason":   {unsafe.Offsetof(s.FaultExitReason), unsafe.Sizeof(s.FaultExitReason)},
		"uaaf_status.reserved":            {unsafe.Offsetof(s.Reserved), unsafe.Sizeof(s.Reserved)},
		"uaaf_status.fault_gpa":           {unsafe.Offsetof(s.FaultGPA), unsafe.Sizeof(s.FaultGPA)},
		"uaaf_status.fault_qualification": {unsafe.Offsetof(s.FaultQualification), unsafe.Sizeof(s.FaultQualification)},
		"uaaf_status.entries":             {unsafe.Offsetof(s.Entries), unsafe.Sizeof(s.Entries)},
		"uaaf_status.exits":               {unsafe.Offsetof(s.Exits), unsafe.Sizeof(s.Exits)},
	}
	cFields := Fields()
	if len(cFields) != len(goFields) {
		t.Errorf("C lists %d fields, Go mirror %d", len(cFields), len(goFields))
	}
	for _, f := range cFields {
		t.Run(f.Name, func(t *testing.T) {
			g, ok := goFields[f.Name]
			if !ok {
				t.Fatalf("no Go mirror for %s", f.Name)
			}
			if g.off != f.Offset || g.size != f.Size {
				t.Errorf("C offset %d size %d, Go offset %d size %d", f.Offset, f.Size, g.off, g.size)
			}
		})
	}
}

func TestConstantsMatchC(t *testing.T) {
	c := Consts()
	tests := []struct {
		name string
		got  uint64
	}{
		{"UAAF_API_VERSION", vmfunc.APIVersion},
		{"UAAF_IOC_MAGIC", vmfunc.Magic},
		{"UAAF_EPTP_ENTRIES", vmfunc.EPTPEntries},
		{"UAAF_VIEW_SESSION", vmfunc.ViewSession},
		{"UAAF_VIEW_MIN", vmfunc.ViewMin},
		{"UAAF_VIEW_MAX", vmfunc.ViewMax},
		{"UAAF_MAX_RANGES", vmfunc.MaxRanges},
		{"UAAF_PERM_R", uint64(vmfunc.PermR)},
		{"UAAF_PERM_W", uint64(vmfunc.PermW)},
		{"UAAF_PERM_X", uint64(vmfunc.PermX)},
		{"UAAF_CAP_VMX", uint64(vmfunc.CapVMX)},
		{"UAAF_CAP_EPT", uint64(vmfunc.CapEPT)},
		{"UAAF_CAP_VMFUNC", uint64(vmfunc.CapVMFUNC)},
		{"UAAF_CAP_EPTP_SWITCHING", uint64(vmfunc.CapEPTPSwitching)},
		{"UAAF_CAP_EPT_4LEVEL", uint64(vmfunc.CapEPT4Level)},
		{"UAAF_CAP_EPT_WB", uint64(vmfunc.CapEPTWB)},
		{"UAAF_CAP_INVEPT_SINGLE", uint64(vmfunc.CapINVEPTSingle)},
		{"UAAF_CAP_EPT_EXEC_ONLY", uint64(vmfunc.CapEPTExecOnly)},
		{"UAAF_CAP_USABLE", uint64(vmfunc.CapUsable)},
		{"UAAF_REASON_NONE", vmfunc.ReasonNone},
		{"UAAF_REASON_NO_VMX", vmfunc.ReasonNoVMX},
		{"UAAF_REASON_MSR_FAULT", vmfunc.ReasonMSRFault},
		{"UAAF_REASON_NO_SECONDARY", vmfunc.ReasonNoSecondary},
		{"UAAF_REASON_NO_EPT", vmfunc.ReasonNoEPT},
		{"UAAF_REASON_NO_VMFUNC", vmfunc.ReasonNoVMFUNC},
		{"UAAF_REASON_NO_EPTP_SWITCHING", vmfunc.ReasonNoEPTPSwitch},
		{"UAAF_REASON_NO_EPT_4LEVEL", vmfunc.ReasonNoEPT4Level},
		{"UAAF_REASON_NO_EPT_WB", vmfunc.ReasonNoEPTWB},
		{"UAAF_REASON_NO_INVEPT", vmfunc.ReasonNoINVEPT},
		{"UAAF_REASON_KVM_ENTRY_ABI", vmfunc.ReasonKVMEntryABI},
		{"UAAF_REASON_LEN", uint64(len(vmfunc.RawCaps{}.ReasonStr))},
		{"UAAF_STATE_DETACHED", uint64(vmfunc.StateDetached)},
		{"UAAF_STATE_ATTACHED", uint64(vmfunc.StateAttached)},
		{"UAAF_STATE_ENABLED", uint64(vmfunc.StateEnabled)},
		{"UAAF_STATE_FAULTED", uint64(vmfunc.StateFaulted)},
		{"UAAF_VIEW_UNUSED", vmfunc.ViewUnused},
	}
	if len(tests) != len(c) {
		t.Errorf("checking %d constants, C side exports %d", len(tests), len(c))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want, ok := c[tt.name]; !ok || tt.got != want {
				t.Errorf("Go %#x, C %#x (present %v)", tt.got, want, ok)
			}
		})
	}
}
