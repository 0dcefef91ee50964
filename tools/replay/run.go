package replay

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/tools/trace"
)

// Daemon is what a replay needs of uaaf's daemon. *client.Client has it;
// implementations must be safe for concurrent use.
type Daemon interface {
	AddImage(ctx context.Context, req api.AddImage) (api.Image, error)
	Image(ctx context.Context, name string) (api.Image, error)
	Invoke(ctx context.Context, req api.Invoke) (api.InvokeResult, error)
	Residency(ctx context.Context) (api.Residency, error)
}

// Clock is the replayer's real time; tests give a fake one.
type Clock interface {
	Now() time.Time
	// SleepUntil returns once t has come (at once if it has), or with
	// ctx's error when ctx ends first.
	SleepUntil(ctx context.Context, t time.Time) error
}

// RealClock is the time package's clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// SleepUntil sleeps until t or until ctx ends.
func (RealClock) SleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// DefaultMaxInFlight bounds the invocations a replay has outstanding at
// once, under the daemon's default admission limits (1024 sessions, 1024
// queued).
const DefaultMaxInFlight = 1000

// Config shapes the replay of one policy.
type Config struct {
	// Clock is the replayer's time; nil means RealClock.
	Clock Clock
	// Slack sets each invocation's deadline: its run time plus Slack after
	// it was sent (real time). It is sent to the daemon (deadline_ms, used
	// by the edf queue) and a result later than it is a missed deadline.
	Slack time.Duration
	// MaxInFlight bounds the outstanding invocations; 0 means
	// DefaultMaxInFlight. A replay that reaches it waits, and falls behind.
	MaxInFlight int
	// Images maps each image of the plan to its file; the replay
	// registers them with the daemon first.
	Images map[string]string
	// ImageMemMiB is the guest memory the images are registered with; 0
	// means 8.
	ImageMemMiB int
	// Progress, if set, is called after each invocation is sent, from the
	// replay's dispatching goroutine.
	Progress func(sent, total int)
}

// Record is one replayed invocation and what came of it.
type Record struct {
	Inv *Invocation
	// Sent is when it was sent; Lag is Sent − its due time.
	Sent time.Time
	Lag  time.Duration
	// E2E is from Sent to the response.
	E2E time.Duration
	// State is the session's final state; "" if the request failed.
	State string
	// ExitStatus is the guest's exit status when State is exited, else -1.
	ExitStatus int
	Timings    api.Timings
	// Libraries are the libraries it bound, each warm or cold.
	Libraries []api.LibraryUse
	// Rejected: the daemon answered 429 (over its admission limits).
	Rejected bool
	// Err is why the request failed; "" if it did not.
	Err string
	// Missed: no successful result within the invocation's run time plus
	// Config.Slack.
	Missed bool
}

// OK reports whether the invocation ran and exited 0.
func (r *Record) OK() bool { return r.State == api.StateExited && r.ExitStatus == 0 }

// Cold reports whether some library it bound had to be loaded.
func (r *Record) Cold() bool {
	for _, l := range r.Libraries {
		if !l.Warm {
			return true
		}
	}
	return false
}

// Run is the replay of one policy.
type Run struct {
	Policy  string
	Records []Record // by Seq
	// Start is when the replay started (due times count from it);
	// LastSent when its last invocation was sent; End when the last
	// response came or the window ended, whichever was later. Real time.
	Start, LastSent, End time.Time
	// ClockScale is the daemon's policy clock rate (api.Residency).
	ClockScale float64
	// From and To bound the replayed window on the daemon's policy clock.
	From, To time.Time
	// Residency is the daemon's residency record, read at End.
	Residency api.Residency
}

