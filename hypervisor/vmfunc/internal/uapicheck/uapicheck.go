//go:build cgo

package uapicheck

/*
#include <stddef.h>
#include "../../../../kmod/uaaf_uapi.h"

static unsigned long ioc_version(void)     { return UAAF_IOC_VERSION; }
static unsigned long ioc_caps(void)        { return UAAF_IOC_CAPS; }
static unsigned long ioc_attach(void)      { return UAAF_IOC_ATTACH; }
static unsigned long ioc_define_view(void) { return UAAF_IOC_DEFINE_VIEW; }
static unsigned long ioc_enable(void)      { return UAAF_IOC_ENABLE; }
static unsigned long ioc_status(void)      { return UAAF_IOC_STATUS; }
static unsigned long ioc_detach(void)      { return UAAF_IOC_DETACH; }

#define FIELD(t, f) { #t "." #f, offsetof(struct t, f), sizeof(((struct t *)0)->f) }
struct field { const char *name; size_t off, size; };
static const struct field fields[] = {
	FIELD(uaaf_version, api_version), FIELD(uaaf_version, reserved),
	FIELD(uaaf_caps, flags), FIELD(uaaf_caps, msr_procbased_ctls2),
	FIELD(uaaf_caps, msr_ept_vpid_cap), FIELD(uaaf_caps, msr_vmfunc),
	FIELD(uaaf_caps, reason), FIELD(uaaf_caps, reserved), FIELD(uaaf_caps, reason_str),
	FIELD(uaaf_attach, vm_fd), FIELD(uaaf_attach, vcpu_id),
	FIELD(uaaf_range, gpa), FIELD(uaaf_range, src_gpa), FIELD(uaaf_range, size), FIELD(uaaf_range, perms),
	FIELD(uaaf_range, reserved),
	FIELD(uaaf_view, index), FIELD(uaaf_view, nr_ranges), FIELD(uaaf_view, ranges),
	FIELD(uaaf_status, state), FIELD(uaaf_status, active_view), FIELD(uaaf_status, nr_views),
	FIELD(uaaf_status, fault_view), FIELD(uaaf_status, fault_exit_reason),
	FIELD(uaaf_status, reserved), FIELD(uaaf_status, fault_gpa),
	FIELD(uaaf_status, fault_qualification), FIELD(uaaf_status, entries),
	FIELD(uaaf_status, exits),
};
static int nfields(void) { return sizeof(fields) / sizeof(fields[0]); }
static const char *field_name(int i) { return fields[i].name; }
static size_t field_off(int i) { return fields[i].off; }
static size_t field_size(int i) { return fields[i].size; }
*/
import "C"

// Field is the offset and size of one C struct member, named "struct.member".
type Field struct {
	Name         string
	Offset, Size uintptr
}

// Fields lists every member of every struct in uaaf_uapi.h.
func Fields() []Field {
	n := int(C.nfields())
	out := make([]Field, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, Field{
			Name:   C.GoString(C.field_name(C.int(i))),
			Offset: uintptr(C.field_off(C.int(i))),
			Size:   uintptr(C.field_size(C.int(i))),
		})
	}
	return out
}

// Sizes maps each C struct name to its sizeof.
func Sizes() map[string]uintptr {
	return map[string]uintptr{
		"uaaf_version": C.sizeof_struct_uaaf_version,
		"uaaf_caps":    C.sizeof_struct_uaaf_caps,
		"uaaf_attach":  C.sizeof_struct_uaaf_attach,
		"uaaf_range":   C.sizeof_struct_uaaf_range,
		"uaaf_view":    C.sizeof_struct_uaaf_view,
		"uaaf_status":  C.sizeof_struct_uaaf_status,
	}
}

