package session

import (
	"io"
	"reflect"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

// TestPrepareImageProtection: a session image prepared for the exit
// backend gives its guests read-only memslots (the host mapping of the
// text stays writable); one prepared for vmfunc keeps RAM one memslot with
// the text protected on the host, as the module's views need.
func TestPrepareImageProtection(t *testing.T) {
	kvmtest.Require(t)
	sys, err := kvm.Open(kvm.DefaultPath)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	cpuid, err := sys.SupportedCPUID()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		backend uaafabi.Backend
		perms   string
	}{
		{uaafabi.BackendExit, "rw-"},
		{uaafabi.BackendVMFUNC, "r--"},
	} {
		t.Run(string(tt.backend), func(t *testing.T) {
			img, err := PrepareImage(kvmtest.GuestImage(t, "demo"), 8<<20, tt.backend)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			machine, err := sys.NewMachine(cpuid)
			if err != nil {
				t.Fatal(err)
			}
			m, err := monitor.New(monitor.Config{Template: img.Template, ReadyMachine: machine, Console: io.Discard, Log: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			text := uint64(reflect.ValueOf(m.RAM()).Pointer()) + hvt.GuestMinBase
			if got := kvmtest.HostPerms(t, text); got != tt.perms {
				t.Errorf("host mapping of the text: %q, want %q", got, tt.perms)
			}
		})
	}
}
