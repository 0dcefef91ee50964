package daemon

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/uaaf/uaaf/session/sched"
)

// Errors of admission, mapped to HTTP 429 and 503 (with Retry-After).
var (
	// ErrBusy: every session slot is taken and the queue is full.
	ErrBusy = errors.New("daemon: at capacity")
	// ErrDraining: the daemon is shutting down and takes no new sessions.
	ErrDraining = errors.New("daemon: shutting down")
)

// admission decides when a session may take one of the daemon's slots:
// at most maxLive sessions hold VMs at once, at most perImage of them (0:
// any number) from one image; invocations that find no slot wait in a
// queue whose order is a policy (sched.Queue: FIFO by default), up to
// maxQueued of them. Safe for concurrent use.
type admission struct {
	mu        sync.Mutex
	q         sched.Queue
	maxLive   int
	maxQueued int
	perImage  int
	live      int
	byImage   map[string]int
	waiting   map[uint64]chan struct{}
	next      uint64
	draining  bool
}

func newAdmission(q sched.Queue, maxLive, maxQueued, perImage int) *admission {
	if perImage > 0 {
		q = sched.Limit(q, perImage)
	}
	return &admission{q: q, maxLive: maxLive, maxQueued: maxQueued, perImage: perImage,
		byImage: map[string]int{}, waiting: map[uint64]chan struct{}{}}
}

// slot is an admitted session's hold on the daemon's capacity; release it
// once, when the session no longer holds its VM.
type slot struct {
	a     *admission
	image string
	once  sync.Once
}

func (s *slot) release() {
	if s == nil {
		return
	}
	s.once.Do(func() { s.a.release(s.image) })
}

// acquire takes a slot for a session of image, waiting in the queue (if
// wait) until one frees, ctx ends (its error), or the daemon drains. It
// returns ErrBusy when the queue is full (or wait is false and no slot is
// free), ErrDraining when shutting down.
func (a *admission) acquire(ctx context.Context, image string, deadline time.Time, wait bool) (*slot, error) {
	a.mu.Lock()
	if a.draining {
		a.mu.Unlock()
		return nil, ErrDraining
	}
	if a.q.Len() == 0 && a.fits(image) {
		a.take(image)
		a.mu.Unlock()
		return &slot{a: a, image: image}, nil
	}
	if !wait || a.q.Len() >= a.maxQueued {
		a.mu.Unlock()
		return nil, ErrBusy
	}
	a.next++
	id := a.next
	ch := make(chan struct{})
	a.waiting[id] = ch
	a.q.Push(&sched.Request{ID: id, Image: image, Arrival: time.Now(), Deadline: deadline})
	a.mu.Unlock()

	select {
	case <-ch:
	case <-ctx.Done():
		a.mu.Lock()
		removed := a.q.Remove(id)
		delete(a.waiting, id)
		a.mu.Unlock()
		if removed {
			return nil, ctx.Err()
		}
		<-ch // admitted as we gave up: hand the slot on
		a.release(image)
		return nil, ctx.Err()
	}
	if a.isDraining() {
		a.release(image)
		return nil, ErrDraining
	}
	return &slot{a: a, image: image}, nil
}

// fits reports whether a session of image may take a slot now.
func (a *admission) fits(image string) bool {
	return a.live < a.maxLive && (a.perImage <= 0 || a.byImage[image] < a.perImage)
}

func (a *admission) take(image string) {
	a.live++
	a.byImage[image]++
}

// release frees a slot of image and admits whoever the queue says is next.
func (a *admission) release(image string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.live--
	if a.byImage[image]--; a.byImage[image] <= 0 {
		delete(a.byImage, image)
	}
	a.dispatch()
}

// dispatch admits queued requests while slots are free.
func (a *admission) dispatch() {
	for a.live < a.maxLive && a.q.Len() > 0 {
		r := a.q.Pop(func(image string) int { return a.byImage[image] })
		if r == nil {
			return // everything queued waits for its image's limit
		}
		a.admit(r)
	}
}

// admit takes a slot for queued request r and wakes its acquire (a.mu
// held).
func (a *admission) admit(r *sched.Request) {
	a.take(r.Image)
	if ch, ok := a.waiting[r.ID]; ok {
		delete(a.waiting, r.ID)
		close(ch)
	}
}

// drain refuses new sessions and wakes the queued ones with ErrDraining.
func (a *admission) drain() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.draining = true
	for {
		r := a.q.Pop(nil)
		if r == nil {
			break
		}
		a.admit(r) // its slot is released by the woken acquire
	}
}

// isDraining reports whether drain was called.
func (a *admission) isDraining() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.draining
}

// counts returns the live sessions and the queue's length.
func (a *admission) counts() (live, queued int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.live, a.q.Len()
}
