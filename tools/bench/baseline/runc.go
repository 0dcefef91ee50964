package baseline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/uaaf/uaaf/tools/bench/procmem"
)

// Runc runs the function as OCI containers with runc: the container
// baseline. Tested with Debian 12's runc 1.1.5 on cgroup v1 (hybrid
// hierarchy); as root.
type Runc struct {
	// Path is the runc binary.
	Path string
	// Root is runc's state directory (--root); "" means runc's default
	// (/run/runc). A private directory keeps benchmark containers apart
	// from anyone else's.
	Root string
}

// LookRunc finds runc in $PATH. Not found wraps ErrNotInstalled (on Debian:
// apt-get install runc).
func LookRunc() (Runc, error) {
	p, err := exec.LookPath("runc")
	if err != nil {
		return Runc{}, fmt.Errorf("%w: runc: %v", ErrNotInstalled, err)
	}
	return Runc{Path: p}, nil
}

// argv returns runc's command line for args, with --root when set.
func (r Runc) argv(args ...string) []string {
	a := []string{r.Path}
	if r.Root != "" {
		a = append(a, "--root", r.Root)
	}
	return append(a, args...)
}

// Version returns the version of `runc --version`'s first line ("runc
// version 1.1.5+ds1" gives "1.1.5+ds1"). A failed run is a *RunError.
func (r Runc) Version(ctx context.Context) (string, error) {
	argv := []string{r.Path, "--version"}
	res, err := Run(ctx, argv, Expect{Stdout: []string{"runc version "}})
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(res.Stdout), "\n")
	return strings.TrimPrefix(strings.TrimSpace(line), "runc version "), nil
}

// Bundle is an OCI bundle on disk: Dir/config.json and Dir/rootfs holding
// only the program, /fn.
type Bundle struct {
	Dir  string
	Args []string // the container's command line, "/fn" first
}

// NewBundle makes an OCI bundle in dir (which must exist and hold no
// config.json): rootfs/fn is a copy of binary, and config.json is runc's own
// default (`runc spec`) with the process set to /fn ARGS without a terminal,
// the root file system read-only and the hostname "uaaf-bench". Namespaces,
// mounts and cgroups stay runc's defaults: a container as runc makes one.
func (r Runc) NewBundle(ctx context.Context, dir, binary string, args ...string) (*Bundle, error) {
	rootfs := filepath.Join(dir, "rootfs")
	if err := os.MkdirAll(rootfs, 0o755); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "fn"), bin, 0o755); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	if _, err := Run(ctx, []string{r.Path, "spec", "--bundle", dir}, Expect{}); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	b := &Bundle{Dir: dir, Args: append([]string{"/fn"}, args...)}
	edited, err := editSpec(raw, b.Args)
	if err != nil {
		return nil, fmt.Errorf("baseline: %s from runc spec: %w", path, err)
	}
	if err := os.WriteFile(path, edited, 0o644); err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	return b, nil
}

// editSpec sets process.args, process.terminal, root and hostname in an OCI
// runtime spec, keeping everything else as it is.
func editSpec(raw []byte, args []string) ([]byte, error) {
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, err
	}
	proc, ok := spec["process"].(map[string]any)
	if !ok {
		return nil, errors.New("no process object")
	}
	proc["terminal"] = false
	proc["args"] = args
	spec["root"] = map[string]any{"path": "rootfs", "readonly": true}
	spec["hostname"] = "uaaf-bench"
	return json.MarshalIndent(spec, "", "\t")
}

var containerSeq atomic.Uint64

// newID returns a container ID unique on this host for this process's life.
func newID() string {
	return "uaaf-bench-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(containerSeq.Add(1), 10)
}

// Run runs the bundle's program once in a new container, in the foreground
// (`runc run --bundle DIR ID`: create, start, wait, delete) and checks it
// against want. Wall is the whole of it, fork of runc to reap. On failure
// the container is deleted (runc delete --force) before returning.
func (r Runc) Run(ctx context.Context, b *Bundle, want Expect) (Result, error) {
	return r.runOnce(ctx, b, want, Run)
}

// RunFirstOutput is Run measuring also the time to the program's first
// output (see the package RunFirstOutput): fork of runc to the first byte
// the container's process writes to its stdout.
func (r Runc) RunFirstOutput(ctx context.Context, b *Bundle, want Expect) (Result, error) {
	return r.runOnce(ctx, b, want, RunFirstOutput)
}

