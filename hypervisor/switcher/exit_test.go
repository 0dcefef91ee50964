package switcher

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
	"github.com/uaaf/uaaf/libfuncs/libvm"
)

// fakeCallee returns a fixed result from Enter.
type fakeCallee struct {
	err     error
	entered int
	stopped bool
	closed  bool
}

func (c *fakeCallee) Enter(deadline time.Time) error {
	c.entered++
	if deadline.Before(time.Now()) {
		return errors.New("deadline already passed")
	}
	return c.err
}

func (c *fakeCallee) Stop()         { c.stopped = true }
func (c *fakeCallee) Exits() uint64 { return 2 * uint64(c.entered) }
func (c *fakeCallee) Close() error  { c.closed = true; return nil }

// fakeExit returns an exit backend over one library whose instances are
// fakeCallees failing with enterErr; startErr fails starting them. started
// lists the instances started so far.
func fakeExit(t *testing.T, enterErr, startErr error) (b *exitBackend, area []byte, log *bytes.Buffer, started *[]*fakeCallee) {
	t.Helper()
	area = make([]byte, uaafabi.CallSize)
	log = &bytes.Buffer{}
	sb, err := New(nil, Config{Libraries: []*libvm.Library{{Name: "lib"}}, CallArea: area, ViewData: make([]byte, 4096), Log: log})
	if err != nil {
		t.Fatal(err)
	}
	b = sb.(*exitBackend)
	started = &[]*fakeCallee{}
	b.newInstance = func(*libvm.Library, Config) (callee, error) {
		if startErr != nil {
			return nil, startErr
		}
		c := &fakeCallee{err: enterErr}
		*started = append(*started, c)
		return c, nil
	}
	return b, area, log, started
}

// TestExitBackend checks the status the session sees, the view's state in
// the S-F table and the instances discarded, for every outcome of a call.
func TestExitBackend(t *testing.T) {
	const okStatus = uaafabi.Status(42) // what a callee writes on success
	fault := &monitor.GuestError{Msg: "library lib: KVM: unhandled exit"}
	tests := []struct {
		name      string
		index     uint32
		enterErr  error
		startErr  error
		status    uaafabi.Status
		discarded bool   // the instance is closed and the view shows "discarded"
		log       string // the notice the session's log gets
		stats     Stats
	}{
		{name: "ok", index: 1, status: okStatus, stats: Stats{Calls: 1}},
		{name: "fault", index: 1, enterErr: fault, status: uaafabi.EFault, discarded: true,
			log: "uaaf: library lib: KVM: unhandled exit; instance discarded\n", stats: Stats{Calls: 1, Faults: 1}},
		{name: "deadline", index: 1, enterErr: monitor.ErrDeadline, status: uaafabi.ETimedOut, discarded: true,
			log: "uaaf: library lib: monitor: call deadline exceeded; instance discarded\n", stats: Stats{Calls: 1, Timeouts: 1}},
		{name: "host error", index: 1, enterErr: errors.New("KVM_RUN: EIO"), status: uaafabi.EFault, discarded: true,
			log: "uaaf: library lib: KVM_RUN: EIO; instance discarded\n", stats: Stats{Calls: 1, Faults: 1}},
		{name: "index 0", index: 0, status: uaafabi.ENoEnt, stats: Stats{Calls: 1, BadIndex: 1}},
		{name: "index not bound", index: 7, status: uaafabi.ENoEnt, stats: Stats{Calls: 1, BadIndex: 1}},
		{name: "index past the list", index: uaafabi.MaxViews, status: uaafabi.ENoEnt, stats: Stats{Calls: 1, BadIndex: 1}},
		{name: "cannot start", index: 1, startErr: errors.New("no memory"), status: uaafabi.EUnavail,
			log: "uaaf: session: cannot start library lib: no memory\n", stats: Stats{Calls: 1, Unavailable: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, area, log, started := fakeExit(t, tt.enterErr, tt.startErr)
			uaafabi.PutStatus(area, okStatus)
			if err := b.Switch(tt.index); err != nil {
				t.Fatalf("Switch = %v, want nil: a callee's fate is a status", err)
			}
			if got := uaafabi.ReadStatus(area); got != tt.status {
				t.Errorf("status = %v, want %v", got, tt.status)
			}
			wantVerdict := uint32(tt.status)
			if tt.status == okStatus {
				wantVerdict = 0 // the callee's result stands
			}
			if got := binary.LittleEndian.Uint32(b.cfg.ViewData[uaafabi.OffVDVerdict:]); got != wantVerdict {
				t.Errorf("verdict = %d, want %d", int32(got), int32(wantVerdict))
			}
			if got := b.Stats(); got != tt.stats {
				t.Errorf("stats %+v, want %+v", got, tt.stats)
			}
			if log.String() != tt.log {
				t.Errorf("log %q, want %q", log.String(), tt.log)
			}
			v := b.Views()[0]
			wantState := map[bool]string{true: "discarded", false: "live"}[tt.discarded]
			if len(*started) == 0 {
				wantState = "none"
			}
			if v.Instance != wantState {
				t.Errorf("view state %q, want %q", v.Instance, wantState)
			}
			if len(*started) == 1 && (*started)[0].closed != tt.discarded {
				t.Errorf("instance closed = %v, want %v", (*started)[0].closed, tt.discarded)
			}
		})
	}
}

