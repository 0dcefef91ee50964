package replay

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/tools/trace"
)

// TestReplayServe replays a small generated trace end to end: the real
// `uaaf serve` started per policy (as `make build` builds it, seccomp on),
// per-app library instances found through the alias directory, the policy
// clock scaled by the speed-up. A TTL of zero unloads every library as
// soon as it is idle, pinned never does: pinned loads each library once,
// holds more memory-time and has no more cold library uses.
func TestReplayServe(t *testing.T) {
	kvmtest.Require(t)
	root := kvmtest.RepoRoot(t)
	kvmtest.GuestImage(t, "replay")
	kvmtest.LibraryImage(t, "sha256")
	bin, err := kvmtest.BuildUAAF(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const speedup = 30
	p, err := Load(Options{TraceDir: genTrace(t, 12, "1-2"), Window: trace.Window{From: 1, To: 2}, Speedup: speedup, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	images, err := p.ResolveImages([]string{filepath.Join(root, "guest", "build")})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	libDir := filepath.Join(root, "libfuncs", "build")
	aliasDir := filepath.Join(out, "lib")
	if err := p.WriteAliases(aliasDir, []string{libDir}); err != nil {
		t.Fatal(err)
	}
	l := &ServeLauncher{Binary: bin, ClockScale: speedup, LibPath: []string{aliasDir, libDir}, Args: []string{"--pool", "fixed=4"}}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Compare(ctx, p, []string{"ttl=0s", "pinned"}, l, CompareConfig{
		Config: Config{Slack: 5 * time.Second, Images: images}, Out: out, Log: testWriter{t}})
	if err != nil {
		t.Fatal(err)
	}
	ttl0, pinned := c.Policies[0], c.Policies[1]
	for _, s := range c.Policies {
		if s.Invocations != len(p.Invocations) || s.Completed != s.Invocations || s.ClockScale != speedup || s.LibraryUses < s.Invocations {
			t.Errorf("%s: %d of %d completed (%d failed, %d rejected), clock scale %v, %d library uses", s.Policy, s.Completed, s.Invocations,
				s.Failed, s.Rejected, s.ClockScale, s.LibraryUses)
		}
		if _, err := os.Stat(filepath.Join(out, Slug(s.Policy), ServeLog)); err != nil {
			t.Error(err)
		}
	}
	if pinned.Loads != pinned.Libraries || pinned.ColdLibraryUses < pinned.Libraries || pinned.Libraries == 0 {
		t.Errorf("pinned: %d loads of %d libraries, %d cold uses", pinned.Loads, pinned.Libraries, pinned.ColdLibraryUses)
	}
	if ttl0.ColdLibraryUses < pinned.ColdLibraryUses || !(pinned.MemoryTime > ttl0.MemoryTime) || ttl0.MemoryTime <= 0 {
		t.Errorf("ttl=0s: %d cold uses, %.4f GiB·s; pinned: %d, %.4f GiB·s", ttl0.ColdLibraryUses, ttl0.MemoryTime, pinned.ColdLibraryUses, pinned.MemoryTime)
	}
	t.Logf("%d invocations; ttl=0s: cold %.3f, %.4f GiB·s; pinned: cold %.3f, %.4f GiB·s", len(p.Invocations),
		ttl0.ColdStartFraction, ttl0.MemoryTime, pinned.ColdStartFraction, pinned.MemoryTime)
}

// testWriter sends Compare's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}
