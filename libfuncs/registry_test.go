package libfuncs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLib is a Library that records its Close.
type fakeLib struct {
	name   string
	closed atomic.Int32
}

func (l *fakeLib) Close() error {
	if l.closed.Add(1) > 1 {
		panic("library closed twice: " + l.name)
	}
	return nil
}

// loader is a Loader of fakeLibs that counts loads, checks that no two
// loads of one name overlap, and fails for names in fail.
type loader struct {
	mu       sync.Mutex
	loads    map[string]int
	inFlight map[string]int
	libs     []*fakeLib
	fail     map[string]error
	overlap  atomic.Bool
	delay    time.Duration
}

func newLoader() *loader {
	return &loader{loads: map[string]int{}, inFlight: map[string]int{}, fail: map[string]error{}}
}

func (ld *loader) load(name, path string) (*fakeLib, error) {
	ld.mu.Lock()
	ld.inFlight[name]++
	if ld.inFlight[name] > 1 {
		ld.overlap.Store(true)
	}
	err := ld.fail[name]
	ld.mu.Unlock()
	time.Sleep(ld.delay)
	ld.mu.Lock()
	defer ld.mu.Unlock()
	ld.inFlight[name]--
	if err != nil {
		return nil, err
	}
	ld.loads[name]++
	l := &fakeLib{name: name}
	ld.libs = append(ld.libs, l)
	return l, nil
}

// closedAll reports whether every library loaded was closed exactly once.
func (ld *loader) closedAll() bool {
	ld.mu.Lock()
	defer ld.mu.Unlock()
	for _, l := range ld.libs {
		if l.closed.Load() != 1 {
			return false
		}
	}
	return true
}

// fakeClock is a Clock whose time moves only with Advance, which runs the
// timers that come due, in order, on the caller's goroutine.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	end := c.now.Add(d)
	c.mu.Unlock()
	for {
		c.mu.Lock()
		var next *fakeTimer
		for _, t := range c.timers {
			if !t.stopped && !t.at.After(end) && (next == nil || t.at.Before(next.at)) {
				next = t
			}
		}
		if next == nil {
			c.now = end
			c.mu.Unlock()
			return
		}
		next.stopped = true
		c.now = next.at
		c.mu.Unlock()
		next.f()
	}
}

// ttlPolicy keeps every library for keep after its last use, with an
// optional prewarm, and records what it was told.
type ttlPolicy struct {
	prewarm, keep time.Duration
	mu            sync.Mutex
	calls         []string
}

func (p *ttlPolicy) Used(lib string, _ time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, "used "+lib)
}

func (p *ttlPolicy) Idle(lib string, _ time.Time) (time.Duration, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, "idle "+lib)
	return p.prewarm, p.keep
}

// events records registry events as "kind name" strings.
type events struct {
	mu  sync.Mutex
	evs []string
}

func (e *events) add(ev Event[*fakeLib]) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := string(ev.Kind) + " " + ev.Name
	if ev.Prewarm {
		s += " (prewarm)"
	}
	e.evs = append(e.evs, s)
}

func (e *events) take() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.evs
	e.evs = nil
	return out
}

