package ctlapp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/datadir"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/libfuncs/libvm"
	"github.com/uaaf/uaaf/tools/bench"
)

// benchCommand is `uaaf bench`: the startup and call microbenchmarks, each
// against a baseline measured in the same run. No pass/fail: numbers only.
func benchCommand() *cli.Command {
	dirs := []cli.Flag{
		&cli.StringFlag{Name: "guest-dir", Usage: "`DIR` of the benchmark sessions (callbench.hvt, demo.hvt)", DefaultText: datadirDefault("guest", "guest/build")},
		&cli.StringFlag{Name: "lib-dir", Usage: "`DIR` of the library images", DefaultText: datadirDefault("lib", "libfuncs/build")},
		&cli.BoolFlag{Name: "json", Usage: "print JSON instead of text"},
	}
	return &cli.Command{
		Name:  "bench",
		Usage: "microbenchmarks: call round trip, session start, cold run (ratios against baselines measured in the same run)",
		Description: `The images the benchmarks run are found next to uaaf: under
PREFIX/share/uaaf when it is installed (make install), in the source tree
when it runs from the tree's bin/, or under $UAAF_DATA_DIR (lib/, guest/)
when that is set; --guest-dir and --lib-dir override.`,
		Subcommands: []*cli.Command{
			{
				Name:  "call",
				Usage: "a call into a trivial library function vs a plain hypercall, exits and guest instructions per call",
				Flags: append([]cli.Flag{&cli.IntFlag{Name: "n", Value: 1000, Usage: "calls per measurement"}}, dirs...),
				Action: func(c *cli.Context) error {
					if c.Int("n") < 1 {
						return fmt.Errorf("-n must be at least 1")
					}
					guest, err := benchImage(c, "guest-dir", "callbench.hvt")
					if err != nil {
						return err
					}
					lib, err := benchImage(c, "lib-dir", "testfns.hvt")
					if err != nil {
						return err
					}
					reg := libvm.NewRegistry(libvm.Config{Console: io.Discard},
						libfuncs.Config[*libvm.Library]{Paths: []string{filepath.Dir(lib)}})
					defer reg.Close()
					// Kernel-side counts need eBPF; the test benchmark
					// (go test -bench Call ./tools/bench) has them. The uaaf
					// binary stays free of the eBPF library.
					r, err := bench.MeasureCalls(reg, guest, c.Int("n"), nil)
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return json.NewEncoder(c.App.Writer).Encode(r)
					}
					w := c.App.Writer
					printf(w, "call (exit backend), %d calls:  %.0f ns/call, %.0f ns/hypercall, %.2fx a hypercall\n", r.N, r.CallNs, r.HypercallNs, r.XHypercall)
					printf(w, "exits per call:                %.2f (monitor)", r.ExitsPerCall)
					if r.Traced {
						printf(w, ", %.2f (kernel)\nemulated guest instructions:   %.1f per call, %.1f per hypercall\n", r.KernelExits, r.InsnsCall, r.InsnsHypercall)
					} else {
						printf(w, "\nkernel-side counts (eBPF):     in uaaf's source tree, go test -run='^$' -bench=Call ./tools/bench\n")
					}
					return nil
				},
			},
			{
				Name:  "start",
				Usage: "start of a session importing four preloaded functions vs a cold start loading them from disk",
				Flags: append([]cli.Flag{&cli.IntFlag{Name: "rounds", Value: 10, Usage: "rounds (medians are reported)"}}, dirs...),
				Action: func(c *cli.Context) error {
					if c.Int("rounds") < 1 {
						return fmt.Errorf("--rounds must be at least 1")
					}
					libs := map[string]string{}
					for _, l := range []string{"base64", "sha256", "crc32", "sort"} {
						p, err := benchImage(c, "lib-dir", l+".hvt")
						if err != nil {
							return err
						}
						libs[l] = p
					}
					demo, err := benchImage(c, "guest-dir", "demo.hvt")
					if err != nil {
						return err
					}
					r, err := bench.MeasureStart(demo, libs, c.Int("rounds"))
					if err != nil {
						return err
					}
					if c.Bool("json") {
						return json.NewEncoder(c.App.Writer).Encode(r)
					}
					w := c.App.Writer
					printf(w, "session start (4 preloaded functions), median of %d:\n", r.Rounds)
					printf(w, "  to first instruction: %8.3f ms warm, %8.3f ms cold: %.3fx\n", r.WarmFirst.Seconds()*1e3, r.ColdFirst.Seconds()*1e3, r.XColdFirst)
					printf(w, "  to halt:              %8.3f ms warm, %8.3f ms cold: %.3fx\n", r.WarmHalt.Seconds()*1e3, r.ColdHalt.Seconds()*1e3, r.XColdHalt)
					return nil
				},
			},
			{
				Name:      "cold",
				Usage:     "cold `uaaf run` of an image vs solo5-hvt running it, alternating",
				ArgsUsage: "IMAGE [ARGS...]",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "solo5-hvt", Usage: "path of Solo5's solo5-hvt (required)", Required: true},
					&cli.IntFlag{Name: "rounds", Value: 30, Usage: "runs of each"},
					&cli.IntFlag{Name: "mem", Value: 512, Usage: "--mem for both, MiB"},
				},
				Action: func(c *cli.Context) error {
					if c.NArg() < 1 {
						return fmt.Errorf("bench cold needs an IMAGE (see uaaf bench cold --help)")
					}
					self, err := os.Executable()
					if err != nil {
						return err
					}
					args := append([]string{fmt.Sprintf("--mem=%d", c.Int("mem"))}, c.Args().Slice()...)
					var u, s []time.Duration
					for i := 0; i < c.Int("rounds"); i++ {
						// Alternate which goes first, so drift hits both.
						order := []bool{i%2 == 0, i%2 != 0}
						for _, uaafFirst := range order {
							if uaafFirst {
								d, err := timeRun(self, append([]string{"run"}, args...))
								if err != nil {
									return err
								}
								u = append(u, d)
							} else {
								d, err := timeRun(c.String("solo5-hvt"), args)
								if err != nil {
									return err
								}
								s = append(s, d)
							}
						}
					}
					mu, msolo := bench.Median(u), bench.Median(s)
					printf(c.App.Writer, "cold run, median of %d: uaaf %.2f ms, solo5-hvt %.2f ms: %.3fx\n",
						len(u), mu.Seconds()*1e3, msolo.Seconds()*1e3, float64(mu)/float64(msolo))
					return nil
				},
			},
		},
	}
}

