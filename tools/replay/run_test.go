package replay

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/tools/trace"
)

// fakeClock is a Clock whose time moves only when the replayer sleeps.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) SleepUntil(ctx context.Context, t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
	return ctx.Err()
}

// fakeDaemon answers invocations from a script: a library is cold at its
// first use and warm after, every tenth invocation is rejected (429); or
// as invoke says.
type fakeDaemon struct {
	clock   *fakeClock
	imports []string
	mu      sync.Mutex
	reqs    []api.Invoke
	sentAt  []time.Time
	loaded  map[string]bool
	invoke  func(n int, req api.Invoke) (api.InvokeResult, error) // optional override
	images  map[string]string
	res     api.Residency
}

func (d *fakeDaemon) AddImage(_ context.Context, req api.AddImage) (api.Image, error) {
	if _, ok := d.images[req.Name]; ok {
		return api.Image{}, &client.APIError{Status: http.StatusConflict, Message: "image exists"}
	}
	return api.Image{Name: req.Name, Path: req.Path, Imports: d.imports, MemMiB: req.MemMiB}, nil
}

func (d *fakeDaemon) Image(_ context.Context, name string) (api.Image, error) {
	return api.Image{Name: name, Path: d.images[name], Imports: d.imports}, nil
}

func (d *fakeDaemon) Residency(context.Context) (api.Residency, error) { return d.res, nil }

func (d *fakeDaemon) Invoke(_ context.Context, req api.Invoke) (api.InvokeResult, error) {
	d.mu.Lock()
	n := len(d.reqs)
	d.reqs = append(d.reqs, req)
	d.sentAt = append(d.sentAt, d.clock.Now())
	if d.invoke != nil {
		d.mu.Unlock()
		return d.invoke(n, req)
	}
	defer d.mu.Unlock()
	if n%10 == 9 {
		return api.InvokeResult{}, &client.APIError{Status: http.StatusTooManyRequests, Message: "at capacity"}
	}
	status := 0
	res := api.InvokeResult{Session: api.Session{State: api.StateExited, ExitStatus: &status,
		Timings: api.Timings{QueuedNs: int64(n) * 1e6, StartNs: 2e6}}}
	for _, imp := range d.imports {
		lib := imp
		if a, ok := req.Libraries[imp]; ok {
			lib = a
		}
		res.Views = append(res.Views, api.View{Library: lib, Warm: d.loaded[lib]})
		d.loaded[lib] = true
	}
	return res, nil
}

