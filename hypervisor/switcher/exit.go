package switcher

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
	"github.com/uaaf/uaaf/libfuncs/libvm"
)

// exitBackend is the portable backend: each switch is a VM exit, and the
// backend runs the target view's instance on the session's thread.
type exitBackend struct {
	cfg   Config
	views []*exitView // views[i] is EPTP index i+1
	// newInstance starts an instance of a library; tests replace it.
	newInstance func(*libvm.Library, Config) (callee, error)

	mu      sync.Mutex // guards the views' fields, stats, current and stopped
	stats   Stats
	current callee // the instance running a call, for Stop
	stopped bool
}

// callee is what the exit backend uses of a *libvm.Instance.
type callee interface {
	Enter(deadline time.Time) error
	Stop()
	Exits() uint64
	Close() error
}

func newLibvmInstance(l *libvm.Library, cfg Config) (callee, error) {
	return l.NewInstance(cfg.CallArea, cfg.Console)
}

// exitView is one library view: a library and this session's instance.
type exitView struct {
	lib       *libvm.Library
	inst      callee // nil until started, or after a discard
	discarded bool
	calls     uint64
	faults    uint64
	exits     uint64 // exits of discarded and closed instances
}

func newExit(cfg Config) (Backend, error) {
	b := &exitBackend{cfg: cfg, newInstance: newLibvmInstance}
	for _, l := range cfg.Libraries {
		b.views = append(b.views, &exitView{lib: l})
	}
	if cfg.Eager {
		for _, v := range b.views {
			if err := b.start(v); err != nil {
				b.Close()
				return nil, err
			}
		}
	}
	return b, nil
}

func (b *exitBackend) Name() uaafabi.Backend       { return uaafabi.BackendExit }
func (b *exitBackend) Exitless() bool              { return false }
func (b *exitBackend) Attach(*kvm.VM, int) error   { return nil }
func (b *exitBackend) ActiveView() (uint32, error) { return 0, nil }
func (b *exitBackend) Fault() (string, bool)       { return "", false }

// view returns the view at EPTP index, if one is bound there.
func (b *exitBackend) view(index uint32) (*exitView, bool) {
	if index == 0 || uint64(index) > uint64(len(b.views)) {
		return nil, false
	}
	return b.views[index-1], true
}

// start creates v's instance.
func (b *exitBackend) start(v *exitView) error {
	in, err := b.newInstance(v.lib, b.cfg)
	if err != nil {
		return err
	}
	if b.cfg.OnInstance != nil {
		b.cfg.OnInstance(v.lib.Name)
	}
	b.mu.Lock()
	v.inst, v.discarded = in, false
	b.mu.Unlock()
	return nil
}

// Switch runs one call into view index. Whatever happens to the callee, the
// session gets a status in its call area and goes on; only a stop of the
// whole session is returned as an error.
func (b *exitBackend) Switch(index uint32) error {
	b.mu.Lock()
	b.stats.Calls++
	v, ok := b.view(index)
	if !ok {
		b.stats.BadIndex++
		b.mu.Unlock()
		b.verdict(uaafabi.ENoEnt)
		return nil
	}
	v.calls++
	in := v.inst
	b.mu.Unlock()
	if in == nil {
		if err := b.start(v); err != nil {
			fmt.Fprintf(b.cfg.Log, "uaaf: session: cannot start library %s: %v\n", v.lib.Name, err)
			b.mu.Lock()
			b.stats.Unavailable++
			b.mu.Unlock()
			b.verdict(uaafabi.EUnavail)
			return nil
		}
		in = v.inst
	}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		return vcpu.ErrStopped
	}
	b.current = in
	b.mu.Unlock()

	err := in.Enter(time.Now().Add(b.cfg.Deadline))

	b.mu.Lock()
	b.current = nil
	stopped := b.stopped
	switch {
	case err == nil:
	case errors.Is(err, monitor.ErrDeadline):
		b.stats.Timeouts++
		b.verdict(uaafabi.ETimedOut)
	case stopped && errors.Is(err, vcpu.ErrStopped):
		b.mu.Unlock()
		return err
	default: // a *monitor.GuestError, or the host failed the instance
		b.stats.Faults++
		b.verdict(uaafabi.EFault)
	}
	b.mu.Unlock()
	if err != nil {
		b.discard(v, err)
	}
	return nil
}

// discard drops v's broken instance (after a fault or a missed deadline);
// the next call to v starts a fresh one.
func (b *exitBackend) discard(v *exitView, why error) {
	if errors.Is(why, monitor.ErrGuest) {
		fmt.Fprintf(b.cfg.Log, "uaaf: %v; instance discarded\n", why)
	} else {
		fmt.Fprintf(b.cfg.Log, "uaaf: library %s: %v; instance discarded\n", v.lib.Name, why)
	}
	b.drop(v, true).Close()
}

// drop detaches v's instance (keeping its exit count for the S-F row) and
// returns it for the caller to close; broken marks a discarded one.
func (b *exitBackend) drop(v *exitView, broken bool) callee {
	b.mu.Lock()
	defer b.mu.Unlock()
	in := v.inst
	v.exits += in.Exits()
	v.inst = nil
	if broken {
		v.discarded = true
		v.faults++
	}
	return in
}

// Stop interrupts the call in progress, if any, and refuses new ones.
func (b *exitBackend) Stop() {
	b.mu.Lock()
	b.stopped = true
	in := b.current
	b.mu.Unlock()
	if in != nil {
		in.Stop()
	}
}

func (b *exitBackend) Views() []ViewState {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]ViewState, len(b.views))
	for i, v := range b.views {
		state, exits := "none", v.exits
		switch {
		case v.inst != nil:
			state = "live"
			exits += v.inst.Exits()
		case v.discarded:
			state = "discarded"
		}
		out[i] = ViewState{Index: i + 1, Library: v.lib.Name, Instance: state, Calls: v.calls, Faults: v.faults, Exits: exits}
	}
	return out
}

func (b *exitBackend) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// Close closes every live instance.
func (b *exitBackend) Close() error {
	for _, v := range b.views {
		b.mu.Lock()
		live := v.inst != nil
		b.mu.Unlock()
		if live {
			b.drop(v, false).Close()
		}
	}
	return nil
}

// verdict ends the current call with s: the session's uaaf_call returns
// it (from its view data page, which no library maps), and the call
// area's status says it too, for guests built before verdicts.
func (b *exitBackend) verdict(s uaafabi.Status) { putVerdict(b.cfg, s) }

func putVerdict(cfg Config, s uaafabi.Status) {
	uaafabi.PutStatus(cfg.CallArea, s)
	if cfg.ViewData != nil {
		uaafabi.PutVerdict(cfg.ViewData, s)
	}
}