// TestExitBackendFreshInstance: the call after a fault gets a new instance;
// the S-F row keeps the faults, calls and the exits of both instances.
func TestExitBackendFreshInstance(t *testing.T) {
	b, _, _, started := fakeExit(t, &monitor.GuestError{Msg: "trap"}, nil)
	b.Switch(1)
	b.Switch(1)
	if len(*started) != 2 || (*started)[1].entered != 1 {
		t.Fatalf("instances %d, want a fresh one for the second call", len(*started))
	}
	want := ViewState{Index: 1, Library: "lib", Instance: "discarded", Calls: 2, Faults: 2, Exits: 4}
	if got := b.Views()[0]; got != want {
		t.Errorf("view %+v, want %+v", got, want)
	}
	b.Close()
}

// TestExitBackendStop checks that after Stop a call is refused as a stop of
// the session, not turned into a status, and that Close closes live
// instances.
func TestExitBackendStop(t *testing.T) {
	b, _, _, started := fakeExit(t, nil, nil)
	if err := b.Switch(1); err != nil {
		t.Fatal(err)
	}
	b.Stop()
	if err := b.Switch(1); !errors.Is(err, vcpu.ErrStopped) {
		t.Fatalf("Switch after Stop = %v, want ErrStopped", err)
	}
	c := (*started)[0]
	if c.entered != 1 {
		t.Errorf("instance entered %d times, want 1: entered after Stop", c.entered)
	}
	b.Close()
	if !c.closed {
		t.Error("Close left a live instance open")
	}
}

func TestNewErrors(t *testing.T) {
	libs := []*libvm.Library{{Name: "lib"}}
	if _, err := New(nil, Config{Libraries: libs, CallArea: make([]byte, 10)}); err == nil || !strings.Contains(err.Error(), "call area is 10 bytes") {
		t.Errorf("short call area: %v", err)
	}
	if _, err := New(&Selection{Backend: "warp"}, Config{CallArea: make([]byte, uaafabi.CallSize)}); err == nil || !strings.Contains(err.Error(), `unknown backend "warp"`) {
		t.Errorf("unknown backend: %v", err)
	}
	// A vmfunc selection that probed no device (not made by Select).
	if _, err := New(&Selection{Backend: uaafabi.BackendVMFUNC}, Config{CallArea: make([]byte, uaafabi.CallSize)}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("vmfunc without a probed device: err = %v, want ErrUnavailable", err)
	}
}

func TestSelect(t *testing.T) {
	missing := "/nonexistent/uaaf"
	// Without the module, the reason is the host's when the host rules
	// VMFUNC out, and the missing device otherwise.
	reason := "uaaf device unavailable: /nonexistent/uaaf: no such file or directory (load the uaaf kernel module"
	if why := NoVMFUNC(Host()); why != "" {
		reason = why
	}
	tests := []struct {
		request, path string
		backend       uaafabi.Backend
		why           string // a substring of Why, or of the error
		err           error
	}{
		{request: "exit", path: missing, backend: uaafabi.BackendExit, why: "exit (requested)"},
		{request: "auto", path: missing, backend: uaafabi.BackendExit, why: "exit (auto: switch backend unavailable: vmfunc: " + reason},
		{request: "", path: missing, backend: uaafabi.BackendExit, why: "exit (auto: "},
		{request: "vmfunc", path: missing, err: ErrUnavailable, why: "switch backend unavailable: vmfunc: " + reason},
		{request: "fast", path: missing, why: `unknown --switch "fast" (want auto, exit or vmfunc)`},
	}
	for _, tt := range tests {
		sel, err := Select(tt.request, tt.path)
		if tt.backend == "" {
			if err == nil || (tt.err != nil && !errors.Is(err, tt.err)) || !strings.Contains(err.Error(), tt.why) {
				t.Errorf("Select(%q) = %v, want an error %v containing %q", tt.request, err, tt.err, tt.why)
			}
			continue
		}
		if err != nil || sel.Backend != tt.backend || !strings.Contains(sel.Why, tt.why) {
			t.Errorf("Select(%q) = %+v, %v; want %s with %q", tt.request, sel, err, tt.backend, tt.why)
		}
	}
}

// TestSelectVMFUNC runs where VMFUNC is meant to work (UAAF_REQUIRE_VMFUNC=1
// makes its absence a failure): auto and vmfunc both pick vmfunc.
func TestSelectVMFUNC(t *testing.T) {
	kvmtest.RequireVMFUNC(t, Probe(""))
	for _, req := range []string{"auto", "vmfunc"} {
		sel, err := Select(req, "")
		if err != nil || sel.Backend != uaafabi.BackendVMFUNC {
			t.Errorf("Select(%q) = %+v, %v; want vmfunc", req, sel, err)
		}
		sel.Close()
	}
}

// TestNoVMFUNC: the hosts that can never switch with VMFUNC say why; an
// Intel VT-x host leaves it to the module.
func TestNoVMFUNC(t *testing.T) {
	for host, want := range map[string]string{
		"pvm":     "KVM here is PVM (kvm_pvm): guests run without VMX, so there is no EPT and no VMFUNC",
		"svm":     "AMD SVM has no VMFUNC instruction",
		"unknown": "no VMX: /dev/kvm is not backed by Intel VT-x",
		"vmx":     "",
	} {
		if got := NoVMFUNC(host); got != want {
			t.Errorf("NoVMFUNC(%q) = %q, want %q", host, got, want)
		}
	}
	if h := Host(); h != "pvm" && h != "vmx" && h != "svm" && h != "unknown" {
		t.Errorf("Host() = %q", h)
	}
}
