package fig10

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/session/daemon"
	"github.com/uaaf/uaaf/tools/bench"
	"github.com/uaaf/uaaf/tools/bench/baseline"
	"github.com/uaaf/uaaf/tools/bench/libtext"
	"github.com/uaaf/uaaf/tools/bench/served"
)

// What the images print when they did their work.
var (
	// expectDemo is the demo session's report (the runc function prints
	// the same lines).
	expectDemo = baseline.FunctionExpect
	// expectHello is the trivial session: hello with its expected
	// command line.
	expectHello = baseline.Expect{Stdout: []string{"Hello, World\n", "SUCCESS\n"}}
	helloArgs   = []string{"Hello_Solo5"}
	// idleReady and pauseReady are printed by the live instances once up.
	idleReady  = "idle: ready\n"
	pauseReady = "pause: ready\n"
)

// sample is one cold start of one system, each phase from the start
// request (uaaf: the daemon accepting it; a process: just before fork).
type sample struct {
	libLoad time.Duration // the libraries made ready from disk; 0 where the system has none
	first   time.Duration // → first instruction (uaaf: timings.start; a process: its first console byte)
	exit    time.Duration // → exit status known (uaaf: timings.total; a process: reaped)
	whole   time.Duration // request → result back (uaaf: the client's round trip; a process: = exit)
	run     time.Duration // uaaf: the guest's run, first instruction → halt (timings.run); else 0
	bind    time.Duration // uaaf: timings.bind (libraries referenced, memory mapped, VM from the pool)
	boot    time.Duration // uaaf: timings.boot (vCPU state set, to the first instruction)
}

// daemonArgs are the `uaaf serve` flags of every benchmark daemon: room
// for the largest fleet plus probes, the defaults otherwise.
func daemonArgs(c Config) []string {
	return []string{"--max-sessions", strconv.Itoa(c.MaxInstances + 64), "--max-queued", "1024", "--mem", strconv.Itoa(c.MemMiB)}
}

