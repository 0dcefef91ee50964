package cliapp

import (
	"bytes"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"
)

// testApp is an application shaped like uaaf's: a plain command with a
// flag, and a group of subcommands without an action of its own.
func testApp() *cli.App {
	app := &cli.App{
		Name: "uaaf",
		Commands: []*cli.Command{
			{Name: "inspect", Flags: []cli.Flag{&cli.BoolFlag{Name: "json"}, &cli.IntFlag{Name: "n"}, &cli.IntFlag{Name: "since"}},
				Action: func(*cli.Context) error { return nil }},
			{Name: "bench", Subcommands: []*cli.Command{
				{Name: "call", Action: func(*cli.Context) error { return nil }},
				{Name: "cold", Action: func(*cli.Context) error { return nil }},
				{Name: "secret", Hidden: true, Action: func(*cli.Context) error { return nil }},
			}},
		},
	}
	Setup(app)
	return app
}

// TestRunErrors: each mistake is one error, exactly this text, and
// nothing printed.
func TestRunErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"; the commands are: inspect, bench (see uaaf --help)`},
		{[]string{"help", "frobnicate"}, `unknown command "frobnicate"; the commands are: inspect, bench (see uaaf --help)`},
		{[]string{"h", "frobnicate"}, `unknown command "frobnicate"; the commands are: inspect, bench (see uaaf --help)`},
		{[]string{"--frob"}, "flag provided but not defined: --frob (see uaaf --help)"},
		{[]string{"-x"}, "flag provided but not defined: -x (see uaaf --help)"},
		{[]string{"inspect", "--wrong"}, "flag provided but not defined: --wrong (see uaaf inspect --help)"},
		{[]string{"inspect", "-n", "abc"}, `invalid value "abc" for flag -n: parse error (see uaaf inspect --help)`},
		{[]string{"inspect", "--since=abc"}, `invalid value "abc" for flag --since: parse error (see uaaf inspect --help)`},
		{[]string{"inspect", "--json=maybe"}, `invalid boolean value "maybe" for --json: parse error (see uaaf inspect --help)`},
		{[]string{"inspect", "--since"}, "flag needs an argument: --since (see uaaf inspect --help)"},
		{[]string{"bench"}, "bench: want a subcommand: call, cold (see uaaf bench --help)"},
		{[]string{"bench", "frob"}, `bench: unknown subcommand "frob" (want call, cold) (see uaaf bench --help)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			app := testApp()
			var out bytes.Buffer
			app.Writer, app.ErrWriter = &out, &out
			err := Run(app, append([]string{"uaaf"}, tt.args...))
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant    %s", err, tt.want)
			}
			if out.Len() > 0 {
				t.Errorf("printed %q", out.String())
			}
		})
	}
	// What works still works.
	for _, args := range [][]string{{"inspect", "--json"}, {"bench", "call"}, {"help", "bench"}, {"bench", "secret"}} {
		app := testApp()
		app.Writer, app.ErrWriter = &bytes.Buffer{}, &bytes.Buffer{}
		if err := Run(app, append([]string{"uaaf"}, args...)); err != nil {
			t.Errorf("%q: %v", args, err)
		}
	}
}

func TestLongDashes(t *testing.T) {
	tests := []struct{ in, want string }{
		{"flag provided but not defined: -wrong", "flag provided but not defined: --wrong"},
		{"flag provided but not defined: -x", "flag provided but not defined: -x"},
		{"flag provided but not defined: --wrong", "flag provided but not defined: --wrong"},
		{`invalid value "a" for flag -since: parse error`, `invalid value "a" for flag --since: parse error`},
		{`invalid value "a" for flag -n: parse error`, `invalid value "a" for flag -n: parse error`},
		{`invalid boolean value "m" for -json: parse error`, `invalid boolean value "m" for --json: parse error`},
		{"flag needs an argument: -socket", "flag needs an argument: --socket"},
		{"nothing to do here - really", "nothing to do here - really"},
		{"for -", "for -"},
	}
	for _, tt := range tests {
		if got := longDashes(tt.in); got != tt.want {
			t.Errorf("longDashes(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// FuzzLongDashes: any text, no panic, and a second pass changes nothing.
func FuzzLongDashes(f *testing.F) {
	for _, s := range []string{"flag provided but not defined: -wrong", "for flag -n: x", "for -", "needs an argument: -", "for flag --x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := longDashes(s)
		if twice := longDashes(once); twice != once {
			t.Errorf("longDashes not idempotent on %q: %q then %q", s, once, twice)
		}
	})
}
