package daemon

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/uaaf/uaaf/hypervisor/seccomp"
)

// Confined session threads. With Options.Seccomp on, a session's guest runs
// on an OS thread confined to the seccomp.Runner allowlist
// (seccomp.InstallThread). A filter cannot be removed, so that thread may
// never run other goroutines: it ends with the goroutine locked to it.
// Loading a filter per session and creating and ending a thread per session
// cost ~0.45 ms of a ~1.7 ms hello invocation here (BenchmarkSessionSeccomp
// before runners), so confined threads are kept for the next sessions: a
// runner is a goroutine locked to its thread for life, confined once
// before its first guest instruction, that runs sessions one after another
// and waits up to runnerIdle for the next. At most maxIdleRunners wait.

const (
	runnerIdle     = 10 * time.Second
	maxIdleRunners = 64
)

// runWork is a session for a runner to run.
type runWork struct {
	ctx context.Context
	s   *sess
}

// dispatch runs s: on a goroutine of its own without the filter, else on
// an idle runner, or a new one.
func (d *Daemon) dispatch(ctx context.Context, s *sess) {
	if d.opts.Seccomp == seccomp.Off {
		go d.run(ctx, s, nil)
		return
	}
	w := runWork{ctx, s}
	d.runMu.Lock()
	if n := len(d.idle); n > 0 {
		ch := d.idle[n-1]
		d.idle = d.idle[:n-1]
		d.runMu.Unlock()
		ch <- w // its runner waits for it, or has just given up and takes it
		return
	}
	d.runMu.Unlock()
	go d.runner(w)
}

// runner confines its thread, then runs w and the sessions dispatched to
// it until it has waited runnerIdle for one, or the daemon closes.
func (d *Daemon) runner(w runWork) {
	runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
	err := seccomp.InstallThread(d.opts.Seccomp, seccomp.Runner)
	if err != nil {
		err = fmt.Errorf("confine the vCPU thread: %w", err)
	}
	ch := make(chan runWork)
	for {
		d.run(w.ctx, w.s, err)
		if err != nil {
			return // a thread that could not be confined runs nothing more
		}
		var ok bool
		if w, ok = d.await(ch); !ok {
			return
		}
	}
}

// await offers the calling runner (its channel ch) to dispatch and waits.
func (d *Daemon) await(ch chan runWork) (runWork, bool) {
	d.runMu.Lock()
	if len(d.idle) >= maxIdleRunners || d.closing.Load() {
		d.runMu.Unlock()
		return runWork{}, false
	}
	d.idle = append(d.idle, ch)
	d.runMu.Unlock()
	t := time.NewTimer(runnerIdle)
	defer t.Stop()
	select {
	case w := <-ch:
		return w, true
	case <-t.C:
	case <-d.stop:
	}
	d.runMu.Lock()
	i := slices.Index(d.idle, ch)
	if i >= 0 {
		d.idle = slices.Delete(d.idle, i, i+1)
	}
	d.runMu.Unlock()
	if i < 0 { // dispatch took it as we gave up: its session comes
		return <-ch, true
	}
	return runWork{}, false
}

// idleRunners returns how many runners wait for a session.
func (d *Daemon) idleRunners() int {
	d.runMu.Lock()
	defer d.runMu.Unlock()
	return len(d.idle)
}
