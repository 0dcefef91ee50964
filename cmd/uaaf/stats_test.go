package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// TestStats: `uaaf run --stats` ends stderr with one JSON object saying how
// the run went: its phases (the seccomp filter's Install among them, 0
// without the filter), exits, hypercalls, and the filter in place.
func TestStats(t *testing.T) {
	kvmtest.Require(t)
	hello := kvmtest.GuestImage(t, "hello")
	for _, tt := range []struct {
		mode, want string
	}{
		{"kill", "kill (profile runner)"},
		{"off", "off"},
	} {
		r := runUAAF(t, "run", "--stats", "--seccomp="+tt.mode, "--mem=8", hello, "Hello_Solo5")
		ls := lines(r.stderr)
		if r.code != 0 || len(ls) == 0 {
			t.Fatalf("--seccomp=%s: exit %d, stderr %q", tt.mode, r.code, r.stderr)
		}
		var st struct {
			Status     int                `json:"exit_status"`
			Phases     map[string]float64 `json:"phases_ms"`
			VMExits    uint64             `json:"vm_exits"`
			Hypercalls map[string]uint64  `json:"hypercalls"`
			Seccomp    string             `json:"seccomp"`
		}
		if err := json.Unmarshal([]byte(ls[len(ls)-1]), &st); err != nil {
			t.Fatalf("--seccomp=%s: last stderr line %q: %v", tt.mode, ls[len(ls)-1], err)
		}
		if st.Seccomp != tt.want || st.Status != 0 || st.VMExits == 0 || st.Hypercalls["puts"] == 0 || st.Hypercalls["halt"] != 1 {
			t.Errorf("--seccomp=%s: stats %+v", tt.mode, st)
		}
		for _, p := range []string{"load", "first_instruction", "run_to_halt", "run_total", "seccomp"} {
			if _, ok := st.Phases[p]; !ok {
				t.Errorf("--seccomp=%s: no phase %q in %v", tt.mode, p, st.Phases)
			}
		}
		if on := st.Phases["seccomp"] > 0; on != (tt.mode == "kill") || st.Phases["seccomp"] > st.Phases["run_total"] {
			t.Errorf("--seccomp=%s: seccomp phase %v ms of %v", tt.mode, st.Phases["seccomp"], st.Phases["run_total"])
		}
		if !strings.Contains(r.stdout, "Hello, World") {
			t.Errorf("--seccomp=%s: stdout %q", tt.mode, r.stdout)
		}
	}
}
