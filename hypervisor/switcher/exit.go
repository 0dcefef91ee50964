package switcher

import (
	"errors"
	"sync"
	"time"

	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// exitSwitcher is the portable backend: each switch is a VM exit, and the
// monitor runs the target view's vCPU on the session's thread.
type exitSwitcher struct {
	cfg   Config
	stats Stats

	mu      sync.Mutex // guards current against Stop
	current View
	stopped bool
}

func (s *exitSwitcher) Backend() uaafabi.Backend { return uaafabi.BackendExit }
func (s *exitSwitcher) Exitless() bool           { return false }
func (s *exitSwitcher) Stats() Stats             { return s.stats }

// HandleSwitch runs one call into view index. Whatever happens to the callee,
// the session gets a status in its call area and goes on; only a stop of the
// whole session is returned as an error.
func (s *exitSwitcher) HandleSwitch(index uint32) error {
	s.stats.Calls++
	if index == 0 || index >= uaafabi.MaxViews {
		s.stats.BadIndex++
		uaafabi.PutStatus(s.cfg.CallArea, uaafabi.ENoEnt)
		return nil
	}
	v, ok, err := s.cfg.Views.View(index)
	if !ok {
		s.stats.BadIndex++
		uaafabi.PutStatus(s.cfg.CallArea, uaafabi.ENoEnt)
		return nil
	}
	if err != nil {
		s.stats.Unavailable++
		uaafabi.PutStatus(s.cfg.CallArea, uaafabi.EUnavail)
		return nil
	}
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return vcpu.ErrStopped
	}
	s.current = v
	s.mu.Unlock()

	err = v.Enter(time.Now().Add(s.cfg.Deadline))

	s.mu.Lock()
	s.current = nil
	stopped := s.stopped
	s.mu.Unlock()

	var fault *FaultError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrDeadline):
		s.stats.Timeouts++
		uaafabi.PutStatus(s.cfg.CallArea, uaafabi.ETimedOut)
	case errors.As(err, &fault):
		s.stats.Faults++
		uaafabi.PutStatus(s.cfg.CallArea, uaafabi.EFault)
	case stopped:
		return err
	default:
		s.stats.Faults++
		uaafabi.PutStatus(s.cfg.CallArea, uaafabi.EFault)
	}
	s.cfg.Views.Discard(index, err)
	return nil
}

// Stop interrupts the call in progress, if any, and refuses new ones.
func (s *exitSwitcher) Stop() {
	s.mu.Lock()
	s.stopped = true
	v := s.current
	s.mu.Unlock()
	if v != nil {
		v.Stop()
	}
}
