package ctlapp

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/cmd/internal/datadir"
	"github.com/uaaf/uaaf/session/daemon"
)

// TestMessages: the exact line a mistake gets, printed once, nothing else
// (as main prints it), for the commands of this binary that fail before
// touching KVM or a daemon.
func TestMessages(t *testing.T) {
	t.Setenv(datadir.Env, "/nonexistent/uaaf-data")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bench"}, "bench: want a subcommand: fig10, startup, scale, memory, throughput, call, ab (see uaaf bench --help)"},
		{[]string{"bench", "frob"}, `bench: unknown subcommand "frob" (want fig10, startup, scale, memory, throughput, call, ab) (see uaaf bench --help)`},
		{[]string{"bench", "call", "--uaaf", "/bin/true", "--calls", "0", "--guest-dir", "/x", "--lib-dir", "/y"}, "fig10: bad configuration: rounds, probes, invocations, concurrency and calls must be at least 1"},
		{[]string{"bench", "call", "--guest-dir", "/nonexistent"}, "cannot find uaaf's images: uaaf's data directory not found: $UAAF_DATA_DIR=/nonexistent/uaaf-data is not a directory; give their directory with --lib-dir"},
		{[]string{"bench", "call"}, "cannot find uaaf's images: uaaf's data directory not found: $UAAF_DATA_DIR=/nonexistent/uaaf-data is not a directory; give their directory with --guest-dir"},
		{[]string{"bench", "startup", "--uaaf", "/bin/true", "--lib-dir", "/nonexistent", "--guest-dir", "/nonexistent"}, "fig10: bad configuration: image demo.hvt not found in /nonexistent (give the directory with --guest-dir): stat /nonexistent/demo.hvt: no such file or directory"},
		{[]string{"bench", "call", "--wrong"}, "flag provided but not defined: --wrong (see uaaf bench call --help)"},
		{[]string{"serve", "extra"}, `serve takes no arguments (got "extra"; see uaaf serve --help)`},
		{[]string{"serve", "--keep-alive", "bogus"}, `--keep-alive bogus: sched: unknown policy: keepalive "bogus" (known: ewma, hybrid, pinned, ttl) (see uaaf serve --help)`},
		{[]string{"serve", "--lib-ttl", "-5s"}, `--lib-ttl -5s: sched: bad policy spec: ttl: ttl="-5s" is not a duration ≥ 0 (e.g. 10m) (see uaaf serve --help)`},
		{[]string{"serve", "--image-keep-alive", "ttl=x"}, `--image-keep-alive ttl=x: sched: bad policy spec: ttl: ttl="x" is not a duration ≥ 0 (e.g. 10m) (see uaaf serve --help)`},
		{[]string{"serve", "--queue", "lifo"}, `--queue lifo: sched: unknown policy: queue "lifo" (known: edf, fair, fifo) (see uaaf serve --help)`},
		{[]string{"serve", "--pool-size", "-1"}, `--pool-size -1: sched: bad policy spec: fixed: want fixed=N with N ≥ 0, have "-1" (see uaaf serve --help)`},
		{[]string{"events", "--since", "abc"}, `invalid value "abc" for flag --since: parse error (see uaaf events --help)`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			app := New()
			var out, errb bytes.Buffer
			app.Writer, app.ErrWriter = &out, &errb
			code := command.ExitCode(app.Run(append([]string{"uaaf"}, tt.args...)), &errb)
			if code != 1 || errb.String() != "uaaf: "+tt.want+"\n" || out.Len() > 0 {
				t.Errorf("exit %d, stderr %q, stdout %q\nwant exit 1, stderr %q", code, errb.String(), out.String(), "uaaf: "+tt.want+"\n")
			}
		})
	}
}

// TestServeHelp: the --config file's format is in serve's own help, which
// no longer sends the reader to a README that does not describe it.
func TestServeHelp(t *testing.T) {
	app := New()
	var out bytes.Buffer
	app.Writer, app.ErrWriter = &out, &out
	if err := app.Run([]string{"uaaf", "serve", "--help"}); err != nil {
		t.Fatal(err)
	}
	help := out.String()
	for _, w := range []string{`The --config file is JSON, its relative paths relative to the file itself:`, `"lib_path": ["DIR"]`, `"mem_mib": 8}]}.`, "(its format: see the description)"} {
		if !strings.Contains(help, w) {
			t.Errorf("serve --help lacks %q:\n%s", w, help)
		}
	}
	// The example is a config the daemon reads: its field names are right.
	i, j := strings.Index(help, `{"lib_path"`), strings.Index(help, `}]}.`)
	if i < 0 || j < i {
		t.Fatalf("no config example in:\n%s", help)
	}
	example := strings.Join(strings.Fields(help[i:j+3]), " ")
	dec := json.NewDecoder(strings.NewReader(example))
	dec.DisallowUnknownFields()
	var cfg daemon.Config
	if err := dec.Decode(&cfg); err != nil || len(cfg.Libraries) != 1 || !cfg.Libraries[0].Pin || len(cfg.Images) != 1 || cfg.Images[0].MemMiB != 8 {
		t.Errorf("example %s: %+v, %v", example, cfg, err)
	}
	if strings.Contains(help, "README") {
		t.Errorf("serve --help still points at the README:\n%s", help)
	}
}
