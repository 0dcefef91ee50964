package session

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/switcher"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

// backends lists every switch backend; each conformance test runs on all of
// them and skips, with the host's reason, the ones this host cannot run.
var backends = []uaafabi.Backend{uaafabi.BackendExit, uaafabi.BackendVMFUNC}

// selectBackend returns the selection of backend b, skipping t when this
// host cannot run it. It is not a KVM skip: UAAF_REQUIRE_KVM does not turn
// it into a failure, because vmfunc needs Intel VT-x and the kmod/ module,
// which no CI host here has; UAAF_REQUIRE_VMFUNC=1 does, on hosts meant to
// have them.
func selectBackend(t *testing.T, b uaafabi.Backend) *switcher.Selection {
	t.Helper()
	if b == uaafabi.BackendVMFUNC {
		kvmtest.RequireVMFUNC(t, switcher.Probe(""))
	}
	sel, err := switcher.Select(string(b), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sel.Close() })
	return sel
}

// TestBackendConformance is the switch-backend conformance suite: the same
// calls, faults, deadline and unbound-function checks on every backend the
// host offers. Run it on an Intel host with the uaaf module loaded to check
// the vmfunc backend (see kmod/README.md).
func TestBackendConformance(t *testing.T) {
	reg := newRegistry(t, allLibs...)
	type tcase struct {
		word   string
		status string // decimal status, or hex output when prefixed by '='
	}
	common := []tcase{
		{"sha256.sha256:616263", "=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{"testfns.echo:0102030405", "=0102030405"},
		{"testfns.nop", "0"},
		{"testfns.bigout", strconv.Itoa(int(uaafabi.E2Big))},
		{"testfns.badret", strconv.Itoa(int(uaafabi.EBadRet))},
		{"nosuch.fn", "unknown"}, // not imported: an error, not a call
		{"testfns.counter", "=0100000000000000"},
		{"testfns.counter", "=0200000000000000"},
	}
	// On the exit backend a callee fault or a missed deadline is the
	// caller's error and the session goes on. On vmfunc the module makes a
	// view fault fatal to the session (TestVMFUNCFaultFatal) and calls run
	// without the monitor, so there is no deadline.
	exitOnly := []tcase{
		{"testfns.crash", strconv.Itoa(int(uaafabi.EFault))},
		{"testfns.nop", "0"},
		{"testfns.hang", strconv.Itoa(int(uaafabi.ETimedOut))},
		{"testfns.oob", strconv.Itoa(int(uaafabi.EFault))},
		{"testfns.wtext", strconv.Itoa(int(uaafabi.EFault))},
		{"testfns.counter", "=0100000000000000"}, // a fresh instance
	}
	for _, b := range backends {
		t.Run(string(b), func(t *testing.T) {
			sel := selectBackend(t, b)
			cases := common
			if b == uaafabi.BackendExit {
				cases = append(append([]tcase(nil), common...), exitOnly...)
			}
			words := make([]string, len(cases))
			for i, c := range cases {
				words[i] = c.word
			}
			res, _, out := runCalltestOn(t, sel, reg, nil, 500*time.Millisecond, false, words...)
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
	probe := switcher.Probe("")
	if probe == nil {
		t.Skip("this host can run vmfunc")
	}
	_, err := switcher.Select("vmfunc", "")
	if !errors.Is(err, switcher.ErrUnavailable) || err.Error() != probe.Error() {
		t.Fatalf("vmfunc on this host: err = %v, want ErrUnavailable with the reason (%v)", err, probe)
	}
}

// TestVMFUNCFaultFatal: on the vmfunc backend a library that faults ends
// the whole session, with the faulting view named.
func TestVMFUNCFaultFatal(t *testing.T) {
	sel := selectBackend(t, uaafabi.BackendVMFUNC)
	reg := newRegistry(t, allLibs...)
	mc := calltestConfig(t)
	mc.Args = []string{"testfns.crash"}
	s, err := New(Config{Monitor: mc, Registry: reg, Switch: sel})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Run(t.Context()); err == nil || !strings.Contains(err.Error(), "faulted") {
		t.Fatalf("Run = %v, want the session ended by a view fault", err)
	}
}
