package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/tools/trace"
)

// TestRun: tracegen writes a day that trace.Load reads back with the
// functions asked for and invocations only in the minutes asked for; bad
// usage is one line and status 1.
func TestRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "t")
	var out, errb bytes.Buffer
	if code := run([]string{"-functions", "40", "-apps", "10", "-owners", "4", "-minutes", "1-30", "-seed", "9", "-day", "3", dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	tr, err := trace.Load(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, f := range tr.Functions {
		for m := range f.Minutes() {
			if m > 30 {
				t.Fatalf("function %v invoked in minute %d", f.Key, m)
			}
		}
		total += f.Total
	}
	if len(tr.Functions) != 40 || tr.Durations == nil || len(tr.Memory) != 10 || total == 0 ||
		!strings.Contains(out.String(), "40 functions in 10 apps") {
		t.Errorf("%d functions, %d apps, %d invocations; output %q", len(tr.Functions), len(tr.Memory), total, out.String())
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "tracegen: expected one output directory"},
		{[]string{"-minutes", "9-2", dir}, `minutes "9-2"`},
		{[]string{"-apps", "500", dir}, "500 apps, want 1..200"},
		{[]string{"-bogus", dir}, "flag provided but not defined: -bogus"},
	} {
		var errb bytes.Buffer
		if code := run(tc.args, &bytes.Buffer{}, &errb); code != 1 || !strings.Contains(errb.String(), tc.want) || strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%q: exit %d, %q; want 1 and %q", tc.args, code, errb.String(), tc.want)
		}
	}
}
