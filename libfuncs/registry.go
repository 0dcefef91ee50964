package libfuncs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

// Sentinel errors of package libfuncs.
var (
	// ErrNotFound: no library of that name is registered or on the search path.
	ErrNotFound = errors.New("libfuncs: library not found")
	// ErrReleased: Release was called more often than Acquire.
	ErrReleased = errors.New("libfuncs: library released more often than acquired")
	// ErrExists: a different image is already registered under that name.
	ErrExists = errors.New("libfuncs: name already registered")
	// ErrInUse: the library is referenced and cannot be unloaded.
	ErrInUse = errors.New("libfuncs: library in use")
	// ErrClosed: the registry was closed.
	ErrClosed = errors.New("libfuncs: registry closed")
	// ErrBadName: the name cannot name a library.
	ErrBadName = errors.New("libfuncs: invalid library name")
)

// Library is a loaded library-function unikernel as the registry holds it.
// The registry never looks inside; it only destroys it.
type Library interface {
	// Close destroys the library. The registry calls it once, when the
	// library is unloaded, with the registry's lock held: it must not
	// call the registry.
	Close() error
}

// Loader loads (and boots to its ready point) the library image at path
// under name. It may take long; the registry calls it without holding its
// lock, at most once at a time per name.
type Loader[L Library] func(name, path string) (L, error)

// KeepAlive decides how long an unreferenced, unpinned library stays
// loaded: the keep-alive policy of the scheduling literature. The registry
// calls it with its lock held, so it must not call the registry.
type KeepAlive interface {
	// Used is called when an invocation takes a reference on lib (its
	// first, after the library was idle or not loaded).
	Used(lib string, now time.Time)
	// Idle is called when lib's last reference is dropped (or an unpinned
	// library was preloaded). With prewarm 0, lib stays loaded for keep,
	// then is unloaded; with prewarm > 0, lib is unloaded now, loaded
	// again at now+prewarm and kept for keep after that. keep < 0 means
	// forever.
	Idle(lib string, now time.Time) (prewarm, keep time.Duration)
}

// Clock is where the registry reads time and arms its keep-alive timers.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f on its own goroutine after d; stop cancels it and
	// reports whether it did so before f started.
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

// realClock is Clock on the time package.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// EventKind says what happened to a library.
type EventKind string

// The library events the registry reports.
const (
	// EventLoaded: the library was loaded (Cold says whether a reference
	// was waiting for it, Prewarm whether a keep-alive policy loaded it
	// ahead of use).
	EventLoaded EventKind = "loaded"
	// EventLoadFailed: loading failed; Err says why.
	EventLoadFailed EventKind = "load_failed"
	// EventUnloaded: the library was destroyed and its memory freed; it
	// stays registered only if a prewarm is pending.
	EventUnloaded EventKind = "unloaded"
)

// Event is one change of a library's state, for observers (the daemon's
// event stream, residency accounting).
type Event[L Library] struct {
	Kind    EventKind
	Name    string
	Path    string
	Time    time.Time
	Prewarm bool  // EventLoaded: loaded by a prewarm timer
	Err     error // EventLoadFailed
	// Lib is the library loaded (EventLoaded) or being unloaded
	// (EventUnloaded, before its Close); valid only during the call.
	Lib L
}

// Config configures a Registry.
type Config[L Library] struct {
	// Load loads a library; required.
	Load Loader[L]
	// Paths are searched, in order, for NAME.hvt when a name is acquired
	// that is not registered.
	Paths []string
	// KeepAlive, if set, decides how long unreferenced libraries stay
	// loaded. Nil means: an unpinned library is destroyed as soon as its
	// last reference is dropped (a library preloaded without a pin stays
	// until then).
	KeepAlive KeepAlive
	// Clock is the time source of keep-alive timers; nil means real time.
	Clock Clock
	// OnEvent, if set, is called for every Event, in order, with the
	// registry's lock held: it must not call the registry.
	OnEvent func(Event[L])
	// OnClose, if set, is called by Close once every library is destroyed
	// (to release what the loader holds).
	OnClose func() error
}