// registerImages registers cfg.Images with d (or checks that the daemon
// has them, from the same file) and returns each image's imports.
func registerImages(ctx context.Context, d Daemon, cfg Config) (map[string][]string, error) {
	mem := cfg.ImageMemMiB
	if mem == 0 {
		mem = 8
	}
	imports := map[string][]string{}
	for _, name := range slices.Sorted(maps.Keys(cfg.Images)) {
		path := cfg.Images[name]
		im, err := d.AddImage(ctx, api.AddImage{Name: name, Path: path, MemMiB: mem})
		if errors.Is(err, client.ErrConflict) {
			if im, err = d.Image(ctx, name); err == nil && im.Path != path {
				err = fmt.Errorf("the daemon has an image %s from %s, not %s", name, im.Path, path)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%w: image %s: %w", ErrSetup, name, err)
		}
		imports[name] = im.Imports
	}
	return imports, nil
}

// aliasFor returns inv's aliases restricted to the libraries its image
// imports (the daemon refuses others), memoised per app and image.
type aliasCache struct {
	imports map[string][]string
	m       map[aliasKey]map[string]string
}

type aliasKey struct {
	app   trace.AppKey
	image string
}

func (c *aliasCache) get(inv *Invocation) map[string]string {
	if inv.Alias == nil {
		return nil
	}
	k := aliasKey{inv.Func.Key.AppKey(), inv.Image}
	if a, ok := c.m[k]; ok {
		return a
	}
	var a map[string]string
	for lib, alias := range inv.Alias {
		if slices.Contains(c.imports[inv.Image], lib) {
			if a == nil {
				a = map[string]string{}
			}
			a[lib] = alias
		}
	}
	c.m[k] = a
	return a
}

// Replay registers the plan's images with d, then sends each invocation at
// its due time without waiting for earlier ones, records the results, and
// after the window's end (and the last response) reads the daemon's
// residency. It returns an error wrapping ErrAborted if the daemon goes
// away or refuses an invocation as malformed (a setup error: an alias it
// cannot find, say), and ctx's error if ctx ends.
func Replay(ctx context.Context, d Daemon, p *Plan, policy string, cfg Config) (*Run, error) {
	clk := cfg.Clock
	if clk == nil {
		clk = RealClock{}
	}
	inflight := cfg.MaxInFlight
	if inflight <= 0 {
		inflight = DefaultMaxInFlight
	}
	imports, err := registerImages(ctx, d, cfg)
	if err != nil {
		return nil, err
	}
	for _, im := range p.Images {
		if _, ok := imports[im]; !ok {
			return nil, fmt.Errorf("%w: image %s has no file (Config.Images)", ErrSetup, im)
		}
	}
	aliases := &aliasCache{imports: imports, m: map[aliasKey]map[string]string{}}

	res0, err := d.Residency(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	run := &Run{Policy: policy, Records: make([]Record, len(p.Invocations)), Start: clk.Now(), ClockScale: res0.ClockScale}
	run.From = res0.Now
	run.To = run.From.Add(scale(p.WallDuration(), res0.ClockScale))

	rctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	sem := make(chan struct{}, inflight)
	var wg sync.WaitGroup
	dispatched := 0
dispatch:
	for i := range p.Invocations {
		inv := &p.Invocations[i]
		rec := &run.Records[i]
		rec.Inv, rec.ExitStatus = inv, -1
		due := run.Start.Add(inv.Due)
		if err := clk.SleepUntil(rctx, due); err != nil {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-rctx.Done():
			break dispatch
		}
		rec.Sent = clk.Now()
		rec.Lag = rec.Sent.Sub(due)
		req := api.Invoke{Image: inv.Image, Args: []string{strconv.FormatInt(inv.Run.Microseconds(), 10)},
			DeadlineMs: int64(math.Ceil(float64(inv.Run+cfg.Slack) / float64(time.Millisecond))), Libraries: aliases.get(inv)}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			res, err := d.Invoke(rctx, req)
			rec.E2E = clk.Now().Sub(rec.Sent)
			rec.record(res, err, inv.Run+cfg.Slack)
			if errors.Is(err, client.ErrNoDaemon) || errors.Is(err, client.ErrInvalid) {
				abort(fmt.Errorf("%w: invocation %d (image %s): %w", ErrAborted, inv.Seq, inv.Image, err))
			}
		}()
		dispatched++
		run.LastSent = rec.Sent
		if cfg.Progress != nil {
			cfg.Progress(dispatched, len(p.Invocations))
		}
	}
	if dispatched == len(p.Invocations) {
		clk.SleepUntil(rctx, run.Start.Add(p.WallDuration()))
	}
	wg.Wait()
	if err := context.Cause(rctx); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	run.End = clk.Now()
	if run.Residency, err = d.Residency(ctx); err != nil {
		return nil, fmt.Errorf("%w: reading the residency at the end: %w", ErrAborted, err)
	}
	return run, nil
}

// record fills r from an invocation's outcome; deadline is its run time
// plus slack.
func (r *Record) record(res api.InvokeResult, err error, deadline time.Duration) {
	if err != nil {
		r.Err, r.Rejected, r.Missed = err.Error(), errors.Is(err, client.ErrBusy), true
		return
	}
	r.State, r.Timings = res.State, res.Timings
	if res.ExitStatus != nil {
		r.ExitStatus = *res.ExitStatus
	}
	if res.Error != "" {
		r.Err = res.Error
	}
	r.Libraries = make([]api.LibraryUse, len(res.Views))
	for i, v := range res.Views {
		r.Libraries[i] = api.LibraryUse{Library: v.Library, Warm: v.Warm}
	}
	r.Missed = !r.OK() || r.E2E > deadline
}
