package switcher

import (
	"errors"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// fakeView returns a fixed result from Enter.
type fakeView struct {
	err     error
	entered int
	stopped bool
}

func (v *fakeView) Enter(deadline time.Time) error {
	v.entered++
	if deadline.Before(time.Now()) {
		return errors.New("deadline already passed")
	}
	return v.err
}

func (v *fakeView) Stop() { v.stopped = true }

// fakeViews serves views by index and records discards.
type fakeViews struct {
	views     map[uint32]*fakeView
	startErr  error
	discarded []uint32
}

func (f *fakeViews) View(i uint32) (View, bool, error) {
	v, ok := f.views[i]
	if !ok {
		return nil, false, nil
	}
	if f.startErr != nil {
		return nil, true, f.startErr
	}
	return v, true, nil
}

func (f *fakeViews) Discard(i uint32, _ error) { f.discarded = append(f.discarded, i) }

// TestExitSwitcher checks the status the session sees and which instances
// are discarded for every outcome of a call.
func TestExitSwitcher(t *testing.T) {
	const okStatus = uaafabi.Status(42) // what a callee writes on success
	tests := []struct {
		name     string
		index    uint32
		viewErr  error
		startErr error
		status   uaafabi.Status
		discard  bool
		runErr   error
	}{
		{name: "ok", index: 1, status: okStatus},
		{name: "fault", index: 1, viewErr: &FaultError{Msg: "trap"}, status: uaafabi.EFault, discard: true},
		{name: "deadline", index: 1, viewErr: ErrDeadline, status: uaafabi.ETimedOut, discard: true},
		{name: "other error", index: 1, viewErr: errors.New("KVM_RUN: EIO"), status: uaafabi.EFault, discard: true},
		{name: "index 0", index: 0, status: uaafabi.ENoEnt},
		{name: "index not bound", index: 7, status: uaafabi.ENoEnt},
		{name: "index past the list", index: uaafabi.MaxViews, status: uaafabi.ENoEnt},
		{name: "cannot start", index: 1, startErr: errors.New("no memory"), status: uaafabi.EUnavail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			views := &fakeViews{views: map[uint32]*fakeView{1: {err: tt.viewErr}}, startErr: tt.startErr}
			area := make([]byte, uaafabi.CallSize)
			sw, err := New(uaafabi.BackendExit, Config{Views: views, CallArea: area})
			if err != nil {
				t.Fatal(err)
			}
			uaafabi.PutStatus(area, okStatus)
			if err := sw.HandleSwitch(tt.index); !errors.Is(err, tt.runErr) {
				t.Fatalf("HandleSwitch = %v, want %v", err, tt.runErr)
			}
			if got := uaafabi.ReadStatus(area); got != tt.status {
				t.Errorf("status = %v, want %v", got, tt.status)
			}
			if d := len(views.discarded) == 1; d != tt.discard {
				t.Errorf("discarded %v, want %v", views.discarded, tt.discard)
			}
			if sw.Stats().Calls != 1 {
				t.Errorf("stats %+v", sw.Stats())
			}
		})
	}
}

// TestExitSwitcherStop checks that after Stop a call is refused as a stop
// of the session, not turned into a status.
func TestExitSwitcherStop(t *testing.T) {
	views := &fakeViews{views: map[uint32]*fakeView{1: {}}}
	sw, err := New(uaafabi.BackendExit, Config{Views: views, CallArea: make([]byte, uaafabi.CallSize)})
	if err != nil {
		t.Fatal(err)
	}
	sw.Stop()
	if err := sw.HandleSwitch(1); !errors.Is(err, vcpu.ErrStopped) {
		t.Fatalf("HandleSwitch after Stop = %v, want ErrStopped", err)
	}
	if views.views[1].entered != 0 {
		t.Error("view entered after Stop")
	}
}

func TestNewErrors(t *testing.T) {
	views := &fakeViews{}
	if _, err := New(uaafabi.BackendExit, Config{Views: views, CallArea: make([]byte, 10)}); err == nil {
		t.Error("short call area accepted")
	}
	if _, err := New("warp", Config{Views: views, CallArea: make([]byte, uaafabi.CallSize)}); err == nil {
		t.Error("unknown backend accepted")
	}
	// vmfunc: never usable on a host without /dev/uaaf; the error says why.
	if _, err := New(uaafabi.BackendVMFUNC, Config{Views: views, CallArea: make([]byte, uaafabi.CallSize)}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("vmfunc: err = %v, want ErrUnavailable", err)
	}
}

func TestSelect(t *testing.T) {
	b, why, err := Select("auto")
	if err != nil || why == "" {
		t.Fatalf("auto: %v %q %v", b, why, err)
	}
	if b == uaafabi.BackendExit && ProbeVMFUNC("/nonexistent/uaaf") == nil {
		t.Error("probe of a missing device succeeded")
	}
	if b, _, err := Select("exit"); err != nil || b != uaafabi.BackendExit {
		t.Errorf("exit: %v %v", b, err)
	}
	if _, _, err := Select("fast"); err == nil {
		t.Error("unknown --switch accepted")
	}
	if err := ProbeVMFUNC("/nonexistent/uaaf"); !errors.Is(err, ErrUnavailable) {
		t.Errorf("vmfunc on a missing device: %v", err)
	}
}