// Registry holds the library-function unikernels of one process, by name:
// it loads each once (Preload, or Acquire from the search path), counts the
// sessions referencing it, keeps pinned ones, and destroys the others when
// nobody references them and the keep-alive policy lets them go. It is safe
// for concurrent use.
type Registry[L Library] struct {
	cfg   Config[L]
	clock Clock

	mu     sync.Mutex // guards libs and every Entry's unexported fields
	libs   map[string]*Entry[L]
	closed bool
}

// state is where an Entry is in its life.
type state int

const (
	stateLoading  state = iota // a load is in flight; loaded closes when it ends
	stateResident              // lib is loaded
	stateAsleep                // unloaded by a prewarm decision; a timer loads it again
)

// Entry is one registered library. Name and Path never change; the rest is
// guarded by the registry's lock. Lib may be used by whoever holds a
// reference (Acquire) or a pin: it stays valid until then.
type Entry[L Library] struct {
	Name, Path string

	lib     L
	state   state
	loaded  chan struct{} // closed when the load in flight ends
	loadErr error         // of the load that last ended
	refs    int
	pinned  bool
	stop    func() bool // the keep-alive or prewarm timer, if armed
	gen     uint64      // bumped on every transition; stale timers compare it

	loadedAt time.Time
	loadTime time.Duration
	lastUsed time.Time
	loads    uint64 // times loaded
	cold     uint64 // acquisitions that found it not resident
	warm     uint64 // acquisitions that found it resident
}

// Lib returns the loaded library. Call it only while holding a reference
// or a pin.
func (e *Entry[L]) Lib() L { return e.lib }

// New returns an empty registry.
func New[L Library](cfg Config[L]) *Registry[L] {
	r := &Registry[L]{cfg: cfg, clock: cfg.Clock, libs: map[string]*Entry[L]{}}
	if r.clock == nil {
		r.clock = realClock{}
	}
	return r
}

// ValidName reports whether name can name a library: an identifier
// (letters, digits, underscores, not starting with a digit) shorter than
// uaafabi.LibNameMax bytes.
func ValidName(name string) bool {
	return uaafabi.ValidName(name) && len(name) < uaafabi.LibNameMax
}

func badName(name string) error {
	return fmt.Errorf("%w: %q (letters, digits, _, not starting with a digit; at most %d bytes)",
		ErrBadName, name, uaafabi.LibNameMax-1)
}

