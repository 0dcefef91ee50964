// Package fig10 reproduces the evaluation of UaaF (Tan et al., IWQoS'20,
// Figure 10) on the machine it runs on, against baselines measured in the
// same run: start-up latency (startup), start latency while many
// instances are live (scale), memory against live instances (memory),
// invocation throughput (throughput) and the library call round trip
// (call); plus A/B comparisons of two uaaf builds (AB).
//
// uaaf is measured the way a user runs it: a real `uaaf serve` child
// process (package served) driven through session/client. The baselines
// are processes run and checked by package baseline: uaaf itself one cold
// `uaaf run` per instance with private copies of its libraries
// ("uaaf-isolated"), solo5-hvt, and runc. Every run is checked (exit
// status, output); a system whose run fails is reported as failed, never
// as a number.
//
// A Bench is used by one goroutine: its panel methods run one after the
// other and add to its Summary.
package fig10

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"

	"github.com/uaaf/uaaf/tools/bench/report"
)

// The systems, as named in CSVs, plots and the summary.
const (
	SysUAAF     = "uaaf"          // sessions through the daemon: shared preloaded libraries, warm pool
	SysIsolated = "uaaf-isolated" // one cold `uaaf run` process per instance, private library copies
	SysSolo5    = "solo5-hvt"     // one solo5-hvt process per instance
	SysRunc     = "runc"          // one runc container per instance, the function as a static binary
)

// Sentinel errors.
var (
	// ErrConfig: a flag or an image is missing or wrong.
	ErrConfig = errors.New("fig10: bad configuration")
	// ErrFailed: a system's runs failed; the summary lists it under
	// Failed and holds none of its numbers.
	ErrFailed = errors.New("fig10: runs failed")
)

// Libraries are the four library functions every session of the
// benchmark imports (as the demo session does).
var Libraries = []string{"base64", "sha256", "crc32", "sort"}

// Config says what a Bench measures, with what, and how much.
type Config struct {
	// UAAF is the uaaf binary: the daemon is `UAAF serve`, the isolated
	// baseline `UAAF run`. Required.
	UAAF string
	// GuestDir holds the session and test images (demo, idle, hello,
	// pause, callbench .hvt); flag names it for errors.
	GuestDir string
	// LibDir holds the library images (base64, sha256, crc32, sort,
	// testfns .hvt).
	LibDir string
	// Solo5HVT is Solo5's solo5-hvt tender; "" leaves the system out
	// (reported as skipped).
	Solo5HVT string
	// Runc is the runc binary; "" leaves the system out (skipped with
	// RuncSkip as the reason).
	Runc string
	// RuncSkip is why runc is left out when Runc is "".
	RuncSkip string
	// MaxInstances is the largest number of live instances (scale,
	// memory) for uaaf.
	MaxInstances int
	// MaxProcesses caps the live instances of the systems that need one
	// process (or container) each; their curves stop there and comparisons
	// at MaxInstances use their fitted line (said so in the summary).
	// 0 means MaxInstances.
	MaxProcesses int
	// Rounds is the number of cold starts per system in startup (and
	// library loads), taken in rotating order.
	Rounds int
	// Probes is the number of start-latency samples per step in scale.
	Probes int
	// Invocations is the number of trivial invocations per system and
	// concurrency in throughput.
	Invocations int
	// Concurrency is the number of clients in the parallel part of
	// throughput (the sequential part uses 1).
	Concurrency int
	// CallN is the number of calls per callbench run in call.
	CallN int
	// MemMiB is the guest memory of every session and process (--mem).
	MemMiB int
	// DaemonOnly measures uaaf through its daemon alone: no baselines
	// (A/B comparisons of two builds).
	DaemonOnly bool
	// Progress, when set, makes the progress bar of each panel (e.g.
	// report.NewProgress); nil is silent.
	Progress func(total int, description string) *report.Progress
	// Log, when set, gets one line per stage (fleet sizes reached, panels
	// done); nil is quiet.
	Log io.Writer
}

// Defaults returns the configuration of a full run (quick: of `--quick`)
// with the image directories relative to the working directory (the
// repository's root) and no baselines.
func Defaults(quick bool) Config {
	c := Config{
		GuestDir: filepath.Join("guest", "build"), LibDir: filepath.Join("libfuncs", "build"),
		MaxInstances: 1000, Rounds: 40, Probes: 100, Invocations: 300, CallN: 2000,
		Concurrency: 2 * runtime.NumCPU(), MemMiB: 8,
	}
	if quick {
		c.MaxInstances, c.Rounds, c.Probes, c.Invocations, c.CallN = 100, 12, 25, 100, 1000
	}
	return c
}

// Steps returns the live-instance counts of scale and memory: 1, 2, 5, 10,
// 20, 50, … up to and including max.
func Steps(max int) []int {
	var s []int
	for dec := 1; dec <= max; dec *= 10 {
		for _, m := range []int{1, 2, 5} {
			if v := m * dec; v <= max {
				s = append(s, v)
			}
		}
	}
	if len(s) == 0 || s[len(s)-1] != max {
		s = append(s, max)
	}
	return s
}

// images is where every image a Bench runs is.
type images struct {
	demo, idle, hello, pause, callbench string
	libs                                map[string]string // name → path, Libraries and testfns
}

// lookImages finds every image, absolute; a missing one is an ErrConfig
// naming the flag that says where to look.
func lookImages(c Config) (images, error) {
	im := images{libs: map[string]string{}}
	find := func(dir, flag, name string) (string, error) {
		p, err := filepath.Abs(filepath.Join(dir, name+".hvt"))
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrConfig, err)
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%w: image %s.hvt not found in %s (give the directory with %s): %v", ErrConfig, name, dir, flag, err)
		}
		return p, nil
	}
	var err error
	for _, g := range []struct {
		dst  *string
		name string
	}{{&im.demo, "demo"}, {&im.idle, "idle"}, {&im.hello, "hello"}, {&im.pause, "pause"}, {&im.callbench, "callbench"}} {
		if *g.dst, err = find(c.GuestDir, "--guest-dir", g.name); err != nil {
			return im, err
		}
	}
	for _, l := range append(append([]string(nil), Libraries...), "testfns") {
		if im.libs[l], err = find(c.LibDir, "--lib-dir", l); err != nil {
			return im, err
		}
	}
	return im, nil
}

// check validates c.
func (c Config) check() error {
	switch {
	case c.UAAF == "":
		return fmt.Errorf("%w: no uaaf binary", ErrConfig)
	case c.MaxInstances < 1:
		return fmt.Errorf("%w: --max-instances must be at least 1", ErrConfig)
	case c.MaxProcesses < 0:
		return fmt.Errorf("%w: --max-processes must not be negative", ErrConfig)
	case c.Rounds < 1 || c.Probes < 1 || c.Invocations < 1 || c.Concurrency < 1 || c.CallN < 1:
		return fmt.Errorf("%w: rounds, probes, invocations, concurrency and calls must be at least 1", ErrConfig)
	case c.MemMiB < 2:
		return fmt.Errorf("%w: guest memory %d MiB", ErrConfig, c.MemMiB)
	}
	if _, err := os.Stat(c.UAAF); err != nil {
		return fmt.Errorf("%w: uaaf binary: %v", ErrConfig, err)
	}
	return nil
}

// maxProcesses is MaxProcesses with its default.
func (c Config) maxProcesses() int {
	if c.MaxProcesses == 0 || c.MaxProcesses > c.MaxInstances {
		return c.MaxInstances
	}
	return c.MaxProcesses
}
