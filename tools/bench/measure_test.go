package bench

import (
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvmtrace"
)

// TestEventNames keeps MeasureCalls' event names in step with kvmtrace's.
func TestEventNames(t *testing.T) {
	if EventEmulateInsn != kvmtrace.EmulateInsn || EventUserspaceExit != kvmtrace.UserspaceExit {
		t.Errorf("bench events %q, %q; kvmtrace %q, %q", EventEmulateInsn, EventUserspaceExit, kvmtrace.EmulateInsn, kvmtrace.UserspaceExit)
	}
}
