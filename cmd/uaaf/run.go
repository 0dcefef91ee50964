package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/hypervisor"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/monitor"
)

func runCommand() *cli.Command {
	return &cli.Command{
		Name:      "run",
		Usage:     "run an hvt unikernel (solo5-hvt compatible flags)",
		ArgsUsage: "[OPTIONS] [--] KERNEL [ARGS...]",
		// solo5-hvt's flags (--block:NAME=PATH …) are not urfave/cli
		// syntax; monitor.ParseArgs parses them.
		SkipFlagParsing: true,
		Action: func(c *cli.Context) error {
			return runMain(c.App.Writer, c.App.ErrWriter, c.Args().Slice())
		},
	}
}

// signalError is the cause given to the run context when a signal ends it.
type signalError struct{ sig syscall.Signal }

func (e signalError) Error() string { return fmt.Sprintf("Exiting on signal %d", int(e.sig)) }

func runMain(stdout, stderr io.Writer, argv []string) error {
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	args, err := monitor.ParseArgs(argv)
	if err != nil {
		return err
	}
	if args.Help {
		fmt.Fprint(stdout, monitor.Usage)
		return nil
	}
	if args.Version {
		fmt.Fprintf(stdout, "uaaf %s: hvt ABI version %d\n", version, hvt.ABIVersion)
		return nil
	}
	if args.MemAdjusted {
		fmt.Fprintf(stderr, "uaaf: WARNING: adjusting memory to %d bytes\n", args.Config.MemSize)
	}
	args.Config.Console = stdout // the guest's console: the app's writer, os.Stdout by default
	args.Config.Log = stderr

	r, err := newRunner(args, stderr)
	if err != nil {
		return err
	}
	defer r.Close()

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			cancel(signalError{s.(syscall.Signal)})
		case <-ctx.Done():
		}
	}()

	start := time.Now()
	status, err := r.Run(ctx)
	if args.UaaF.Stats {
		r.PrintStats(stderr, time.Since(start), status, err)
	}
	if err != nil {
		var se signalError
		if errors.As(err, &se) {
			return se
		}
		if errors.Is(err, hypervisor.ErrStopped) {
			return errors.New("guest stopped")
		}
		return err
	}
	if status != 0 {
		return exitError{status}
	}
	return nil
}
