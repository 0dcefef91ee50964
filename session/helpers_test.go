package session

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/switcher"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/libfuncs/libvm"
)

// newRegistry returns a registry preloading (pinned) the named libraries.
func newRegistry(t testing.TB, names ...string) *libvm.Registry {
	return newRegistryPaths(t, nil, names...)
}

// newRegistryPaths is newRegistry with a library search path.
func newRegistryPaths(t testing.TB, paths []string, names ...string) *libvm.Registry {
	t.Helper()
	kvmtest.Require(t)
	var console bytes.Buffer
	reg := libvm.NewRegistry(libvm.Config{Console: &syncWriter{w: &console}}, libfuncs.Config[*libvm.Library]{Paths: paths})
	t.Cleanup(func() { reg.Close() })
	for _, n := range names {
		if _, err := reg.Preload(n, kvmtest.LibraryImage(t, n), true); err != nil {
			t.Fatalf("preload %s: %v", n, err)
		}
	}
	return reg
}

// syncWriter serialises writes from concurrent sessions.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

func (s *syncWriter) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.String()
}

// result is one RESULT line of the calltest session.
type result struct {
	fn, status, hex string
}

// runCalltest runs the calltest session with words as its command line and
// returns its RESULT lines; the session is closed unless keep is set, in
// which case it is returned open (the caller closes it).
func runCalltest(t testing.TB, reg *libvm.Registry, table *Table, timeout time.Duration, keep bool, words ...string) ([]result, *Session, string) {
	t.Helper()
	return runCalltestOn(t, nil, reg, table, timeout, keep, words...)
}

// runCalltestOn is runCalltest on switch backend sel (nil: exit).
func runCalltestOn(t testing.TB, sel *switcher.Selection, reg *libvm.Registry, table *Table, timeout time.Duration, keep bool, words ...string) ([]result, *Session, string) {
	t.Helper()
	out := &syncWriter{w: &bytes.Buffer{}}
	s, err := New(Config{
		Monitor: monitor.Config{
			Kernel:  kvmtest.GuestImage(t, "calltest"),
			MemSize: 8 << 20,
			Args:    words,
			Console: out, Log: out,
		},
		Registry:    reg,
		Table:       table,
		CallTimeout: timeout,
		Switch:      sel,
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	status, err := s.Run(ctx)
	if err != nil || status != 0 {
		s.Close()
		t.Fatalf("Run = %d, %v; output:\n%s", status, err, out.String())
	}
	if !keep {
		s.Close()
		s = nil
	}
	var res []result
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "RESULT" {
			r := result{fn: f[1], status: f[2]}
			if len(f) > 3 {
				r.hex = f[3]
			}
			res = append(res, r)
		}
	}
	if !strings.Contains(out.String(), "DONE") {
		t.Fatalf("calltest did not finish; output:\n%s", out.String())
	}
	if len(res) != len(words) {
		t.Fatalf("%d results for %d words; output:\n%s", len(res), len(words), out.String())
	}
	return res, s, out.String()
}

// calltestConfig is a monitor config for the calltest session.
func calltestConfig(t testing.TB) monitor.Config {
	return monitor.Config{Kernel: kvmtest.GuestImage(t, "calltest"), MemSize: 8 << 20, Console: &bytes.Buffer{}, Log: &bytes.Buffer{}}
}
