package ctlapp

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
)

// The client verbs (lib, image, session, ps, invoke, events) talk to a
// running `uaaf serve` through package client. Each takes --socket (also
// $UAAF_SOCKET) and --json; text output is aligned tables; every error is
// one line (main prints it as "uaaf: …"), wrong usage included.

func jsonFlag() *cli.BoolFlag {
	return &cli.BoolFlag{Name: "json", Usage: "print JSON (the API's bodies) instead of text"}
}

// clientFlags are the flags every client verb takes, then extra.
func clientFlags(extra ...cli.Flag) []cli.Flag {
	return append([]cli.Flag{socketFlag(), jsonFlag()}, extra...)
}

// dial returns a client of the daemon c's --socket names.
func dial(c *cli.Context) *client.Client { return client.New(c.String("socket")) }

// usageError is wrong usage of the command c, as one line.
func usageError(c *cli.Context, format string, args ...any) error {
	return fmt.Errorf("%s: %s (see %s --help)", cmdName(c), fmt.Sprintf(format, args...), c.Command.HelpName)
}

// cmdName is the command c runs, without the program's name: "lib load".
func cmdName(c *cli.Context) string {
	return strings.TrimPrefix(c.Command.HelpName, c.App.Name+" ")
}

// wantArgs checks that c got between min and max arguments (max < 0: no
// bound), named what for the message.
func wantArgs(c *cli.Context, min, max int, what string) error {
	if n := c.NArg(); n < min || (max >= 0 && n > max) {
		if n < min {
			return usageError(c, "want %s", what)
		}
		return usageError(c, "want %s, got %d arguments", what, n)
	}
	return nil
}

// groupCommand is a command with subcommands only: run without one, or
// with an unknown one, it says so in one line instead of printing help.
func groupCommand(name, usage string, subs ...*cli.Command) *cli.Command {
	names := make([]string, len(subs))
	for i, s := range subs {
		names[i] = s.Name
	}
	return &cli.Command{
		Name: name, Usage: usage, Subcommands: subs, HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return usageError(c, "want a subcommand: %s", strings.Join(names, ", "))
			}
			return usageError(c, "unknown subcommand %q (want %s)", c.Args().First(), strings.Join(names, ", "))
		},
	}
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printJSONLine writes v as one line of JSON.
func printJSONLine(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

// table returns a tabwriter for aligned columns; Flush it.
func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// row writes cells as one tab-separated line.
func row(w io.Writer, cells ...any) {
	for i, c := range cells {
		if i > 0 {
			fmt.Fprint(w, "\t")
		}
		fmt.Fprint(w, c)
	}
	fmt.Fprint(w, "\n")
}

// humanBytes writes n bytes in binary units: "512 B", "4.0 KiB", "88 KiB".
func humanBytes[T int64 | uint64 | int](n T) string {
	v := float64(n)
	if v < 1024 {
		return fmt.Sprintf("%d B", int64(n))
	}
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	i := -1
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if v < 10 && math.Floor(v*10) != math.Floor(v)*10 {
		return fmt.Sprintf("%.1f %s", math.Floor(v*10)/10, units[i])
	}
	return fmt.Sprintf("%.0f %s", math.Floor(v), units[i])
}

// human writes a duration in ns with three significant digits: "312µs",
// "1.95ms"; 0 is "-".
func human(ns int64) string {
	if ns <= 0 {
		return "-"
	}
	d := time.Duration(ns)
	for r := time.Duration(1); r < time.Hour; r *= 10 {
		if d < 1000*r {
			return d.Round(r).String()
		}
	}
	return d.Round(time.Second).String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// orDash is s, or "-" if empty.
func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// splitAssign parses NAME=PATH; the path is made absolute against this
// process's working directory (the daemon's may differ).
func splitAssign(c *cli.Context, arg string) (name, path string, err error) {
	name, path, ok := strings.Cut(arg, "=")
	if !ok || name == "" || path == "" {
		return "", "", usageError(c, "%q is not NAME=PATH", arg)
	}
	if path, err = filepath.Abs(path); err != nil {
		return "", "", fmt.Errorf("%s: %w", arg, err)
	}
	return name, path, nil
}

// imageRef is what a session names: a path (with a '/' or ending in .hvt,
// as the daemon tells them apart) is made absolute; a name stays.
func imageRef(ref string) (string, error) {
	if !strings.ContainsRune(ref, '/') && !strings.HasSuffix(ref, ".hvt") {
		return ref, nil
	}
	return filepath.Abs(ref)
}

// unknownImage turns the daemon's "no image named NAME" (a 404 answering a
// session of an image name, whose advice is the API's) into the CLI's
// advice; other errors pass unchanged.
func unknownImage(err error, ref string) error {
	if errors.Is(err, client.ErrNotFound) && !strings.ContainsRune(ref, '/') {
		return fmt.Errorf("no image named %q: register it with `uaaf image add %s=PATH`, or give the image's path", ref, ref)
	}
	return err
}

// readInput reads --input: a file, or standard input for "-", at most
// api.MaxInput bytes. No --input is nil.
func readInput(c *cli.Context) ([]byte, error) {
	name := c.String("input")
	if name == "" {
		return nil, nil
	}
	var r io.Reader = c.App.Reader
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("--input: %w", err)
		}
		defer f.Close()
		r = f
	}
	if r == nil {
		r = os.Stdin
	}
	data, err := io.ReadAll(io.LimitReader(r, api.MaxInput+1))
	if err != nil {
		return nil, fmt.Errorf("--input %s: %w", name, err)
	}
	if len(data) > api.MaxInput {
		return nil, fmt.Errorf("--input %s: more than the %s an invocation carries", name, humanBytes(api.MaxInput))
	}
	if data == nil {
		data = []byte{}
	}
	return data, nil
}

// limitFlags are the session limits create and invoke take.
func limitFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "mem", Usage: "guest memory, `MiB`", DefaultText: "the image's"},
		&cli.StringFlag{Name: "input", Usage: "input payload from `FILE` (- for standard input), at most 1 MiB; the guest reads it from block device \"input\""},
		&cli.DurationFlag{Name: "timeout", Usage: "wall-time limit of the session", DefaultText: "the daemon's"},
		&cli.DurationFlag{Name: "call-timeout", Usage: "deadline of one library call", DefaultText: "the daemon's"},
		&cli.Int64Flag{Name: "max-console", Usage: "console `BYTES` kept", DefaultText: "the daemon's"},
	}
}

// limits reads the limit flags.
func limits(c *cli.Context) (api.Limits, error) {
	ms := func(flag string) (int64, error) {
		d := c.Duration(flag)
		if d < 0 {
			return 0, usageError(c, "--%s %v is negative", flag, d)
		}
		return int64((d + time.Millisecond - 1) / time.Millisecond), nil // at least 1 ms if set
	}
	var l api.Limits
	var err error
	if l.TimeoutMs, err = ms("timeout"); err != nil {
		return l, err
	}
	if l.CallTimeoutMs, err = ms("call-timeout"); err != nil {
		return l, err
	}
	if l.MaxConsoleBytes = c.Int64("max-console"); l.MaxConsoleBytes < 0 {
		return l, usageError(c, "--max-console %d is negative", l.MaxConsoleBytes)
	}
	if c.Int("mem") < 0 {
		return l, usageError(c, "--mem %d is negative", c.Int("mem"))
	}
	return l, nil
}