// Ioctls maps each UAAF_IOC_* name to its value.
func Ioctls() map[string]uintptr {
	return map[string]uintptr{
		"UAAF_IOC_VERSION":     uintptr(C.ioc_version()),
		"UAAF_IOC_CAPS":        uintptr(C.ioc_caps()),
		"UAAF_IOC_ATTACH":      uintptr(C.ioc_attach()),
		"UAAF_IOC_DEFINE_VIEW": uintptr(C.ioc_define_view()),
		"UAAF_IOC_ENABLE":      uintptr(C.ioc_enable()),
		"UAAF_IOC_STATUS":      uintptr(C.ioc_status()),
		"UAAF_IOC_DETACH":      uintptr(C.ioc_detach()),
	}
}

// Consts maps the plain #define constants of the header to their values.
func Consts() map[string]uint64 {
	return map[string]uint64{
		"UAAF_API_VERSION":              C.UAAF_API_VERSION,
		"UAAF_IOC_MAGIC":                C.UAAF_IOC_MAGIC,
		"UAAF_EPTP_ENTRIES":             C.UAAF_EPTP_ENTRIES,
		"UAAF_VIEW_SESSION":             C.UAAF_VIEW_SESSION,
		"UAAF_VIEW_MIN":                 C.UAAF_VIEW_MIN,
		"UAAF_VIEW_MAX":                 C.UAAF_VIEW_MAX,
		"UAAF_MAX_RANGES":               C.UAAF_MAX_RANGES,
		"UAAF_PERM_R":                   C.UAAF_PERM_R,
		"UAAF_PERM_W":                   C.UAAF_PERM_W,
		"UAAF_PERM_X":                   C.UAAF_PERM_X,
		"UAAF_CAP_VMX":                  C.UAAF_CAP_VMX,
		"UAAF_CAP_EPT":                  C.UAAF_CAP_EPT,
		"UAAF_CAP_VMFUNC":               C.UAAF_CAP_VMFUNC,
		"UAAF_CAP_EPTP_SWITCHING":       C.UAAF_CAP_EPTP_SWITCHING,
		"UAAF_CAP_EPT_4LEVEL":           C.UAAF_CAP_EPT_4LEVEL,
		"UAAF_CAP_EPT_WB":               C.UAAF_CAP_EPT_WB,
		"UAAF_CAP_INVEPT_SINGLE":        C.UAAF_CAP_INVEPT_SINGLE,
		"UAAF_CAP_EPT_EXEC_ONLY":        C.UAAF_CAP_EPT_EXEC_ONLY,
		"UAAF_CAP_USABLE":               C.UAAF_CAP_USABLE,
		"UAAF_REASON_NONE":              C.UAAF_REASON_NONE,
		"UAAF_REASON_NO_VMX":            C.UAAF_REASON_NO_VMX,
		"UAAF_REASON_MSR_FAULT":         C.UAAF_REASON_MSR_FAULT,
		"UAAF_REASON_NO_SECONDARY":      C.UAAF_REASON_NO_SECONDARY,
		"UAAF_REASON_NO_EPT":            C.UAAF_REASON_NO_EPT,
		"UAAF_REASON_NO_VMFUNC":         C.UAAF_REASON_NO_VMFUNC,
		"UAAF_REASON_NO_EPTP_SWITCHING": C.UAAF_REASON_NO_EPTP_SWITCHING,
		"UAAF_REASON_NO_EPT_4LEVEL":     C.UAAF_REASON_NO_EPT_4LEVEL,
		"UAAF_REASON_NO_EPT_WB":         C.UAAF_REASON_NO_EPT_WB,
		"UAAF_REASON_NO_INVEPT":         C.UAAF_REASON_NO_INVEPT,
		"UAAF_REASON_KVM_ENTRY_ABI":     C.UAAF_REASON_KVM_ENTRY_ABI,
		"UAAF_REASON_LEN":               C.UAAF_REASON_LEN,
		"UAAF_STATE_DETACHED":           C.UAAF_STATE_DETACHED,
		"UAAF_STATE_ATTACHED":           C.UAAF_STATE_ATTACHED,
		"UAAF_STATE_ENABLED":            C.UAAF_STATE_ENABLED,
		"UAAF_STATE_FAULTED":            C.UAAF_STATE_FAULTED,
		"UAAF_VIEW_UNUSED":              C.UAAF_VIEW_UNUSED,
	}
}
