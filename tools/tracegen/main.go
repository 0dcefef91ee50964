// Command tracegen writes a synthetic day of the Azure Functions 2019 trace
// (tools/trace.Generate): the three CSV files of day NN in exactly the
// public trace's schema, with the skew "Serverless in the Wild" reports —
// a few functions take almost all invocations, most are invoked rarely.
// It stands in for the real trace, which cannot be downloaded here, for
// `uaaf replay`.
//
// Usage:
//
//	go run ./tools/tracegen [-functions 200] [-apps 66] [-owners 33]
//	    [-minutes FROM-TO] [-peak 100] [-zipf 2] [-seed 1] [-day 1] DIR
//
// -minutes limits the invocations to those minutes (the rest of the day is
// zero). On any error tracegen prints one line to stderr and exits with
// status 1.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/uaaf/uaaf/tools/trace"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it parses args, writes the files and
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	def := trace.DefaultGenOptions()
	fs := flag.NewFlagSet("tracegen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	functions := fs.Int("functions", def.Functions, "functions (rows)")
	apps := fs.Int("apps", def.Apps, "apps")
	owners := fs.Int("owners", def.Owners, "owners")
	minutes := fs.String("minutes", "", "minutes FROM-TO with invocations (default: the whole day)")
	peak := fs.Float64("peak", def.PeakPerMinute, "mean invocations per minute of the most popular function")
	zipf := fs.Float64("zipf", def.Zipf, "popularity exponent: rank r gets peak × r^-zipf")
	seed := fs.Uint64("seed", def.Seed, "seed")
	day := fs.Int("day", def.Day, "day NN of the file names")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "tracegen: "+format+"\n", a...)
		return 1
	}
	const usage = "usage: tracegen [-functions N] [-apps N] [-owners N] [-minutes FROM-TO] [-peak F] [-zipf F] [-seed S] [-day NN] DIR"
	if err := fs.Parse(args); err != nil {
		return fail("%v (%s)", err, usage)
	}
	if fs.NArg() != 1 {
		return fail("expected one output directory (%s)", usage)
	}
	w, err := trace.ParseWindow(*minutes)
	if err != nil {
		return fail("%v", err)
	}
	opts := def
	opts.Functions, opts.Apps, opts.Owners, opts.Active = *functions, *apps, *owners, w
	opts.PeakPerMinute, opts.Zipf, opts.Seed, opts.Day = *peak, *zipf, *seed, *day
	dir := fs.Arg(0)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail("%v", err)
	}
	t, err := trace.GenerateTrace(opts)
	if err != nil {
		return fail("%v", err)
	}
	if err := trace.Write(dir, t); err != nil {
		return fail("%v", err)
	}
	var total uint64
	for _, f := range t.Functions {
		total += f.Total
	}
	fmt.Fprintf(stdout, "wrote day %02d to %s: %d functions in %d apps, %d invocations in minutes %v\n", opts.Day, dir, len(t.Functions), opts.Apps, total, w)
	return 0
}
