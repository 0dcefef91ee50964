package runcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// signalError is the cause given to the run context when a signal ends it.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return fmt.Sprintf("Exiting on signal %d", int(e.sig)) }

// Main runs `uaaf run` with argv (the words after "run"): parses solo5-hvt's
// flags and uaaf's own, runs the guest or session to its end, and returns
// nil, an *ExitError carrying the guest's non-zero exit status, or the error
// that ended the run (one line, for ExitCode to print). nil writers mean
// os.Stdout and os.Stderr. Call it from the main goroutine of a process that
// exits afterwards: it handles SIGINT and SIGTERM while it runs.
func Main(stdout, stderr io.Writer, argv []string) error {
	return run(stdout, stderr, argv, true)
}

// run is Main. With release false it leaves the VM, guest memory, open files
// and the signal watcher to the kernel, for a process that exits as soon as
// run returns (the fast path, as solo5-hvt exits from its halt handler):
// releasing them first adds a round trip to the runtime's signal thread and
// unmaps that the exit repeats anyway.
func run(stdout, stderr io.Writer, argv []string, release bool) error {
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	args, opts, err := parseArgs(argv)
	if err != nil {
		return err
	}
	if args.Help {
		fmt.Fprint(stdout, Usage)
		return nil
	}
	if args.Version {
		fmt.Fprintln(stdout, command.VersionLine(hvt.ABIVersion))
		return nil
	}
	if args.MemAdjusted {
		fmt.Fprintf(stderr, "uaaf: WARNING: adjusting memory to %d bytes\n", args.Config.MemSize)
	}
	args.Config.Console = stdout // the guest's console: the app's writer, os.Stdout by default
	args.Config.Log = stderr

	// SIGINT and SIGTERM end the guest with solo5-hvt's message. The first
	// signal.Notify of a process is slow (the runtime starts a thread to
	// manage signal masks and waits for it: a few hundred microseconds
	// here), so it runs on its own goroutine while this one loads the
	// image. Until it is in place the two signals have their default
	// effect, as in solo5-hvt before it installs its handlers.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	watching := make(chan struct{})
	go func() {
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		close(watching)
		select {
		case s := <-sigs:
			cancel(signalError{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()
	if release {
		defer func() {
			<-watching
			signal.Stop(sigs)
		}()
	}

	if err := checkFDs(); err != nil {
		return err
	}
	r, err := newRunner(ctx, args, opts, stderr)
	if err != nil {
		var se signalError
		if errors.As(err, &se) {
			return se
		}
		return err
	}
	if release {
		defer r.Close()
	}

	// Where the statistics go is settled now: the seccomp filter the run
	// installs allows neither open(2) nor a terminal's ioctl.
	var stats *statsOut
	if opts.Stats {
		if stats, err = openStats(opts.StatsFile, stderr); err != nil {
			return err
		}
		if release {
			defer stats.Close()
		}
	}
	start := time.Now()
	status, err := r.Run(ctx)
	if stats != nil {
		if werr := r.PrintStats(stats, time.Since(start), status, err); werr != nil && err == nil {
			return werr
		}
	}
	if err != nil {
		var se signalError
		if errors.As(err, &se) {
			return se
		}
		if errors.Is(err, vcpu.ErrStopped) {
			return errors.New("guest stopped")
		}
		return err
	}
	if status != 0 {
		return &command.ExitError{Code: status}
	}
	return nil
}

// minFDs is the open-file limit below which `uaaf run` refuses to start: a
// guest needs the KVM device, VM and vCPU, its image, an eventfd and the Go
// runtime's poller, and a session more for each library.
const minFDs = 32

// checkFDs refuses to run under an open-file limit too low to run
// anything, with one line, instead of failing half way (or the Go runtime
// dying when its poller cannot get an fd).
func checkFDs() error {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return nil // nothing to judge by
	}
	if rl.Cur < minFDs {
		return fmt.Errorf("the open-file limit is %d; uaaf run needs at least %d (raise it, e.g. ulimit -n 1024)", rl.Cur, minFDs)
	}
	return nil
}
