package sched

import (
	"container/heap"
	"sync"
	"time"
)

// Clock is the time the policies see. All implementations are safe for
// concurrent use.
type Clock interface {
	// Now returns the current time of this clock.
	Now() time.Time
	// AfterFunc calls f in its own goroutine (RealClock, ScaledClock) or
	// from Advance (FakeClock) once d of this clock's time has passed.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a pending AfterFunc call.
type Timer interface {
	// Stop prevents the call if it has not started; it reports whether it
	// did so (false: the call already ran, started, or was stopped before).
	Stop() bool
}

// RealClock is wall-clock time: time.Now and time.AfterFunc.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// AfterFunc is time.AfterFunc.
func (RealClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// ScaledClock runs Scale times faster than real time from an origin: Now()
// is Origin + (real time since the clock was made) × Scale, measured on the
// monotonic clock. A trace replayed at a speed-up uses it so that policies
// see trace time. It is immutable and safe for concurrent use.
type ScaledClock struct {
	origin time.Time
	start  time.Time // real time at origin, with a monotonic reading
	scale  float64
}

// NewScaledClock returns a clock that reads origin now and advances scale
// seconds per real second. It panics unless scale > 0 (a programmer error).
func NewScaledClock(origin time.Time, scale float64) *ScaledClock {
	if !(scale > 0) {
		panic("sched: ScaledClock scale must be > 0")
	}
	return &ScaledClock{origin: origin, start: time.Now(), scale: scale}
}

// Scale is how many seconds of this clock pass per real second.
func (c *ScaledClock) Scale() float64 { return c.scale }

// Now returns origin + real elapsed × scale.
func (c *ScaledClock) Now() time.Time {
	return c.origin.Add(scaleDuration(time.Since(c.start), c.scale))
}

// AfterFunc calls f in its own goroutine after d/scale of real time.
func (c *ScaledClock) AfterFunc(d time.Duration, f func()) Timer {
	return time.AfterFunc(scaleDuration(d, 1/c.scale), f)
}

// scaleDuration returns d×k rounded to the nanosecond and saturated to the
// range of time.Duration.
func scaleDuration(d time.Duration, k float64) time.Duration {
	v := float64(d) * k
	switch {
	case v >= float64(1<<63-1):
		return 1<<63 - 1
	case v <= -float64(1<<63):
		return -1 << 63
	}
	if v < 0 {
		return time.Duration(v - 0.5)
	}
	return time.Duration(v + 0.5)
}

// FakeClock is a manual clock for tests: time moves only in Advance, which
// runs due AfterFunc calls synchronously, in order of due time (ties: in
// the order AfterFunc was called), with Now reading each call's due time
// while it runs. A call scheduled with d ≤ 0 runs at the next Advance
// (Advance(0) included). The callbacks run without the clock's lock held:
// they may call Now, AfterFunc and Stop, but not Advance. Safe for
// concurrent use, except that one goroutine at a time may call Advance.
type FakeClock struct {
	mu     sync.Mutex
	now    time.Time
	seq    uint64
	timers indexHeap[*fakeTimer] // by (due, seq)
}

// NewFakeClock returns a FakeClock reading t.
func NewFakeClock(t time.Time) *FakeClock {
	return &FakeClock{now: t, timers: indexHeap[*fakeTimer]{
		less:  timerBefore,
		index: func(t *fakeTimer) *int { return &t.index },
	}}
}

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// AfterFunc schedules f at Now()+d.
func (c *FakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	t := &fakeTimer{c: c, due: c.now.Add(d), seq: c.seq, f: f, index: -1}
	heap.Push(&c.timers, t)
	return t
}

// Advance moves the clock forward by d (d < 0 is treated as 0), running
// every call that falls due on the way, including calls scheduled by the
// calls themselves. When it returns, Now() reads the old time + d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	target := c.now.Add(max(d, 0))
	for c.timers.Len() > 0 && !c.timers.top().due.After(target) {
		t := heap.Pop(&c.timers).(*fakeTimer)
		if t.due.After(c.now) {
			c.now = t.due
		}
		c.mu.Unlock()
		t.f()
		c.mu.Lock()
	}
	c.now = target
	c.mu.Unlock()
}

// Pending returns how many AfterFunc calls are scheduled and not stopped.
func (c *FakeClock) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timers.Len()
}

type fakeTimer struct {
	c     *FakeClock
	due   time.Time
	seq   uint64
	f     func()
	index int // in c.timers; -1 once popped or removed
}

// Stop removes the call if it is still scheduled.
func (t *fakeTimer) Stop() bool {
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if t.index < 0 {
		return false
	}
	heap.Remove(&t.c.timers, t.index)
	return true
}

// timerBefore orders timers by due time, then by AfterFunc order.
func timerBefore(a, b *fakeTimer) bool {
	if !a.due.Equal(b.due) {
		return a.due.Before(b.due)
	}
	return a.seq < b.seq
}
