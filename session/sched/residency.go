package sched

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// Interval is one stretch of time a library was resident.
type Interval struct {
	Load   time.Time // when it became resident
	Unload time.Time // when it stopped being resident; zero: still resident
	Bytes  uint64    // its memory while resident
}

// Start classifies one use of a library.
type Start int

// A use is Cold if the library was not resident when the use began, Warm if it was.
const (
	Cold Start = iota
	Warm
)

func (s Start) String() string {
	if s == Warm {
		return "warm"
	}
	return "cold"
}

// Residency records, per library, the intervals it was resident and its
// memory, to report memory-time and classify uses as cold or warm. Times are
// the Clock's, never the zero time. Each library's events must come in time
// order. History grows
// by one Interval per load; Trim drops old intervals. The zero value is
// ready to use; a Residency is safe for concurrent use.
type Residency struct {
	mu   sync.Mutex
	libs map[string]*resLib
}

type resLib struct {
	iv   []Interval // by Load; only the last may be open
	last time.Time  // the latest event
}

// Load records that lib became resident at t with bytes of memory. It fails
// with ErrResident if lib is resident, ErrTimeOrder if t is before lib's
// previous event.
func (r *Residency) Load(lib string, t time.Time, bytes uint64) error {
	if t.IsZero() {
		return fmt.Errorf("%w: load %s at the zero time", ErrTimeOrder, lib)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.libs == nil {
		r.libs = map[string]*resLib{}
	}
	l := r.libs[lib]
	if l == nil {
		l = &resLib{}
		r.libs[lib] = l
	}
	if n := len(l.iv); n > 0 && l.iv[n-1].Unload.IsZero() {
		return fmt.Errorf("%w: load %s at %v: resident since %v", ErrResident, lib, t, l.iv[n-1].Load)
	}
	if t.Before(l.last) {
		return fmt.Errorf("%w: load %s at %v, last event at %v", ErrTimeOrder, lib, t, l.last)
	}
	l.iv = append(l.iv, Interval{Load: t, Bytes: bytes})
	l.last = t
	return nil
}

// Unload records that lib stopped being resident at t. It fails with
// ErrNotResident if lib is not resident, ErrTimeOrder if t is before its
// load.
func (r *Residency) Unload(lib string, t time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.libs[lib]
	if l == nil || len(l.iv) == 0 || !l.iv[len(l.iv)-1].Unload.IsZero() {
		return fmt.Errorf("%w: unload %s at %v", ErrNotResident, lib, t)
	}
	cur := &l.iv[len(l.iv)-1]
	if t.Before(cur.Load) {
		return fmt.Errorf("%w: unload %s at %v, loaded at %v", ErrTimeOrder, lib, t, cur.Load)
	}
	cur.Unload = t
	l.last = t
	return nil
}

// Resident reports whether lib was resident at t: some interval has
// Load ≤ t < Unload (or is still open).
func (r *Residency) Resident(lib string, t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.libs[lib]
	if l == nil {
		return false
	}
	i := sort.Search(len(l.iv), func(i int) bool { return l.iv[i].Load.After(t) }) - 1
	if i < 0 {
		return false
	}
	iv := l.iv[i]
	return iv.Unload.IsZero() || t.Before(iv.Unload)
}

// Classify returns Warm if lib was resident at t, else Cold. Call it with
// the instant a use began, before recording any load the use causes.
func (r *Residency) Classify(lib string, t time.Time) Start {
	if r.Resident(lib, t) {
		return Warm
	}
	return Cold
}

// gib is bytes per GiB.
const gib = 1 << 30

// MemoryTime returns the memory-time, in GiB·s, of every library's
// residency within [from, to); open intervals count up to to.
func (r *Residency) MemoryTime(from, to time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var sum float64
	for _, l := range r.libs {
		sum += l.memoryTime(from, to)
	}
	return sum
}

// MemoryTimeOf is MemoryTime for one library.
func (r *Residency) MemoryTimeOf(lib string, from, to time.Time) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.libs[lib]; l != nil {
		return l.memoryTime(from, to)
	}
	return 0
}

func (l *resLib) memoryTime(from, to time.Time) float64 {
	var sum float64
	for _, iv := range l.iv {
		if d := iv.Overlap(from, to); d > 0 {
			sum += d.Seconds() * float64(iv.Bytes) / gib
		}
	}
	return sum
}

// Overlap returns how long iv lies within [from, to), an open interval
// counting up to to; 0 if it lies outside.
func (iv Interval) Overlap(from, to time.Time) time.Duration {
	a, b := iv.Load, iv.Unload
	if b.IsZero() || b.After(to) {
		b = to
	}
	if a.Before(from) {
		a = from
	}
	if b.After(a) {
		return b.Sub(a)
	}
	return 0
}

// Intervals returns a copy of lib's intervals, oldest first.
func (r *Residency) Intervals(lib string) []Interval {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l := r.libs[lib]; l != nil {
		return append([]Interval(nil), l.iv...)
	}
	return nil
}

// Libraries returns the names of the libraries with recorded history, sorted.
func (r *Residency) Libraries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.libs))
	for k := range r.libs {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// Trim drops the intervals that ended at or before t. Memory-time and
// classification before t are lost; ordering checks are kept.
func (r *Residency) Trim(t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, l := range r.libs {
		i := 0
		for i < len(l.iv) && !l.iv[i].Unload.IsZero() && !l.iv[i].Unload.After(t) {
			i++
		}
		l.iv = append(l.iv[:0], l.iv[i:]...)
	}
}
