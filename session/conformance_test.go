package session

import (
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/switcher"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

// backends lists every switch backend; each conformance test runs on all of
// them and skips, with the host's reason, the ones this host cannot run.
var backends = []uaafabi.Backend{uaafabi.BackendExit, uaafabi.BackendVMFUNC}

// requireBackend skips t when backend b cannot run on this host. It is not
// a KVM skip: UAAF_REQUIRE_KVM does not turn it into a failure, because
// vmfunc needs Intel VT-x and the kmod/ module, which no CI host here has.
func requireBackend(t *testing.T, b uaafabi.Backend) {
	t.Helper()
	if b == uaafabi.BackendVMFUNC {
		if err := switcher.ProbeVMFUNC("/dev/uaaf"); err != nil {
			t.Skipf("vmfunc backend unavailable on this host: %v", err)
		}
	}
}

// TestBackendConformance is the switch-backend conformance suite: the same
// calls, faults, deadline and unbound-function checks on every backend the
// host offers. Run it on an Intel host with the uaaf module loaded to check
// the vmfunc backend (see kmod/README.md).
func TestBackendConformance(t *testing.T) {
	reg := newRegistry(t, allLibs...)
	cases := []struct {
		word   string
		status string // decimal status, or hex output when prefixed by '='
	}{
		{"sha256.sha256:616263", "=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"testfns.echo:0102030405", "=0102030405"},
		{"testfns.nop", "0"},
		{"testfns.crash", strconv.Itoa(int(uaafabi.EFault))},
		{"testfns.nop", "0"}, // the session goes on after a callee fault
		{"testfns.hang", strconv.Itoa(int(uaafabi.ETimedOut))},
		{"testfns.oob", strconv.Itoa(int(uaafabi.EFault))},
		{"testfns.bigout", strconv.Itoa(int(uaafabi.E2Big))},
		{"nosuch.fn", "unknown"}, // not imported: an error, not a call
		{"testfns.counter", "=0100000000000000"},
	}
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			requireBackend(t, b)
			words := make([]string, len(cases))
			for i, c := range cases {
				words[i] = c.word
			}
			res, _, out := runCalltestOn(t, b, reg, nil, 500*time.Millisecond, false, words...)
			for i, c := range cases {
				got := res[i].status
				if c.status[0] == '=' {
					got = "=" + res[i].hex
				}
				if got != c.status {
					t.Errorf("%s: got %s, want %s\n%s", c.word, got, c.status, out)
				}
			}
		})
	}
}

// TestBackendUnavailable checks that asking for a backend the host lacks is
// a clear error at bind time, not a crash or a silent fallback.
func TestBackendUnavailable(t *testing.T) {
	if switcher.ProbeVMFUNC("/dev/uaaf") == nil {
		t.Skip("this host can run vmfunc")
	}
	reg := newRegistry(t, allLibs...)
	_, err := New(Config{Monitor: calltestConfig(t), Registry: reg, Backend: uaafabi.BackendVMFUNC})
	if !errors.Is(err, switcher.ErrUnavailable) {
		t.Fatalf("vmfunc on this host: err = %v, want ErrUnavailable with the reason", err)
	}
}
