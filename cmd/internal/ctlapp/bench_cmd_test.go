package ctlapp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// TestBenchCommands runs `uaaf bench` panels briefly through the CLI and
// checks what they write and say; the numbers themselves are not judged
// (the panel drivers' own tests check those). Flag errors — a broken
// --solo5-hvt, a missing image, wrong arguments — are errors.
func TestBenchCommands(t *testing.T) {
	kvmtest.Require(t)
	root := kvmtest.RepoRoot(t)
	kvmtest.GuestImage(t, "pause")
	bin, err := kvmtest.BuildUAAF(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"--uaaf", bin, "--guest-dir", filepath.Join(root, "guest", "build"), "--lib-dir", filepath.Join(root, "libfuncs", "build"), "--no-runc"}
	run := func(args ...string) (string, error) {
		app := New()
		var out bytes.Buffer
		app.Writer, app.ErrWriter = &out, &out
		err := app.Run(append([]string{"uaaf", "bench"}, args...))
		return out.String(), err
	}
	out := t.TempDir()
	got, err := run(append([]string{"startup", "--quick", "--rounds", "2", "--out", out}, base...)...)
	if err != nil {
		t.Fatalf("bench startup: %v\n%s", err, got)
	}
	for _, f := range []string{"startup.csv", "startup.png", "summary.json", "summary.md"} {
		if !strings.Contains(got, "wrote "+filepath.Join(out, f)) {
			t.Errorf("bench startup did not say it wrote %s:\n%s", f, got)
		}
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	if !strings.Contains(got, "issue 11: p50 session start ≤ 0.1× uaaf isolated: ") {
		t.Errorf("bench startup printed no goals:\n%s", got)
	}
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	if !strings.Contains(string(md), "| solo5-hvt | no --solo5-hvt given") || !strings.Contains(string(md), "| runc | --no-runc given |") {
		t.Errorf("summary.md does not say what was skipped:\n%s", md)
	}

	if got, err := run(append([]string{"call", "--calls", "10", "--rounds", "4", "--out", t.TempDir()}, base...)...); err != nil {
		t.Errorf("bench call: %v\n%s", err, got)
	}

	for _, tc := range []struct {
		name string
		args []string
		err  string
	}{
		{"solo5-hvt /bin/false", append([]string{"startup", "--solo5-hvt", "/bin/false", "--out", t.TempDir()}, base...), "solo5-hvt"},
		{"missing image", append(append([]string{"startup", "--out", t.TempDir()}, base...), "--guest-dir", t.TempDir()), "--guest-dir"},
		{"stray argument", append([]string{"startup", "x"}, base...), "takes no arguments"},
		{"ab with one build", append([]string{"ab"}, append(base, bin)...), "OLD_UAAF and NEW_UAAF"},
		{"ab unknown panel", append([]string{"ab", "--panel", "nope", "--out", t.TempDir()}, append(base, bin, bin)...), "A/B panel"},
	} {
		got, err := run(tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one containing %q\n%s", tc.name, err, tc.err, got)
		}
	}
}
