package replay

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/uaaf/uaaf/tools/bench/report"
)

// CompareConfig is a replay's Config plus where Compare puts its results.
type CompareConfig struct {
	Config
	// Out is the output directory (made if needed).
	Out string
	// Log receives one progress line per tenth of each replay and one
	// result line per policy; nil discards them.
	Log io.Writer
	// Command is the command line, recorded in the summary.
	Command string
	// Queue and ServeArgs are recorded in the summary (what the daemons
	// were started with besides the policy).
	Queue     string
	ServeArgs []string
}

// Compare replays p once per keep-alive policy, each on a daemon l
// launches with fresh state, and writes, under cfg.Out: POLICY/
// invocations.csv and POLICY/functions.csv per policy (POLICY is
// Slug(spec)), then summary.json, summary.md and policies.png. A launcher
// that is not Fresh takes one policy only (it names the run).
func Compare(ctx context.Context, p *Plan, policies []string, l Launcher, cfg CompareConfig) (*Comparison, error) {
	if len(policies) == 0 {
		return nil, fmt.Errorf("%w: no policy", ErrUsage)
	}
	if !l.Fresh() && len(policies) > 1 {
		return nil, fmt.Errorf("%w: a running daemon (--socket) has one keep-alive policy and keeps its state: replay one policy per run", ErrUsage)
	}
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	if err := os.MkdirAll(cfg.Out, 0o755); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSetup, err)
	}
	m := report.DetectMachine()
	c := &Comparison{Command: cfg.Command, Trace: p.Info(), Date: time.Now().UTC(), Slack: float64(cfg.Slack) / float64(time.Millisecond),
		Queue: cfg.Queue, Extra: cfg.ServeArgs,
		Machine: fmt.Sprintf("%d CPUs (%s), %d GiB, kernel %s, KVM %s", m.Cores, m.CPUModel, m.MemoryBytes>>30, m.Kernel, m.KVM)}
	if !l.Fresh() {
		c.Notes = append(c.Notes, "Replayed against a running daemon (--socket): its keep-alive policy and state are its own; the policy column only names the run.")
	}
	for _, spec := range policies {
		slug := Slug(spec)
		dir := filepath.Join(cfg.Out, slug)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrSetup, err)
		}
		fmt.Fprintf(log, "policy %s: %d invocations over %v of real time (speed-up %g)\n", spec, len(p.Invocations),
			p.WallDuration().Round(time.Millisecond), p.Options.Speedup)
		d, stop, err := l.Launch(ctx, spec, dir)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", spec, err)
		}
		rc := cfg.Config
		began := time.Now()
		next := 1
		rc.Progress = func(sent, total int) {
			if sent*10 >= next*total {
				fmt.Fprintf(log, "policy %s: %d%% sent (%d of %d) after %v\n", spec, sent*100/total, sent, total, time.Since(began).Round(time.Second))
				next = sent*10/total + 1
			}
		}
		run, err := Replay(ctx, d, p, spec, rc)
		serr := stop()
		if err != nil {
			if serr != nil {
				err = fmt.Errorf("%w (and %w)", err, serr)
			}
			return nil, fmt.Errorf("policy %s: %w", spec, err)
		}
		if serr != nil {
			return nil, fmt.Errorf("policy %s: %w: %w", spec, ErrAborted, serr)
		}
		sum, fs := Summarize(p, run)
		files := RunFiles{Policy: spec, Invocations: filepath.Join(slug, "invocations.csv"), Functions: filepath.Join(slug, "functions.csv")}
		if l.Fresh() {
			files.ServeLog = filepath.Join(slug, ServeLog)
		}
		if err := writeFile(filepath.Join(cfg.Out, files.Invocations), func(w io.Writer) error { return WriteInvocations(w, run) }); err != nil {
			return nil, err
		}
		if err := writeFile(filepath.Join(cfg.Out, files.Functions), func(w io.Writer) error { return WriteFunctions(w, fs) }); err != nil {
			return nil, err
		}
		if run.ClockScale != p.Options.Speedup {
			c.Notes = append(c.Notes, fmt.Sprintf("Policy %s: the daemon's policy clock runs at %g× real time, the trace at %g×: its keep-alive windows and memory-time are not in trace time.",
				spec, run.ClockScale, p.Options.Speedup))
		}
		c.Policies = append(c.Policies, sum)
		c.Runs = append(c.Runs, files)
		behind := ""
		if sum.FellBehind {
			behind = fmt.Sprintf(" — FELL BEHIND (send lag p99 %.1f ms, %.2f of %.2f invocations/s)", sum.Lag.P99, sum.AchievedRate, sum.RequestedRate)
		}
		fmt.Fprintf(log, "policy %s: cold-start fraction %.4f, memory-time %.3f GiB·s, %d failed, %d rejected, %d missed deadlines, e2e p99 %.1f ms%s\n",
			spec, sum.ColdStartFraction, sum.MemoryTime, sum.Failed, sum.Rejected, sum.MissedDeadlines, sum.E2E.P99, behind)
	}
	if err := WriteComparison(cfg.Out, c); err != nil {
		return nil, err
	}
	return c, nil
}