// planOf loads a small trace for the tests.
func planOf(t *testing.T) *Plan {
	t.Helper()
	p, err := Load(Options{TraceDir: genTrace(t, 20, "1-4"), Window: trace.Window{From: 1, To: 4}, Speedup: 4, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Invocations) < 20 {
		t.Fatalf("only %d invocations", len(p.Invocations))
	}
	return p
}

func newFake(p *Plan) (*fakeDaemon, *fakeClock) {
	clk := &fakeClock{now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	return &fakeDaemon{clock: clk, imports: []string{"base64", "sha256"}, loaded: map[string]bool{}, images: map[string]string{}}, clk
}

// TestReplay: invocations go out at their due times, in order, with their
// run time, deadline and the app's aliases of the libraries the image
// imports; results are recorded (warm or cold, rejected, missed) and the
// window is mapped onto the daemon's policy clock.
func TestReplay(t *testing.T) {
	p := planOf(t)
	d, clk := newFake(p)
	origin := time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC)
	d.res = api.Residency{Now: origin, ClockScale: 4}
	start := clk.Now()
	var progress []int
	// One in flight at a time: the fake sees the requests in due order.
	run, err := Replay(context.Background(), d, p, "ttl=1m", Config{Clock: clk, Slack: 50 * time.Millisecond, MaxInFlight: 1,
		Images: map[string]string{DefaultImage: "/x/replay.hvt"}, Progress: func(sent, total int) { progress = append(progress, sent) }})
	if err != nil {
		t.Fatal(err)
	}
	if len(d.reqs) != len(p.Invocations) || len(progress) != len(p.Invocations) || progress[len(progress)-1] != len(p.Invocations) {
		t.Fatalf("%d requests, %d progress calls, for %d invocations", len(d.reqs), len(progress), len(p.Invocations))
	}
	if !run.From.Equal(origin) || !run.To.Equal(origin.Add(p.Duration())) || run.ClockScale != 4 {
		t.Errorf("window %v – %v (scale %v), want %v + %v", run.From, run.To, run.ClockScale, origin, p.Duration())
	}
	if !run.End.Equal(start.Add(p.WallDuration())) {
		t.Errorf("ended at %v, want the window's end %v", run.End.Sub(start), p.WallDuration())
	}
	// Requests are made in due order, each when it is due.
	for i := range d.reqs {
		r := &run.Records[i]
		inv := &p.Invocations[i]
		if r.Inv != inv || r.Lag != 0 || !r.Sent.Equal(start.Add(inv.Due)) {
			t.Fatalf("record %d: inv %v, lag %v, sent at %v, due %v", i, r.Inv.Seq, r.Lag, r.Sent.Sub(start), inv.Due)
		}
	}
	for i, req := range d.reqs {
		inv := &p.Invocations[i]
		if !d.sentAt[i].Equal(start.Add(inv.Due)) && d.sentAt[i].Before(start.Add(inv.Due)) {
			t.Fatalf("request %d made at %v, before its due time %v", i, d.sentAt[i].Sub(start), inv.Due)
		}
		wantMs := int64(math.Ceil(float64(inv.Run+50*time.Millisecond) / 1e6))
		if req.Image != DefaultImage || !slices.Equal(req.Args, []string{strconv.FormatInt(inv.Run.Microseconds(), 10)}) || req.DeadlineMs != wantMs {
			t.Fatalf("request %d: %+v, want run %v, deadline %d ms", i, req, inv.Run, wantMs)
		}
		for lib, a := range req.Libraries {
			if !slices.Contains(d.imports, lib) || inv.Alias[lib] != a {
				t.Fatalf("request %d aliases %v: the image imports %v, the app's aliases are %v", i, req.Libraries, d.imports, inv.Alias)
			}
		}
		for _, lib := range d.imports {
			if a, ok := inv.Alias[lib]; ok && req.Libraries[lib] != a {
				t.Fatalf("request %d lacks the alias of %s: %v", i, lib, req.Libraries)
			}
		}
	}
	// Results: the fake's first use of a library is cold; every tenth
	// invocation is rejected.
	seen := map[string]bool{}
	for i, r := range run.Records {
		if i%10 == 9 {
			if !r.Rejected || r.State != "" || !r.Missed || !strings.Contains(r.Err, "busy") {
				t.Fatalf("record %d: %+v, want rejected", i, r)
			}
			continue
		}
		wantCold := false
		for _, l := range r.Libraries {
			wantCold = wantCold || !seen[l.Library]
			if l.Warm == !seen[l.Library] {
				t.Fatalf("record %d: %s warm %v", i, l.Library, l.Warm)
			}
			seen[l.Library] = true
		}
		if !r.OK() || r.Cold() != wantCold || r.Missed != (r.E2E > r.Inv.Run+50*time.Millisecond) || len(r.Libraries) != 2 {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
}

// TestReplayAbort: a daemon that goes away, or refuses an invocation as
// malformed, aborts the replay with ErrAborted; an image the daemon holds
// from another file fails the set-up.
func TestReplayAbort(t *testing.T) {
	p := planOf(t)
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"gone", fmt.Errorf("%w: nothing listens", client.ErrNoDaemon)},
		{"malformed", &client.APIError{Status: http.StatusBadRequest, Message: "unresolved import: library a1_sha256 not found"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, clk := newFake(p)
			d.invoke = func(n int, _ api.Invoke) (api.InvokeResult, error) {
				if n == 3 {
					return api.InvokeResult{}, tc.err
				}
				return api.InvokeResult{Session: api.Session{State: api.StateExited}}, nil
			}
			_, err := Replay(context.Background(), d, p, "pinned", Config{Clock: clk, MaxInFlight: 1, Images: map[string]string{DefaultImage: "/x"}})
			if !errors.Is(err, ErrAborted) || !strings.Contains(err.Error(), "invocation 3") || !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want ErrAborted at invocation 3 wrapping %v", err, tc.err)
			}
			if len(d.reqs) >= len(p.Invocations) {
				t.Errorf("%d of %d invocations sent after the abort", len(d.reqs), len(p.Invocations))
			}
		})
	}
	d, clk := newFake(p)
	d.images[DefaultImage] = "/other/replay.hvt"
	if _, err := Replay(context.Background(), d, p, "pinned", Config{Clock: clk, Images: map[string]string{DefaultImage: "/x/replay.hvt"}}); !errors.Is(err, ErrSetup) ||
		!strings.Contains(err.Error(), "from /other/replay.hvt, not /x/replay.hvt") || len(d.reqs) != 0 {
		t.Errorf("image clash: %v (%d invocations sent)", err, len(d.reqs))
	}
	d, clk = newFake(p)
	if _, err := Replay(context.Background(), d, p, "pinned", Config{Clock: clk}); !errors.Is(err, ErrSetup) || len(d.reqs) != 0 {
		t.Errorf("no image file: %v", err)
	}
	d, clk = newFake(p)
	ctx, cancel := context.WithCancel(context.Background())
	d.invoke = func(n int, _ api.Invoke) (api.InvokeResult, error) {
		if n == 2 {
			cancel()
		}
		return api.InvokeResult{Session: api.Session{State: api.StateExited}}, nil
	}
	if _, err := Replay(ctx, d, p, "pinned", Config{Clock: clk, Images: map[string]string{DefaultImage: "/x"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// TestReplayFallsBehind: with one invocation in flight at a time and
// slow responses, invocations go out late; the summary says so.
func TestReplayFallsBehind(t *testing.T) {
	p := planOf(t)
	d, clk := newFake(p)
	d.invoke = func(n int, _ api.Invoke) (api.InvokeResult, error) {
		clk.mu.Lock()
		clk.now = clk.now.Add(time.Second) // each takes a second
		clk.mu.Unlock()
		status := 0
		return api.InvokeResult{Session: api.Session{State: api.StateExited, ExitStatus: &status}}, nil
	}
	run, err := Replay(context.Background(), d, p, "pinned", Config{Clock: clk, MaxInFlight: 1, Images: map[string]string{DefaultImage: "/x"}})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := Summarize(p, run)
	if !s.FellBehind || s.Lag.Max < 1000 || s.AchievedRate >= s.RequestedRate || s.Completed != len(p.Invocations) {
		t.Errorf("summary %+v, want fallen behind", s)
	}
}
