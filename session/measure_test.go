package session

import (
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvmtrace"
)

// TestEventNames keeps MeasureCalls' event names in step with kvmtrace's.
func TestEventNames(t *testing.T) {
	if EventEmulateInsn != kvmtrace.EmulateInsn || EventUserspaceExit != kvmtrace.UserspaceExit {
		t.Errorf("session events %q, %q; kvmtrace %q, %q", EventEmulateInsn, EventUserspaceExit, kvmtrace.EmulateInsn, kvmtrace.UserspaceExit)
	}
}
