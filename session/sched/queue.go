package sched

import (
	"container/heap"
	"time"
)

// Request is one invocation waiting to start.
type Request struct {
	ID       uint64    // unique among the requests in one queue
	Image    string    // the session image it runs
	Arrival  time.Time // when it arrived (the Clock's time)
	Deadline time.Time // when it should have started; zero: none
}

// Queue orders waiting invocations. Queues are not safe for concurrent use:
// the daemon calls them under its scheduler lock.
type Queue interface {
	// Push adds r. r must not be in the queue already (same ID).
	Push(r *Request)
	// Pop removes and returns the next request that may start, or nil if
	// none may. running(image) is how many invocations of image run now; a
	// negative result means the image may not start anything now, and Pop
	// must skip (and keep) its requests. Limit works through this rule, so
	// every Queue must honour it. A nil running means 0 for every image.
	Pop(running func(image string) int) *Request
	// Remove removes the request with this ID (a cancelled or timed-out
	// invocation) and reports whether it was queued.
	Remove(id uint64) bool
	// Len returns the number of queued requests.
	Len() int
}

// NewFIFO returns a queue that starts requests in the order they were
// pushed. Push, Pop and Remove cost O(log n) while no image is blocked, plus
// O(log m) per blocked image skipped (m: images with queued requests).
func NewFIFO() Queue {
	return newKeyed(func(a, b *entry) bool { return a.seq < b.seq })
}

// NewEDF returns an earliest-deadline-first queue: requests with a deadline
// in deadline order, then requests without one; equal deadlines (or none) in
// push order. Costs as NewFIFO.
func NewEDF() Queue {
	return newKeyed(func(a, b *entry) bool {
		ad, bd := a.r.Deadline, b.r.Deadline
		switch {
		case ad.IsZero() != bd.IsZero():
			return bd.IsZero()
		case !ad.Equal(bd):
			return ad.Before(bd)
		}
		return a.seq < b.seq
	})
}

// Limit wraps q so that at most perImage invocations of one image run at a
// time: Pop passes q a running function that reports an image with
// perImage or more invocations running as blocked (-1). It panics if
// perImage < 1 (a programmer error; ParseQueue validates its input).
func Limit(q Queue, perImage int) Queue {
	if perImage < 1 {
		panic("sched: Limit perImage must be ≥ 1")
	}
	return &limited{Queue: q, n: perImage}
}

type limited struct {
	Queue
	n int
}

func (l *limited) Pop(running func(string) int) *Request {
	return l.Queue.Pop(func(image string) int {
		k := 0
		if running != nil {
			k = running(image)
		}
		if k < 0 || k >= l.n {
			return -1
		}
		return k
	})
}

// entry is a queued request with its push sequence number.
type entry struct {
	r     *Request
	seq   uint64
	index int // in its image's heap
}

// keyed is a two-level priority queue: one heap of requests per image, and
// a heap of images ordered by their best request. Pop takes the best image
// that is not blocked, so requests of a blocked image cost nothing to skip.
type keyed struct {
	less   func(a, b *entry) bool
	seq    uint64
	n      int
	byID   map[uint64]*entry
	images map[string]*imageHeap
	top    indexHeap[*imageHeap] // non-empty images by their best request
}

func newKeyed(less func(a, b *entry) bool) *keyed {
	return &keyed{less: less, byID: map[uint64]*entry{}, images: map[string]*imageHeap{},
		top: indexHeap[*imageHeap]{
			less:  func(a, b *imageHeap) bool { return less(a.reqs.top(), b.reqs.top()) },
			index: func(h *imageHeap) *int { return &h.index },
		}}
}

func (k *keyed) Len() int { return k.n }

func (k *keyed) Push(r *Request) {
	k.seq++
	e := &entry{r: r, seq: k.seq}
	k.byID[r.ID] = e
	h := k.images[r.Image]
	if h == nil {
		h = &imageHeap{image: r.Image, index: -1,
			reqs: indexHeap[*entry]{less: k.less, index: func(e *entry) *int { return &e.index }}}
		k.images[r.Image] = h
	}
	heap.Push(&h.reqs, e)
	if h.index < 0 {
		heap.Push(&k.top, h)
	} else {
		heap.Fix(&k.top, h.index)
	}
	k.n++
}

func (k *keyed) Pop(running func(string) int) *Request {
	var blocked []*imageHeap
	defer func() {
		for _, h := range blocked {
			heap.Push(&k.top, h)
		}
	}()
	for k.top.Len() > 0 {
		h := k.top.top()
		if running != nil && running(h.image) < 0 {
			heap.Pop(&k.top)
			blocked = append(blocked, h)
			continue
		}
		e := heap.Pop(&h.reqs).(*entry)
		k.drop(h, e)
		return e.r
	}
	return nil
}

func (k *keyed) Remove(id uint64) bool {
	e := k.byID[id]
	if e == nil {
		return false
	}
	h := k.images[e.r.Image]
	heap.Remove(&h.reqs, e.index)
	k.drop(h, e)
	return true
}

// drop finishes removing e from h: the image's place in top follows its
// new best request, and an empty image is forgotten.
func (k *keyed) drop(h *imageHeap, e *entry) {
	delete(k.byID, e.r.ID)
	k.n--
	if h.index < 0 { // h is out of top: a blocked image during Pop
		if h.reqs.Len() == 0 {
			delete(k.images, h.image)
		}
		return
	}
	if h.reqs.Len() == 0 {
		heap.Remove(&k.top, h.index)
		delete(k.images, h.image)
		return
	}
	heap.Fix(&k.top, h.index)
}

// imageHeap is one image's requests, best first.
type imageHeap struct {
	image string
	reqs  indexHeap[*entry]
	index int // in keyed.top; -1 when not in it
}