// runOnce is `runc run --bundle DIR ID` of a new container through run (the
// package Run or RunFirstOutput), deleting the container when it fails.
func (r Runc) runOnce(ctx context.Context, b *Bundle, want Expect, run func(context.Context, []string, Expect) (Result, error)) (Result, error) {
	id := newID()
	res, err := run(ctx, r.argv("run", "--bundle", b.Dir, id), want)
	if err != nil {
		r.forceDelete(id)
		return Result{}, err
	}
	return res, nil
}

// forceDelete removes container id whatever its state, ignoring "does not
// exist"; it reports other failures.
func (r Runc) forceDelete(id string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, r.Path, r.argv("delete", "--force", id)[1:]...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if strings.Contains(stderr.String(), "does not exist") {
			return nil
		}
		return fmt.Errorf("baseline: runc delete --force %s: %v: %s", id, err, tail(stderr.Bytes()))
	}
	return nil
}

// Containers is K live detached containers of one bundle, for memory
// measurements. Used by one goroutine at a time; Close always.
type Containers struct {
	r      Runc
	bundle *Bundle
	dir    string // per-container stdout/stderr files
	ids    []string
	closed bool
}

// StartContainers starts k detached containers of b (`runc run -d`, stdio
// to files) and waits until each has printed ready on its stdout. On any
// failure — runc failing, a container stopping before it is ready, ctx done
// (60 s without a deadline) — it deletes every container it started and
// returns a *RunError.
func (r Runc) StartContainers(ctx context.Context, b *Bundle, k int, ready string) (*Containers, error) {
	if k < 1 {
		return nil, &RunError{Cmd: r.argv("run", "-d"), Status: "not started", Reason: fmt.Sprintf("%d containers", k)}
	}
	dir, err := os.MkdirTemp("", "uaaf-bench-runc-*")
	if err != nil {
		return nil, fmt.Errorf("baseline: %w", err)
	}
	c := &Containers{r: r, bundle: b, dir: dir}
	for range k {
		if err := c.start(ctx); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.waitReady(ctx, ready); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Containers) files(id string) (out, errf string) {
	return filepath.Join(c.dir, id+".out"), filepath.Join(c.dir, id+".err")
}

func (c *Containers) start(ctx context.Context) error {
	id := newID()
	outPath, errPath := c.files(id)
	outF, err := os.Create(outPath)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer outF.Close()
	errF, err := os.Create(errPath)
	if err != nil {
		return fmt.Errorf("baseline: %w", err)
	}
	defer errF.Close()
	argv := c.r.argv("run", "-d", "--bundle", c.bundle.Dir, id)
	// The container inherits these files as its stdio and keeps them after
	// runc exits: no pipe to drain, nothing to block on.
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = outF, errF
	c.ids = append(c.ids, id) // delete it on Close even if runc fails half-way
	err = cmd.Run()
	if err != nil {
		stderr, _ := os.ReadFile(errPath)
		status := "not started"
		if cmd.ProcessState != nil {
			status = cmd.ProcessState.String()
		}
		return &RunError{Cmd: argv, Status: status, Reason: "runc run -d failed: " + err.Error(), Stderr: tail(stderr), Err: err}
	}
	return nil
}

// state returns `runc state ID`'s status ("running", "stopped", ...).
func (c *Containers) state(ctx context.Context, id string) (string, error) {
	st, _, err := c.stateAndPID(ctx, id)
	return st, err
}

// stateAndPID returns `runc state ID`'s status and init pid.
func (c *Containers) stateAndPID(ctx context.Context, id string) (string, int, error) {
	argv := c.r.argv("state", id)
	res, err := Run(ctx, argv, Expect{})
	if err != nil {
		return "", 0, err
	}
	var st struct {
		Status string `json:"status"`
		PID    int    `json:"pid"`
	}
	if err := json.Unmarshal(res.Stdout, &st); err != nil || st.Status == "" {
		return "", 0, &RunError{Cmd: argv, Status: "exit status 0", Reason: fmt.Sprintf("unreadable state %q", tail(res.Stdout))}
	}
	return st.Status, st.PID, nil
}

// failure describes container id as a *RunError with its stdio tail.
func (c *Containers) failure(id, status, reason string, err error) *RunError {
	_, errPath := c.files(id)
	stderr, _ := os.ReadFile(errPath)
	return &RunError{Cmd: c.r.argv("run", "-d", "--bundle", c.bundle.Dir, id), Status: status, Reason: reason, Stderr: tail(stderr), Err: err}
}

func (c *Containers) waitReady(ctx context.Context, ready string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultReadyTimeout)
		defer cancel()
	}
	pending := append([]string(nil), c.ids...)
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	lastState := time.Now()
	for len(pending) > 0 {
		checkState := time.Since(lastState) > 50*time.Millisecond
		if checkState {
			lastState = time.Now()
		}
		left := pending[:0]
		for _, id := range pending {
			outPath, _ := c.files(id)
			out, err := os.ReadFile(outPath)
			if err != nil {
				return fmt.Errorf("baseline: %w", err)
			}
			if ready == "" || bytes.Contains(out, []byte(ready)) {
				continue
			}
			if checkState {
				st, err := c.state(ctx, id)
				if err != nil {
					return err
				}
				if st != "running" && st != "created" {
					return c.failure(id, st, fmt.Sprintf("container %s before it printed %q", st, ready), nil)
				}
			}
			left = append(left, id)
		}
		pending = left
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return c.failure(pending[0], "running", fmt.Sprintf("not ready (no %q on stdout): %v", ready, ctx.Err()), ctx.Err())
		case <-tick.C:
		}
	}
	return nil
}