// libDir makes a search-path directory holding NAME.hvt for each name.
func libDir(t *testing.T, names ...string) string {
	t.Helper()
	dir := t.TempDir()
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n+".hvt"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func newTestRegistry(t *testing.T, ld *loader, cfg Config[*fakeLib]) (*Registry[*fakeLib], *events) {
	t.Helper()
	ev := &events{}
	cfg.Load = ld.load
	cfg.OnEvent = ev.add
	r := New(cfg)
	t.Cleanup(func() { r.Close() })
	return r, ev
}

func TestRefcounts(t *testing.T) {
	ld := newLoader()
	r, ev := newTestRegistry(t, ld, Config[*fakeLib]{Paths: []string{libDir(t, "a")}})
	e1, warm1, err := r.Acquire("a")
	if err != nil || warm1 {
		t.Fatalf("first Acquire = %v, warm %v; want a cold load", err, warm1)
	}
	e2, warm2, err := r.Acquire("a")
	if err != nil || !warm2 || e2 != e1 {
		t.Fatalf("second Acquire = %v, warm %v, same entry %v", err, warm2, e2 == e1)
	}
	if in, _ := r.Lookup("a"); in.Refs != 2 || !in.Resident || in.Cold != 1 || in.Warm != 1 || in.Loads != 1 {
		t.Errorf("info %+v", in)
	}
	if err := r.Release(e1); err != nil {
		t.Fatal(err)
	}
	if in, ok := r.Lookup("a"); !ok || in.Refs != 1 {
		t.Errorf("after one release: %+v %v", in, ok)
	}
	r.Release(e2)
	if _, ok := r.Lookup("a"); ok {
		t.Error("unpinned library registered after its last release")
	}
	if !ld.closedAll() {
		t.Error("library not closed")
	}
	if err := r.Release(e2); !errors.Is(err, ErrReleased) {
		t.Errorf("extra Release = %v, want ErrReleased", err)
	}
	if got, want := ev.take(), []string{"loaded a", "unloaded a"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

func TestPins(t *testing.T) {
	ld := newLoader()
	r, _ := newTestRegistry(t, ld, Config[*fakeLib]{})
	e, err := r.Preload("p", "/lib/p.hvt", true)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := r.Preload("p", "/lib/p.hvt", false); err != nil || again != e {
		t.Errorf("preload again: %v (same %v)", err, again == e)
	}
	if in, _ := r.Lookup("p"); !in.Pinned {
		t.Error("second unpinned Preload dropped the pin")
	}
	if _, err := r.Preload("p", "/lib/other.hvt", false); !errors.Is(err, ErrExists) {
		t.Errorf("same name, other path: %v", err)
	}
	a, _, err := r.Acquire("p")
	if err != nil {
		t.Fatal(err)
	}
	r.Release(a)
	if in, ok := r.Lookup("p"); !ok || in.Refs != 0 || !in.Resident {
		t.Fatalf("pinned library after release: %+v %v", in, ok)
	}
	if err := r.Unpin("p"); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Lookup("p"); ok {
		t.Error("unpinned unreferenced library not destroyed")
	}
	if err := r.Unpin("p"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Unpin of an unknown library: %v", err)
	}
	if ld.loads["p"] != 1 || !ld.closedAll() {
		t.Errorf("loads %v, all closed %v", ld.loads, ld.closedAll())
	}
}

func TestUnload(t *testing.T) {
	r, _ := newTestRegistry(t, newLoader(), Config[*fakeLib]{})
	if _, err := r.Preload("u", "u.hvt", true); err != nil {
		t.Fatal(err)
	}
	e, _, _ := r.Acquire("u")
	if err := r.Unload("u"); !errors.Is(err, ErrInUse) {
		t.Errorf("Unload of a referenced library: %v", err)
	}
	r.Release(e)
	if err := r.Unload("u"); err != nil {
		t.Errorf("Unload of a pinned, unreferenced library: %v", err)
	}
	if _, ok := r.Lookup("u"); ok {
		t.Error("unloaded library still registered")
	}
	if err := r.Unload("u"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Unload: %v", err)
	}
}

func TestErrors(t *testing.T) {
	ld := newLoader()
	boom := errors.New("boom")
	ld.fail["bad"] = boom
	dir := libDir(t, "bad")
	r, ev := newTestRegistry(t, ld, Config[*fakeLib]{Paths: []string{dir, "/nonexistent"}})
	tests := []struct {
		name string
		do   func() error
		want error
		msg  string
	}{
		{"invalid name", func() error { _, err := r.Preload("bad name", "x", false); return err }, ErrBadName, `"bad name"`},
		{"name too long", func() error { _, err := r.Preload(strings.Repeat("a", 32), "x", false); return err }, ErrBadName, "at most 31 bytes"},
		{"acquire invalid name", func() error { _, _, err := r.Acquire("../x"); return err }, ErrNotFound, `"../x"`},
		{"not on the path", func() error { _, _, err := r.Acquire("nosuch"); return err }, ErrNotFound,
			"nosuch (no --lib nosuch=PATH; searched " + dir + ":/nonexistent for nosuch.hvt)"},
		{"load fails", func() error { _, _, err := r.Acquire("bad"); return err }, boom, "boom"},
		{"preload fails", func() error { _, err := r.Preload("bad", "/x/bad.hvt", true); return err }, boom, "boom"},
	}
	for _, tt := range tests {
		err := tt.do()
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %v containing %q", tt.name, err, tt.want, tt.msg)
		}
	}
	if _, ok := r.Lookup("bad"); ok {
		t.Error("a library whose load failed is registered")
	}
	if got := ev.take(); !slices.Equal(got, []string{"load_failed bad", "load_failed bad"}) {
		t.Errorf("events %q", got)
	}
	empty, _ := newTestRegistry(t, ld, Config[*fakeLib]{})
	if _, _, err := empty.Acquire("x"); err == nil || !strings.Contains(err.Error(), "no --lib-path or UAAF_LIB_PATH given") {
		t.Errorf("no search path: %v", err)
	}
}

// TestConcurrent hammers one unpinned library from many goroutines (run it
// with -race): loads of it never overlap, it ends destroyed, every library
// loaded is closed exactly once, and the count never goes negative.
func TestConcurrent(t *testing.T) {
	ld := newLoader()
	ld.delay = 50 * time.Microsecond
	r, _ := newTestRegistry(t, ld, Config[*fakeLib]{Paths: []string{libDir(t, "c")}})
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				e, _, err := r.Acquire("c")
				if err != nil {
					errs <- err
					return
				}
				if e.Lib().closed.Load() != 0 {
					errs <- errors.New("acquired a closed library")
				}
				if in, ok := r.Lookup("c"); !ok || in.Refs < 1 {
					errs <- fmt.Errorf("acquired library registered %v with refs %d", ok, in.Refs)
				}
				if err := r.Release(e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, ok := r.Lookup("c"); ok {
		t.Error("unpinned library still registered after every release")
	}
	if ld.overlap.Load() {
		t.Error("two loads of one library ran at once")
	}
	if !ld.closedAll() {
		t.Error("a loaded library was not closed exactly once")
	}
}

// TestKeepAlive: with a TTL policy a library outlives its last reference
// for the TTL, a use within it is warm, and a use resets the clock.
func TestKeepAlive(t *testing.T) {
	ld := newLoader()
	clock := newFakeClock()
	pol := &ttlPolicy{keep: 10 * time.Minute}
	r, ev := newTestRegistry(t, ld, Config[*fakeLib]{Paths: []string{libDir(t, "k")}, KeepAlive: pol, Clock: clock})
	e, _, _ := r.Acquire("k")
	r.Release(e)
	clock.Advance(9 * time.Minute)
	e, warm, err := r.Acquire("k")
	if err != nil || !warm {
		t.Fatalf("use within the TTL: %v, warm %v", err, warm)
	}
	r.Release(e)
	clock.Advance(9 * time.Minute) // 18 min after the first release, 9 after the second
	if in, ok := r.Lookup("k"); !ok || !in.Resident {
		t.Fatal("TTL not restarted by the second use")
	}
	clock.Advance(time.Minute)
	if _, ok := r.Lookup("k"); ok {
		t.Fatal("library registered after its TTL")
	}
	if got, want := ev.take(), []string{"loaded k", "unloaded k"}; !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if got, want := pol.calls, []string{"used k", "idle k", "used k", "idle k"}; !slices.Equal(got, want) {
		t.Errorf("policy saw %q, want %q", got, want)
	}
	// An unpinned preload goes to the policy too; forever means forever.
	pol.keep = -1
	if _, err := r.Preload("f", "/f.hvt", false); err != nil {
		t.Fatal(err)
	}
	clock.Advance(1000 * time.Hour)
	if in, ok := r.Lookup("f"); !ok || !in.Resident {
		t.Error("library kept forever was unloaded")
	}
}

// TestPrewarm: a policy with a prewarm window unloads a library at once,
// loads it again when the window opens, and keeps it for the keep-alive
// window after that; a use before the window is a cold load.
func TestPrewarm(t *testing.T) {
	ld := newLoader()
	clock := newFakeClock()
	pol := &ttlPolicy{prewarm: 5 * time.Minute, keep: 2 * time.Minute}
	r, ev := newTestRegistry(t, ld, Config[*fakeLib]{Paths: []string{libDir(t, "w")}, KeepAlive: pol, Clock: clock})
	e, _, _ := r.Acquire("w")
	r.Release(e)
	if in, ok := r.Lookup("w"); !ok || in.Resident {
		t.Fatalf("after release with a prewarm window: %+v %v; want registered, not loaded", in, ok)
	}
	clock.Advance(5 * time.Minute)
	if in, _ := r.Lookup("w"); !in.Resident || in.Loads != 2 {
		t.Fatalf("prewarm did not load it: %+v", in)
	}
	e, warm, _ := r.Acquire("w")
	if !warm {
		t.Error("use after the prewarm was cold")
	}
	r.Release(e) // unloaded again, prewarm at +5 min
	clock.Advance(5*time.Minute + 2*time.Minute)
	if _, ok := r.Lookup("w"); ok {
		t.Error("library registered after prewarm + keep-alive without use")
	}
	// A use before the window opens: cold.
	e, _, _ = r.Acquire("w")
	r.Release(e)
	clock.Advance(time.Minute)
	e, warm, _ = r.Acquire("w")
	if warm {
		t.Error("use before the prewarm window was warm")
	}
	r.Release(e)
	want := []string{"loaded w", "unloaded w", "loaded w (prewarm)", "unloaded w", "loaded w (prewarm)", "unloaded w",
		"loaded w", "unloaded w", "loaded w", "unloaded w"}
	if got := ev.take(); !slices.Equal(got, want) {
		t.Errorf("events\n got  %q\n want %q", got, want)
	}
}

// TestCloseWhileLoading: a load still in flight when the registry closes
// is destroyed when it ends, and its waiter gets ErrClosed.
func TestCloseWhileLoading(t *testing.T) {
	ld := newLoader()
	ld.delay = 50 * time.Millisecond
	r := New(Config[*fakeLib]{Load: ld.load, Paths: []string{libDir(t, "s")}})
	done := make(chan error)
	go func() {
		_, _, err := r.Acquire("s")
		done <- err
	}()
	for {
		ld.mu.Lock()
		n := ld.inFlight["s"]
		ld.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	r.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire across Close = %v, want ErrClosed", err)
	}
	if !ld.closedAll() {
		t.Error("library loaded across Close was not closed")
	}
	if _, _, err := r.Acquire("s"); !errors.Is(err, ErrClosed) {
		t.Errorf("Acquire after Close = %v", err)
	}
}
