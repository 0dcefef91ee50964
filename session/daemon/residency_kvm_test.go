package daemon

import (
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/sched"
)

// viewOf returns the view of library lib in r, or a zero View.
func viewOf(r api.InvokeResult, lib string) api.View {
	for _, v := range r.Views {
		if v.Library == lib {
			return v
		}
	}
	return api.View{}
}

// TestAliasAndResidency: an invocation binding an import to an alias
// (Invoke.Libraries) loads the alias from the search path, cold, and the
// next one finds it warm; session.created events say which libraries were
// warm and end events carry the timings; the keep-alive TTL runs on the
// scaled policy clock, and GET /v1/residency reports the alias's interval
// on that clock with its memory-time. Bad aliases are 400s.
func TestAliasAndResidency(t *testing.T) {
	dir := t.TempDir()
	os.Symlink(kvmtest.LibraryImage(t, "sha256"), filepath.Join(dir, "a1_sha256.hvt"))
	const scale = 20
	clock := sched.NewScaledClock(time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC), scale)
	td := startDaemon(t, Options{LibPaths: []string{dir}, KeepAlive: "ttl=4s", Clock: clock}) // 200 ms of real time

	alias := map[string]string{"sha256": "a1_sha256"}
	first := td.invoke(t, api.Invoke{Image: "demo", Libraries: alias})
	second := td.invoke(t, api.Invoke{Image: "demo", Libraries: alias})
	for i, r := range []api.InvokeResult{first, second} {
		if r.State != api.StateExited || *r.ExitStatus != 0 || !strings.Contains(r.Output, "SUCCESS") {
			t.Fatalf("invocation %d: %s %v: %s", i+1, r.State, r.ExitStatus, r.Output)
		}
		if v := viewOf(r, "sha256"); v.Library != "" {
			t.Errorf("invocation %d bound sha256 itself: %+v", i+1, v)
		}
	}
	if v := viewOf(first, "a1_sha256"); v.Calls != 1 || v.Warm {
		t.Errorf("first a1_sha256 view %+v, want one call, cold", v)
	}
	if v := viewOf(second, "a1_sha256"); v.Calls != 1 || !v.Warm {
		t.Errorf("second a1_sha256 view %+v, want one call, warm", v)
	}

	if !waitFor(5*time.Second, func() bool { _, err := td.Library("a1_sha256"); return err != nil }) {
		t.Fatal("a1_sha256 still loaded long after its TTL")
	}
	var res api.Residency
	td.must(t, "GET", "/v1/residency", nil, http.StatusOK, &res)
	if res.ClockScale != scale || res.Now.Year() != 2019 {
		t.Errorf("residency clock: scale %v, now %v", res.ClockScale, res.Now)
	}
	var lr *api.LibraryResidency
	for i := range res.Libraries {
		if res.Libraries[i].Name == "a1_sha256" {
			lr = &res.Libraries[i]
		}
	}
	if lr == nil || len(lr.Intervals) != 1 {
		t.Fatalf("a1_sha256 residency %+v, want one interval", lr)
	}
	iv := lr.Intervals[0]
	held := iv.Unload.Sub(iv.Load)
	if iv.Unload.IsZero() || iv.Bytes == 0 || held < 4*time.Second || held > 4*time.Second*scale {
		t.Errorf("interval %+v (%v), want closed, ≥ the 4 s TTL of the policy clock, with memory", iv, held)
	}
	if want := held.Seconds() * float64(iv.Bytes) / (1 << 30); math.Abs(lr.MemoryTime-want) > 1e-9*want {
		t.Errorf("memory-time %v GiB·s, want %v", lr.MemoryTime, want)
	}
	for _, l := range res.Libraries {
		if l.Name == "sha256" && (len(l.Intervals) != 1 || !l.Intervals[0].Unload.IsZero()) {
			t.Errorf("pinned sha256: %+v, want one open interval", l)
		}
	}

	var created, ended, loaded int
	for _, ev := range td.events(t, 0, 1000, 300*time.Millisecond) {
		switch ev.Type {
		case "session.created":
			created++
			warm := map[string]bool{}
			for _, u := range ev.Libraries {
				warm[u.Library] = u.Warm
			}
			if len(ev.Libraries) != 4 || warm["a1_sha256"] != (created == 2) || !warm["crc32"] {
				t.Errorf("session.created %d libraries %+v", created, ev.Libraries)
			}
		case "session.exited":
			ended++
			if ev.Timings == nil || ev.Timings.StartNs <= 0 || ev.Timings.RunNs <= 0 {
				t.Errorf("session.exited timings %+v", ev.Timings)
			}
		case "library.loaded":
			if ev.Library == "a1_sha256" {
				loaded++
				if ev.Bytes != iv.Bytes {
					t.Errorf("library.loaded bytes %d, residency says %d", ev.Bytes, iv.Bytes)
				}
			}
		}
	}
	if created != 2 || ended != 2 || loaded != 1 {
		t.Errorf("events: %d created, %d exited, %d loads of a1_sha256; want 2, 2, 1", created, ended, loaded)
	}

	for _, tc := range []struct {
		libs map[string]string
		want string
	}{
		{map[string]string{"nosuch": "a1_sha256"}, "nosuch is given another library"},
		{map[string]string{"sha256": "crc32"}, "would both be served by library crc32"},
		{map[string]string{"sha256": "9bad"}, "must be library names"},
		{map[string]string{"sha256": "a2_sha256"}, "a2_sha256 (for imports of sha256)"},
	} {
		status, _, body := td.do(t, "POST", "/v1/invoke", api.Invoke{Image: "demo", Libraries: tc.libs})
		if status != http.StatusBadRequest || !strings.Contains(string(body), tc.want) {
			t.Errorf("libraries %v: %d %s, want 400 with %q", tc.libs, status, body, tc.want)
		}
	}
}