// startDaemon starts `uaaf serve` with the four libraries preloaded and
// pinned and the demo, idle and hello images registered, and waits until
// its warm pool is full.
func startDaemon(ctx context.Context, binary string, c Config, im images) (*served.Daemon, error) {
	var cfg daemon.Config
	for _, l := range Libraries {
		cfg.Libraries = append(cfg.Libraries, api.LoadLibrary{Name: l, Path: im.libs[l], Pin: true})
	}
	for _, g := range []struct{ name, path string }{{"demo", im.demo}, {"idle", im.idle}, {"hello", im.hello}} {
		cfg.Images = append(cfg.Images, api.AddImage{Name: g.name, Path: g.path, MemMiB: c.MemMiB})
	}
	d, err := served.Start(ctx, served.Options{Binary: binary, Config: cfg, Args: daemonArgs(c)})
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := d.WaitPool(wctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// panelDaemon starts the daemon a panel measures uaaf through
// (startDaemon with the bench's configuration). When it cannot start it
// records uaaf as failed and returns nil. The caller defers
// b.closeDaemon(d) on a non-nil result.
func (b *Bench) panelDaemon(ctx context.Context) *served.Daemon {
	d, err := startDaemon(ctx, b.cfg.UAAF, b.cfg, b.im)
	if err != nil {
		b.fail(SysUAAF, err)
		return nil
	}
	return d
}

// closeDaemon closes a daemon from panelDaemon, recording uaaf as failed
// when it does not stop cleanly.
func (b *Bench) closeDaemon(d *served.Daemon) {
	if err := d.Close(); err != nil {
		b.fail(SysUAAF, err)
	}
}

// checkInvoke returns why an invocation's result does not meet want, or "".
func checkInvoke(r api.InvokeResult, want baseline.Expect) string {
	if r.State != api.StateExited || r.ExitStatus == nil {
		return fmt.Sprintf("session %s (%s), want exited", r.State, r.Error)
	}
	if *r.ExitStatus != want.ExitCode {
		return fmt.Sprintf("exit status %d, want %d", *r.ExitStatus, want.ExitCode)
	}
	for _, s := range want.Stdout {
		if !strings.Contains(r.Output, s) {
			return fmt.Sprintf("console lacks %q", s)
		}
	}
	if r.Truncated {
		return "console truncated"
	}
	return ""
}

// invoke runs one invocation through the daemon's API and checks it. The
// duration is the client's round trip: request sent → result decoded.
func invoke(ctx context.Context, c *client.Client, req api.Invoke, want baseline.Expect) (api.InvokeResult, time.Duration, error) {
	t0 := time.Now()
	r, err := c.Invoke(ctx, req)
	whole := time.Since(t0)
	cmd := append([]string{"uaaf", "invoke", req.Image}, req.Args...)
	if err != nil {
		return r, 0, &baseline.RunError{Cmd: cmd, Status: "no result", Reason: err.Error(), Err: err}
	}
	if reason := checkInvoke(r, want); reason != "" {
		status := r.State
		if r.ExitStatus != nil {
			status += " " + strconv.Itoa(*r.ExitStatus)
		}
		return r, 0, &baseline.RunError{Cmd: cmd, Status: status, Reason: reason, Stderr: bench.ConsoleTail(r.Output)}
	}
	return r, whole, nil
}

// invokeSample is one checked invocation as a sample.
func invokeSample(ctx context.Context, c *client.Client, req api.Invoke, want baseline.Expect) (sample, error) {
	r, whole, err := invoke(ctx, c, req, want)
	if err != nil {
		return sample{}, err
	}
	if r.Timings.StartNs <= 0 || r.Timings.TotalNs <= 0 {
		return sample{}, &baseline.RunError{Cmd: []string{"uaaf", "invoke", req.Image}, Status: r.State, Reason: fmt.Sprintf("timings without start or total: %+v", r.Timings)}
	}
	return sample{first: time.Duration(r.Timings.StartNs), exit: time.Duration(r.Timings.TotalNs), whole: whole, run: time.Duration(r.Timings.RunNs),
		bind: time.Duration(r.Timings.BindNs), boot: time.Duration(r.Timings.BootNs)}, nil
}

// isolatedArgv is `uaaf run` of image with the four libraries loaded from
// disk into this process alone (extra: further options before the image).
func isolatedArgv(c Config, im images, libs bool, extra []string, image string, args ...string) []string {
	argv := []string{c.UAAF, "run", "--mem=" + strconv.Itoa(c.MemMiB)}
	if libs {
		for _, l := range Libraries {
			argv = append(argv, "--lib", l+"="+im.libs[l])
		}
	}
	argv = append(argv, extra...)
	argv = append(argv, "--", image)
	return append(argv, args...)
}

// processSample is one checked cold run of argv (RunFirstOutput).
func processSample(ctx context.Context, argv []string, want baseline.Expect) (sample, baseline.Result, error) {
	r, err := baseline.RunFirstOutput(ctx, argv, want)
	if err != nil {
		return sample{}, r, err
	}
	return sample{first: r.FirstOutput, exit: r.Wall, whole: r.Wall}, r, nil
}

// ErrStats: `uaaf run --stats` printed no statistics that could be read.
var ErrStats = errors.New("fig10: unreadable uaaf run statistics")

// parseRunStats finds the JSON object `uaaf run --stats` writes to stderr
// (a line starting with '{' that holds "phases_ms") and returns its
// library preload time.
func parseRunStats(stderr []byte) (time.Duration, error) {
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] != '{' || !bytes.Contains(line, []byte(`"phases_ms"`)) {
			continue
		}
		var st struct {
			Phases map[string]float64 `json:"phases_ms"`
		}
		if err := json.Unmarshal(line, &st); err != nil {
			return 0, fmt.Errorf("%w: %v", ErrStats, err)
		}
		ms, ok := st.Phases["preload"]
		if !ok || ms < 0 || ms > 1e7 {
			return 0, fmt.Errorf("%w: preload %v", ErrStats, st.Phases["preload"])
		}
		return time.Duration(ms * float64(time.Millisecond)), nil
	}
	return 0, fmt.Errorf("%w: no phases_ms object on stderr", ErrStats)
}

