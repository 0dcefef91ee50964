package ctlapp

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// TestBenchCommands runs `uaaf bench call` and `uaaf bench start` briefly
// and checks what they report; the numbers themselves are not judged.
func TestBenchCommands(t *testing.T) {
	kvmtest.Require(t)
	root := kvmtest.RepoRoot(t)
	kvmtest.GuestImage(t, "callbench")
	dirs := []string{"--guest-dir", filepath.Join(root, "guest", "build"), "--lib-dir", filepath.Join(root, "libfuncs", "build")}
	run := func(args ...string) (string, error) {
		app := New()
		var out bytes.Buffer
		app.Writer, app.ErrWriter = &out, &out
		err := app.Run(append([]string{"uaaf", "bench"}, args...))
		return out.String(), err
	}
	out, err := run(append([]string{"call", "--n", "20", "--json"}, dirs...)...)
	if err != nil {
		t.Fatalf("bench call: %v\n%s", err, out)
	}
	var call struct {
		N            int     `json:"n"`
		ExitsPerCall float64 `json:"exits_per_call"`
		XHypercall   float64 `json:"x_hypercall"`
	}
	if err := json.Unmarshal([]byte(out), &call); err != nil || call.N != 20 || call.ExitsPerCall != 2 || call.XHypercall <= 0 {
		t.Errorf("bench call: %+v %v\n%s", call, err, out)
	}
	out, err = run(append([]string{"start", "--rounds", "1"}, dirs...)...)
	if err != nil || !strings.Contains(out, "to first instruction") {
		t.Errorf("bench start: %v\n%s", err, out)
	}
	if _, err := run("cold", "x.hvt"); err == nil {
		t.Error("bench cold without --solo5-hvt accepted")
	}
	if _, err := run(append([]string{"call", "--n", "0"}, dirs...)...); err == nil {
		t.Error("bench call --n 0 accepted")
	}
}
