package baseline

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
)

// Solo5HVT runs unikernels under Solo5's hvt tender, one process per run:
// the "plain Solo5" baseline.
type Solo5HVT struct {
	// Path is the solo5-hvt binary (built from Solo5's source; not part of
	// uaaf).
	Path string
	// MemMiB is passed as --mem=MemMiB; 0 leaves solo5-hvt's default
	// (512 MiB).
	MemMiB int
	// Options are further tender options placed before the image, e.g.
	// "--block:storage=disk.img".
	Options []string
}

// Available returns nil when Path is an executable file, else an error
// wrapping ErrNotInstalled that says why (for the summary's Skipped list).
func (s Solo5HVT) Available() error {
	if s.Path == "" {
		return fmt.Errorf("%w: solo5-hvt: no path given (--solo5-hvt)", ErrNotInstalled)
	}
	fi, err := os.Stat(s.Path)
	if err != nil {
		return fmt.Errorf("%w: solo5-hvt: %v", ErrNotInstalled, err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("%w: solo5-hvt: %s is not an executable file", ErrNotInstalled, s.Path)
	}
	return nil
}

// Argv returns the command line that runs image with args:
// PATH [--mem=N] [OPTIONS...] -- IMAGE ARGS...
func (s Solo5HVT) Argv(image string, args ...string) []string {
	argv := []string{s.Path}
	if s.MemMiB != 0 {
		argv = append(argv, "--mem="+strconv.Itoa(s.MemMiB))
	}
	argv = append(argv, s.Options...)
	argv = append(argv, "--", image)
	return append(argv, args...)
}

// Run runs image cold in a new solo5-hvt process and checks it against want
// (see the package Run): Wall is fork to reap, MaxRSS the tender's peak RSS.
func (s Solo5HVT) Run(ctx context.Context, image string, args []string, want Expect) (Result, error) {
	return Run(ctx, s.Argv(image, args...), want)
}

// RunFirstOutput is Run that also measures the time from fork to the
// guest's first console byte (see the package RunFirstOutput).
func (s Solo5HVT) RunFirstOutput(ctx context.Context, image string, args []string, want Expect) (Result, error) {
	return RunFirstOutput(ctx, s.Argv(image, args...), want)
}

// StartGroup starts k solo5-hvt processes of a long-running image and waits
// until each has printed ready (see the package StartGroup). Their summed
// Pss is Group.Pss.
func (s Solo5HVT) StartGroup(ctx context.Context, k int, image string, args []string, ready string) (*Group, error) {
	return StartGroup(ctx, s.Argv(image, args...), k, ready)
}

var solo5VersionRE = regexp.MustCompile(`version (\S+)`)

// Version runs `solo5-hvt --version` (which prints "solo5-hvt tender,
// version v0.12.1-7-g469c1a8" on stderr and exits 0) and returns the
// version, e.g. "v0.12.1-7-g469c1a8". A failed run or an output without a
// version is a *RunError.
func (s Solo5HVT) Version(ctx context.Context) (string, error) {
	argv := []string{s.Path, "--version"}
	r, err := Run(ctx, argv, Expect{})
	if err != nil {
		return "", err
	}
	m := solo5VersionRE.FindSubmatch(append(r.Stdout, r.Stderr...))
	if m == nil {
		return "", &RunError{Cmd: argv, Status: "exit status 0", Reason: "no \"version V\" in its output", Stderr: tail(r.Stderr)}
	}
	return string(m[1]), nil
}