// fleet is a set of live instances of one system: grown step by step to k
// instances in all, measured, closed.
type fleet interface {
	grow(ctx context.Context, k int) error
	pss(ctx context.Context) (uint64, error)
	check(ctx context.Context) error // every instance still live
	close() error
}

// uaafFleet is live idle sessions of a daemon, each holding an instance of
// each of its four libraries.
type uaafFleet struct {
	d   *served.Daemon
	ids []uint64
}

// growWorkers is how many idle sessions are brought up at once.
const growWorkers = 4

func (f *uaafFleet) grow(ctx context.Context, k int) error {
	need := k - len(f.ids)
	if need <= 0 {
		return nil
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
		next  = make(chan struct{})
	)
	for range min(growWorkers, need) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range next {
				id, err := startIdle(ctx, f.d.Client)
				mu.Lock()
				if id != 0 {
					f.ids = append(f.ids, id)
				}
				if err != nil && first == nil {
					first = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < need; i++ {
		mu.Lock()
		failed := first != nil
		mu.Unlock()
		if failed || ctx.Err() != nil {
			break
		}
		next <- struct{}{}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		if derr := f.d.Check(); derr != nil {
			return derr
		}
		return first
	}
	return f.check(ctx)
}

// readyTimeout bounds the wait for one idle session to be ready.
const readyTimeout = 60 * time.Second

// startIdle creates and starts an idle session and follows its console
// until it is ready. It returns the session's ID whenever one was created
// (the fleet deletes it on close).
func startIdle(ctx context.Context, c *client.Client) (uint64, error) {
	s, err := c.CreateSession(ctx, api.SessionSpec{Image: "idle", Start: true})
	if err != nil {
		return 0, &baseline.RunError{Cmd: []string{"uaaf", "session", "create", "--start", "idle"}, Status: "not started", Reason: err.Error(), Err: err}
	}
	rctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	con, err := c.Console(rctx, s.ID, 0, true)
	if err != nil {
		return s.ID, fmt.Errorf("session %d console: %w", s.ID, err)
	}
	defer con.Close()
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	for !bytes.Contains(seen.Bytes(), []byte(idleReady)) {
		n, rerr := con.Read(buf)
		seen.Write(buf[:n])
		if rerr != nil {
			if bytes.Contains(seen.Bytes(), []byte(idleReady)) {
				break
			}
			st, _ := c.Session(ctx, s.ID)
			reason := fmt.Sprintf("console ended before %q: %v", idleReady, rerr)
			return s.ID, &baseline.RunError{Cmd: []string{"uaaf", "session", "create", "--start", "idle"}, Status: st.State + " " + st.Error, Reason: reason, Stderr: bench.ConsoleTail(seen.String())}
		}
	}
	return s.ID, nil
}

// check fails unless every session of the fleet is running.
func (f *uaafFleet) check(ctx context.Context) error {
	ss, err := f.d.Client.Sessions(ctx)
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	running := map[uint64]bool{}
	for _, s := range ss {
		if s.State == api.StateRunning {
			running[s.ID] = true
		}
	}
	for _, id := range f.ids {
		if !running[id] {
			return &baseline.RunError{Cmd: []string{"uaaf", "session", "get", strconv.FormatUint(id, 10)}, Status: "not running", Reason: "an idle session stopped before it was stopped"}
		}
	}
	return nil
}

func (f *uaafFleet) pss(ctx context.Context) (uint64, error) {
	if err := f.check(ctx); err != nil {
		return 0, err
	}
	r, err := f.d.Rollup()
	return r.Pss, err
}

// close deletes the sessions (the daemon is closed by its owner).
func (f *uaafFleet) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var errs []error
	for _, id := range f.ids {
		if err := f.d.Client.DeleteSession(ctx, id); err != nil && !errors.Is(err, client.ErrNotFound) {
			errs = append(errs, err)
			if len(errs) > 3 || ctx.Err() != nil {
				break
			}
		}
	}
	f.ids = nil
	return errors.Join(errs...)
}

// groupFleet is live processes of one command line, one per instance.
type groupFleet struct {
	argv   []string
	ready  string
	groups []*baseline.Group
	n      int
}

// growBatch bounds the processes started at once.
const growBatch = 100

func (f *groupFleet) grow(ctx context.Context, k int) error {
	for f.n < k {
		m := min(k-f.n, growBatch)
		g, err := baseline.StartGroup(ctx, f.argv, m, f.ready)
		if err != nil {
			return err
		}
		f.groups = append(f.groups, g)
		f.n += m
	}
	return nil
}

func (f *groupFleet) pss(context.Context) (uint64, error) {
	return sumOver(f.groups, (*baseline.Group).Pss)
}

func (f *groupFleet) check(context.Context) error {
	for _, g := range f.groups {
		if err := g.Check(); err != nil {
			return err
		}
	}
	return nil
}

func (f *groupFleet) pids() []int {
	var pids []int
	for _, g := range f.groups {
		pids = append(pids, g.PIDs()...)
	}
	return pids
}

func (f *groupFleet) close() error {
	var errs []error
	for _, g := range f.groups {
		errs = append(errs, g.Close())
	}
	f.groups, f.n = nil, 0
	return errors.Join(errs...)
}

// runcFleet is live containers of the function's waiting variant.
type runcFleet struct {
	r      baseline.Runc
	bundle *baseline.Bundle
	sets   []*baseline.Containers
	n      int
}

func (f *runcFleet) grow(ctx context.Context, k int) error {
	if k > f.n {
		c, err := f.r.StartContainers(ctx, f.bundle, k-f.n, baseline.FunctionReady)
		if err != nil {
			return err
		}
		f.sets = append(f.sets, c)
		f.n = k
	}
	return nil
}

func (f *runcFleet) pss(ctx context.Context) (uint64, error) {
	return sumOver(f.sets, func(c *baseline.Containers) (uint64, error) { return c.Pss(ctx) })
}

func (f *runcFleet) check(ctx context.Context) error {
	for _, c := range f.sets {
		if err := c.Check(ctx); err != nil {
			return err
		}
	}
	return nil
}

// cgroupMemory is the memory charged to the containers' cgroups: Pss
// plus what the kernel spends on them (namespaces, page tables, …).
func (f *runcFleet) cgroupMemory(ctx context.Context) (uint64, error) {
	return sumOver(f.sets, func(c *baseline.Containers) (uint64, error) { return c.CgroupMemory(ctx) })
}

// sumOver adds up f of every element of xs; the first error ends it.
func sumOver[T any](xs []T, f func(T) (uint64, error)) (uint64, error) {
	var total uint64
	for _, x := range xs {
		n, err := f(x)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func (f *runcFleet) close() error {
	var errs []error
	for _, c := range f.sets {
		errs = append(errs, c.Close())
	}
	f.sets, f.n = nil, 0
	return errors.Join(errs...)
}

// libraryText returns the read-only ranges of the four libraries, by
// name, for libtext.Measure.
func (b *Bench) libraryText() (map[string][]hvt.Range, error) {
	text := map[string][]hvt.Range{}
	for _, l := range Libraries {
		rs, err := libtext.Ranges(b.im.libs[l])
		if err != nil {
			return nil, fmt.Errorf("library text: %w", err)
		}
		text[l] = rs
	}
	return text, nil
}