// IDs returns the container IDs, in start order.
func (c *Containers) IDs() []string { return append([]string(nil), c.ids...) }

// Check returns a *RunError for the first container that is not running.
func (c *Containers) Check(ctx context.Context) error {
	if c.closed {
		return &RunError{Cmd: c.r.argv("state"), Status: "closed", Reason: "containers already closed"}
	}
	for _, id := range c.ids {
		st, err := c.state(ctx, id)
		if err != nil {
			return err
		}
		if st != "running" {
			return c.failure(id, st, "container "+st+" before it was stopped", nil)
		}
	}
	return nil
}

// PIDs returns the host pids of every process in every container (`runc ps
// --format json`).
func (c *Containers) PIDs(ctx context.Context) ([]int, error) {
	var all []int
	for _, id := range c.ids {
		argv := c.r.argv("ps", "--format", "json", id)
		res, err := Run(ctx, argv, Expect{})
		if err != nil {
			return nil, err
		}
		var pids []int
		if err := json.Unmarshal(res.Stdout, &pids); err != nil {
			return nil, &RunError{Cmd: argv, Status: "exit status 0", Reason: fmt.Sprintf("unreadable pid list %q", tail(res.Stdout)), Err: err}
		}
		if len(pids) == 0 {
			return nil, c.failure(id, "empty", "container has no processes", nil)
		}
		all = append(all, pids...)
	}
	return all, nil
}

// Pss returns the total Pss in bytes of all processes in all the
// containers. It counts what user space maps — the container processes —
// not kernel memory for namespaces and cgroups, nor runc (which has exited)
// or a shim (there is none). Every container must be running.
func (c *Containers) Pss(ctx context.Context) (uint64, error) {
	if err := c.Check(ctx); err != nil {
		return 0, err
	}
	pids, err := c.PIDs(ctx)
	if err != nil {
		return 0, err
	}
	return sumPss(pids, func() error { return c.Check(ctx) })
}

// CgroupMemory returns the memory charged to the containers' own cgroups,
// summed, in bytes (procmem.CgroupMemory of each container's init process:
// user pages plus, under cgroup v1 with kmem accounting, the kernel memory
// of its namespaces, page tables and so on — what Pss leaves out). Every
// container must be running. Unreadable memory cgroups wrap
// procmem.ErrNoMemoryCgroup.
func (c *Containers) CgroupMemory(ctx context.Context) (uint64, error) {
	if c.closed {
		return 0, &RunError{Cmd: c.r.argv("state"), Status: "closed", Reason: "containers already closed"}
	}
	var total uint64
	for _, id := range c.ids {
		st, pid, err := c.stateAndPID(ctx, id)
		if err != nil {
			return 0, err
		}
		if st != "running" {
			return 0, c.failure(id, st, "container "+st+" before it was stopped", nil)
		}
		n, err := procmem.CgroupMemory(pid)
		if err != nil {
			return 0, fmt.Errorf("baseline: container %s: %w", id, err)
		}
		total += n
	}
	return total, nil
}

// Close stops and deletes every container (runc kill ID KILL, then runc
// delete --force ID) and removes the stdio files. It always tries every
// container, is idempotent, and returns the failures joined.
func (c *Containers) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	var errs []error
	for _, id := range c.ids {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		kill := exec.CommandContext(ctx, c.r.Path, c.r.argv("kill", id, strconv.Itoa(int(syscall.SIGKILL)))[1:]...)
		_ = kill.Run() // may already be stopped; delete --force decides
		cancel()
		if err := c.r.forceDelete(id); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, fmt.Errorf("baseline: %w", err))
	}
	return errors.Join(errs...)
}