// Preload loads the library image at path under name and keeps it; pin
// keeps it loaded while no session references it. Preloading a name again
// with the same path only adds the pin (a different path is ErrExists). No
// reference is taken.
func (r *Registry[L]) Preload(name, path string, pin bool) (*Entry[L], error) {
	if !ValidName(name) {
		return nil, badName(name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	e, err := r.resident(name, path, false)
	if err != nil {
		return nil, err
	}
	if pin {
		e.pinned = true
		r.disarm(e)
	} else if e.refs == 0 && !e.pinned && e.stop == nil && r.cfg.KeepAlive != nil {
		r.idle(e)
	}
	return e, nil
}

// Acquire takes a reference to library name for a session, loading it from
// the search path (NAME.hvt) if it is not registered, or again if a
// keep-alive policy unloaded it. warm reports whether it was loaded when
// asked for. Release the reference with Release.
func (r *Registry[L]) Acquire(name string) (e *Entry[L], warm bool, err error) {
	if !ValidName(name) {
		return nil, false, fmt.Errorf("%w: %w", ErrNotFound, badName(name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	existing, ok := r.libs[name]
	warm = ok && existing.state == stateResident
	path := ""
	if ok {
		path = existing.Path
	} else {
		r.mu.Unlock()
		path, err = r.find(name)
		r.mu.Lock()
		if err != nil {
			return nil, false, err
		}
	}
	if e, err = r.resident(name, path, true); err != nil {
		return nil, false, err
	}
	r.disarm(e)
	e.refs++
	now := r.clock.Now()
	e.lastUsed = now
	if warm {
		e.warm++
	} else {
		e.cold++
	}
	if e.refs == 1 && r.cfg.KeepAlive != nil {
		r.cfg.KeepAlive.Used(name, now)
	}
	return e, warm, nil
}

// resident returns name's entry, loaded, registering it with path (or, when
// anyPath, with whatever path it has) and loading it if needed. It is called
// and returns with r.mu held, and drops it while a load runs.
func (r *Registry[L]) resident(name, path string, anyPath bool) (*Entry[L], error) {
	for {
		if r.closed {
			return nil, ErrClosed
		}
		e, ok := r.libs[name]
		if !ok {
			e = &Entry[L]{Name: name, Path: path, state: stateAsleep}
			r.libs[name] = e
		}
		if !anyPath && e.Path != path {
			return nil, fmt.Errorf("%w: %s is %s, not %s", ErrExists, name, e.Path, path)
		}
		switch e.state {
		case stateResident:
			return e, nil
		case stateLoading:
			ch := e.loaded
			r.mu.Unlock()
			<-ch
			r.mu.Lock()
			if r.libs[name] != e {
				if e.loadErr != nil {
					return nil, e.loadErr
				}
				continue // unloaded meanwhile: look again
			}
		case stateAsleep:
			r.load(e, false)
			if e.state != stateResident {
				return nil, e.loadErr
			}
		}
	}
}

// load loads e (asleep) on the calling goroutine, dropping r.mu meanwhile.
// On failure e leaves the registry.
func (r *Registry[L]) load(e *Entry[L], prewarm bool) {
	r.disarm(e)
	e.state, e.loaded, e.loadErr = stateLoading, make(chan struct{}), nil
	done := e.loaded
	r.mu.Unlock()
	start := time.Now()
	lib, err := r.cfg.Load(e.Name, e.Path)
	took := time.Since(start)
	r.mu.Lock()
	defer close(done)
	if r.closed && err == nil {
		lib.Close()
		err = ErrClosed
	}
	if err != nil {
		e.loadErr = err
		if r.libs[e.Name] == e {
			delete(r.libs, e.Name)
		}
		r.emit(Event[L]{Kind: EventLoadFailed, Name: e.Name, Path: e.Path, Err: err, Prewarm: prewarm})
		return
	}
	e.lib, e.state = lib, stateResident
	e.loadedAt, e.loadTime = r.clock.Now(), took
	e.loads++
	r.emit(Event[L]{Kind: EventLoaded, Name: e.Name, Path: e.Path, Prewarm: prewarm, Lib: lib})
}

// find looks for NAME.hvt on the search path.
func (r *Registry[L]) find(name string) (string, error) {
	for _, dir := range r.cfg.Paths {
		p := filepath.Join(dir, name+".hvt")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	where := "no --lib-path or UAAF_LIB_PATH given"
	if len(r.cfg.Paths) > 0 {
		where = "searched " + strings.Join(r.cfg.Paths, ":")
	}
	return "", fmt.Errorf("%w: %s (no --lib %s=PATH; %s for %s.hvt)", ErrNotFound, name, name, where, name)
}

// Release drops a reference taken by Acquire. The last reference to an
// unpinned library hands it to the keep-alive policy (or destroys it, when
// there is none).
func (r *Registry[L]) Release(e *Entry[L]) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.refs <= 0 {
		return fmt.Errorf("%w: %s", ErrReleased, e.Name)
	}
	e.refs--
	if e.refs == 0 && !e.pinned && !r.closed {
		r.idle(e)
	}
	return nil
}

// idle applies the keep-alive policy to e, resident and just unreferenced.
func (r *Registry[L]) idle(e *Entry[L]) {
	if r.cfg.KeepAlive == nil {
		r.destroy(e)
		return
	}
	prewarm, keep := r.cfg.KeepAlive.Idle(e.Name, r.clock.Now())
	switch {
	case prewarm > 0:
		r.unload(e)
		r.arm(e, prewarm, func() {
			if e.state == stateAsleep {
				r.load(e, true)
				if e.state == stateResident && e.refs == 0 && !e.pinned {
					r.keep(e, keep)
				}
			}
		})
	default:
		r.keep(e, keep)
	}
}

// keep keeps e loaded for d (forever if d < 0), then destroys it unless it
// was used meanwhile.
func (r *Registry[L]) keep(e *Entry[L], d time.Duration) {
	switch {
	case d < 0:
	case d == 0:
		r.destroy(e)
	default:
		r.arm(e, d, func() {
			if e.state == stateResident && e.refs == 0 && !e.pinned {
				r.destroy(e)
			}
		})
	}
}

// arm runs f after d with r.mu held, unless e changed state meanwhile.
func (r *Registry[L]) arm(e *Entry[L], d time.Duration, f func()) {
	r.disarm(e)
	gen := e.gen
	e.stop = r.clock.AfterFunc(d, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if e.gen != gen || r.closed || r.libs[e.Name] != e {
			return
		}
		e.stop = nil
		f()
	})
}

// disarm cancels e's timer, and makes a timer already firing a no-op.
func (r *Registry[L]) disarm(e *Entry[L]) {
	e.gen++
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
}

// unload destroys e's library, leaving e in the map.
func (r *Registry[L]) unload(e *Entry[L]) {
	if e.state != stateResident {
		return
	}
	r.disarm(e)
	r.emit(Event[L]{Kind: EventUnloaded, Name: e.Name, Path: e.Path, Lib: e.lib})
	e.lib.Close()
	var zero L
	e.lib = zero
	e.state = stateAsleep
}

// destroy unloads e and removes it from the registry.
func (r *Registry[L]) destroy(e *Entry[L]) {
	r.unload(e)
	r.disarm(e)
	if r.libs[e.Name] == e {
		delete(r.libs, e.Name)
	}
}

func (r *Registry[L]) emit(ev Event[L]) {
	if r.cfg.OnEvent != nil {
		ev.Time = r.clock.Now()
		r.cfg.OnEvent(ev)
	}
}

// Pin keeps name loaded while no session references it.
func (r *Registry[L]) Pin(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.libs[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	e.pinned = true
	if e.state == stateAsleep {
		r.load(e, false)
		return e.loadErr
	}
	r.disarm(e)
	return nil
}

// Unpin clears name's pin; an unreferenced library then goes to the
// keep-alive policy (or is destroyed at once, when there is none).
func (r *Registry[L]) Unpin(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.libs[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	e.pinned = false
	if e.refs == 0 && e.state == stateResident {
		r.idle(e)
	}
	return nil
}

// Unload destroys name now, pinned or kept alive; a library sessions
// reference is ErrInUse.
func (r *Registry[L]) Unload(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.libs[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if e.refs > 0 || e.state == stateLoading {
		return fmt.Errorf("%w: %s has %d references", ErrInUse, name, e.refs)
	}
	r.destroy(e)
	return nil
}

// Info describes one registered library.
type Info[L Library] struct {
	Name     string
	Path     string
	Refs     int
	Pinned   bool
	Resident bool          // loaded now (false while loading or asleep)
	LoadedAt time.Time     // when it was last loaded
	LoadTime time.Duration // how long that load took
	LastUsed time.Time     // the last Acquire
	Loads    uint64        // how often it was loaded
	Cold     uint64        // acquisitions that had to wait for a load
	Warm     uint64        // acquisitions that found it loaded
	// Lib is the library while Resident: valid only until the caller's
	// next call to the registry unless the caller holds a reference.
	Lib L
}

func (e *Entry[L]) info() Info[L] {
	return Info[L]{Name: e.Name, Path: e.Path, Refs: e.refs, Pinned: e.pinned, Resident: e.state == stateResident,
		LoadedAt: e.loadedAt, LoadTime: e.loadTime, LastUsed: e.lastUsed, Loads: e.loads, Cold: e.cold, Warm: e.warm, Lib: e.lib}
}

// List returns the registered libraries, sorted by name.
func (r *Registry[L]) List() []Info[L] {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Info[L], 0, len(r.libs))
	for _, e := range r.libs {
		out = append(out, e.info())
	}
	slices.SortFunc(out, func(a, b Info[L]) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Lookup returns the registered library name, without taking a reference.
func (r *Registry[L]) Lookup(name string) (Info[L], bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.libs[name]
	if !ok {
		return Info[L]{}, false
	}
	return e.info(), true
}

// Refs returns e's reference count now.
func (r *Registry[L]) Refs(e *Entry[L]) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return e.refs
}

// Close destroys every library, referenced or not (sessions must be done),
// stops every timer, and makes later calls fail with ErrClosed. A load in
// flight is destroyed when it ends.
func (r *Registry[L]) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	for _, e := range r.libs {
		r.destroy(e)
	}
	if r.cfg.OnClose != nil {
		return r.cfg.OnClose()
	}
	return nil
}
