// Package cabi exposes, through cgo, the values guest/include/uaaf.h
// defines, so that package uaafabi's tests can prove the Go mirror equals the
// C header. It is used only by tests.
package cabi

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../guest/include
#include <stddef.h>
#include "uaaf.h"

enum {
	off_vd_resume = offsetof(struct uaaf_viewdata, resume),
	off_vd_saved_rsp = offsetof(struct uaaf_viewdata, saved_rsp),
	off_vd_dispatch = offsetof(struct uaaf_viewdata, dispatch),
	off_vd_role = offsetof(struct uaaf_viewdata, role),
	off_vd_view = offsetof(struct uaaf_viewdata, view),
	off_vd_verdict = offsetof(struct uaaf_viewdata, verdict),
	off_call_fn = offsetof(struct uaaf_call_hdr, fn),
	off_call_in_len = offsetof(struct uaaf_call_hdr, in_len),
	off_call_out_cap = offsetof(struct uaaf_call_hdr, out_cap),
	off_call_status = offsetof(struct uaaf_call_hdr, status),
	off_call_seq = offsetof(struct uaaf_call_hdr, seq),
	size_call_hdr = sizeof(struct uaaf_call_hdr),
	size_export = sizeof(struct uaaf_export),
	size_import = sizeof(struct uaaf_import),
	size_binding = sizeof(struct uaaf_binding),
	size_exports_hdr = sizeof(struct uaaf_exports_hdr),
	size_imports_hdr = sizeof(struct uaaf_imports_hdr),
	off_export_addr = offsetof(struct uaaf_export, addr),
	off_import_fn = offsetof(struct uaaf_import, fn),
};
*/
import "C"

// Values maps a name to the header's value.
var Values = map[string]int64{
	"UAAF_TRAMP_GPA":           C.UAAF_TRAMP_GPA,
	"UAAF_VIEWDATA_GPA":        C.UAAF_VIEWDATA_GPA,
	"UAAF_CALL_GPA":            C.UAAF_CALL_GPA,
	"UAAF_CALL_SIZE":           C.UAAF_CALL_SIZE,
	"UAAF_TRAMP_CALL":          C.UAAF_TRAMP_CALL,
	"UAAF_TRAMP_CALLER_RESUME": C.UAAF_TRAMP_CALLER_RESUME,
	"UAAF_TRAMP_CALLEE_ENTRY":  C.UAAF_TRAMP_CALLEE_ENTRY,
	"UAAF_TRAMP_READY":         C.UAAF_TRAMP_READY,
	"UAAF_SWITCH_PORT":         C.UAAF_SWITCH_PORT,
	"UAAF_ROLE_SESSION":        C.UAAF_ROLE_SESSION,
	"UAAF_ROLE_LIBFUNC":        C.UAAF_ROLE_LIBFUNC,
	"UAAF_CALL_HDR_SIZE":       C.UAAF_CALL_HDR_SIZE,
	"UAAF_CALL_DATA_MAX":       C.UAAF_CALL_DATA_MAX,
	"UAAF_EINVAL":              C.UAAF_EINVAL,
	"UAAF_ENOENT":              C.UAAF_ENOENT,
	"UAAF_E2BIG":               C.UAAF_E2BIG,
	"UAAF_EFAULT":              C.UAAF_EFAULT,
	"UAAF_ETIMEDOUT":           C.UAAF_ETIMEDOUT,
	"UAAF_EUNAVAIL":            C.UAAF_EUNAVAIL,
	"UAAF_EBADRET":             C.UAAF_EBADRET,
	"UAAF_ERRNO_MIN":           C.UAAF_ERRNO_MIN,
	"UAAF_NOTE_NAMESZ":         C.UAAF_NOTE_NAMESZ,
	"UAAF_NOTE_EXPORTS":        C.UAAF_NOTE_EXPORTS,
	"UAAF_NOTE_IMPORTS":        C.UAAF_NOTE_IMPORTS,
	"UAAF_NOTE_VERSION":        C.UAAF_NOTE_VERSION,
	"UAAF_EXPORT_NAME_MAX":     C.UAAF_EXPORT_NAME_MAX,
	"UAAF_LIB_NAME_MAX":        C.UAAF_LIB_NAME_MAX,
	"UAAF_FN_NAME_MAX":         C.UAAF_FN_NAME_MAX,
	"UAAF_MAX_EXPORTS":         C.UAAF_MAX_EXPORTS,
	"UAAF_MAX_IMPORTS":         C.UAAF_MAX_IMPORTS,
	"UAAF_MAX_VIEWS":           C.UAAF_MAX_VIEWS,
	"off_vd_resume":            C.off_vd_resume,
	"off_vd_saved_rsp":         C.off_vd_saved_rsp,
	"off_vd_dispatch":          C.off_vd_dispatch,
	"off_vd_role":              C.off_vd_role,
	"off_vd_view":              C.off_vd_view,
	"off_vd_verdict":           C.off_vd_verdict,
	"off_call_fn":              C.off_call_fn,
	"off_call_in_len":          C.off_call_in_len,
	"off_call_out_cap":         C.off_call_out_cap,
	"off_call_status":          C.off_call_status,
	"off_call_seq":             C.off_call_seq,
	"size_call_hdr":            C.size_call_hdr,
	"size_export":              C.size_export,
	"size_import":              C.size_import,
	"size_binding":             C.size_binding,
	"size_exports_hdr":         C.size_exports_hdr,
	"size_imports_hdr":         C.size_imports_hdr,
	"off_export_addr":          C.off_export_addr,
	"off_import_fn":            C.off_import_fn,
}
