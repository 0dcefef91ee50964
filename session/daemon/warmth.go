package daemon

import (
	"sync"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/sched"
)

// warmth applies a keep-alive policy to session images' warm state: the
// guests the pool makes ahead of need for each template of an image
// (monitor.Shell: memory mapped and boot state set in a ready VM). While a
// session of an image is bound, the image stays warm; once its last one
// ends, the policy decides how long its shells stay (Decision.KeepAlive)
// and, with a pre-warm window, drops them now and makes them again later
// (Decision.Prewarm). A start of a cool image takes a plain VM from the pool
// (timings.pool_hit stays true, the image is laid out into it on the start
// path) and asks for its shells again.
//
// The policy sees image names (a path image's name is its path) on the
// daemon's policy clock. Lock order: warmth.mu, then image.mu, then the
// pool's. Safe for concurrent use.
type warmth struct {
	keep  sched.KeepAlive
	clock sched.Clock
	pub   func(api.Event)

	mu     sync.Mutex
	st     map[*image]*warmState
	closed bool
}

// warmState is one image's warm state (warmth.mu).
type warmState struct {
	live  int         // sessions bound and not yet released
	timer sched.Timer // the keep-alive or pre-warm timer, if armed
	gen   uint64      // bumped on every transition; stale timers compare it
	cool  bool        // its shells were dropped by the policy
}

func newWarmth(keep sched.KeepAlive, clock sched.Clock, pub func(api.Event)) *warmth {
	return &warmth{keep: keep, clock: clock, pub: pub, st: map[*image]*warmState{}}
}

// use records that a session of im was bound: im stays warm until its
// last session ends.
func (w *warmth) use(im *image) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	s := w.st[im]
	if s == nil {
		s = &warmState{}
		w.st[im] = s
	}
	s.live++
	w.disarm(s)
	w.keep.Used(im.name, w.clock.Now())
	if s.cool {
		// The start that bound it asks the pool for its shells again.
		s.cool = false
		w.pub(api.Event{Type: "image.warmed", Image: im.name, Detail: "used"})
	}
}

// done records that a session of im was released; the last one hands im
// to the keep-alive policy.
func (w *warmth) done(im *image) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.st[im]
	if w.closed || s == nil || s.live == 0 {
		return
	}
	if s.live--; s.live > 0 {
		return
	}
	dec := w.keep.Idle(im.name, w.clock.Now())
	if dec.Prewarm > 0 {
		w.cooldown(im, s, "prewarm")
		w.arm(im, s, dec.Prewarm, func() {
			s.cool = false
			im.warmShells()
			w.pub(api.Event{Type: "image.warmed", Image: im.name, Detail: "prewarm"})
			w.hold(im, s, dec.KeepAlive)
		})
		return
	}
	w.hold(im, s, dec.KeepAlive)
}

// hold keeps im's shells for d (forever if d < 0), then drops them.
func (w *warmth) hold(im *image, s *warmState, d time.Duration) {
	switch {
	case d < 0:
	case d == 0:
		w.cooldown(im, s, "keep-alive ended")
	default:
		w.arm(im, s, d, func() { w.cooldown(im, s, "keep-alive ended") })
	}
}

// cooldown drops im's shells (w.mu held).
func (w *warmth) cooldown(im *image, s *warmState, why string) {
	if s.cool {
		return
	}
	s.cool = true
	im.coolShells()
	w.pub(api.Event{Type: "image.cooled", Image: im.name, Detail: why})
}

// arm runs f after d of the policy clock with w.mu held, unless im was
// used, forgotten or changed state meanwhile (w.mu held).
func (w *warmth) arm(im *image, s *warmState, d time.Duration, f func()) {
	w.disarm(s)
	gen := s.gen
	s.timer = w.clock.AfterFunc(d, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.closed || s.gen != gen || s.live > 0 || w.st[im] != s {
			return
		}
		s.timer = nil
		f()
	})
}

// disarm cancels s's timer and makes one already firing a no-op (w.mu
// held).
func (w *warmth) disarm(s *warmState) {
	s.gen++
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// forget drops what is known of im (it is being closed). Call it without
// im.mu held.
func (w *warmth) forget(im *image) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s := w.st[im]; s != nil {
		w.disarm(s)
		delete(w.st, im)
		if !w.closed {
			w.keep.Forget(im.name)
		}
	}
}

// cooled reports whether im's shells were dropped by the policy.
func (w *warmth) cooled(im *image) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.st[im]
	return s != nil && s.cool
}

// close stops every timer; later calls change nothing.
func (w *warmth) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, s := range w.st {
		w.disarm(s)
	}
}