// benchImage is the path of image name in the directory flag dirFlag
// (guest-dir or lib-dir) gives, by default the one package datadir finds;
// an error says which flag to use.
func benchImage(c *cli.Context, dirFlag, name string) (string, error) {
	dir := c.String(dirFlag)
	if dir == "" {
		d, err := datadir.Find()
		if err != nil {
			return "", fmt.Errorf("cannot find %s: %w; give its directory with --%s", name, err, dirFlag)
		}
		dir = d.Guest
		if dirFlag == "lib-dir" {
			dir = d.Lib
		}
	}
	return datadir.Image(dir, name, "--"+dirFlag)
}

// datadirDefault describes where a data directory flag looks by default
// (package datadir's rule; $UAAF_DATA_DIR/SUB first, said in the command's
// description).
func datadirDefault(sub, inTree string) string {
	return "PREFIX/" + datadir.ShareDir + "/" + sub + " of the installed uaaf, or " + inTree + " of its source tree"
}

// timeRun runs a command to completion, output discarded, and returns its
// wall time. A non-zero exit is fine (guests choose their status); failing
// to start is not.
func timeRun(path string, args []string) (time.Duration, error) {
	cmd := exec.Command(path, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	start := time.Now()
	err := cmd.Run()
	d := time.Since(start)
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}
