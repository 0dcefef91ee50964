package daemon

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
)

// TestTemplateBound: invocations of one image with many memory sizes (the
// request's choice) keep at most maxTemplates templates of it, so the
// daemon's memfds (and the shells the pool keeps per template) stop
// growing; every invocation runs.
func TestTemplateBound(t *testing.T) {
	td := startDaemon(t, Options{})
	run := func(mem int) {
		t.Helper()
		res := td.invoke(t, api.Invoke{Image: "hello", Args: []string{"Hello_Solo5"}, MemMiB: mem})
		if res.ExitStatus == nil || *res.ExitStatus != 0 {
			t.Fatalf("hello at %d MiB: %+v", mem, res.Session)
		}
	}
	for mem := 2; mem <= 2*maxTemplates; mem += 2 {
		run(mem)
	}
	td.http.CloseIdleConnections()
	full := measure(t)
	for mem := 2 * (maxTemplates + 1); mem <= 64; mem += 2 {
		run(mem)
	}
	td.mu.Lock()
	im := td.images["hello"]
	td.mu.Unlock()
	if n := im.templates(); n > maxTemplates {
		t.Errorf("hello holds %d templates, at most %d", n, maxTemplates)
	}
	td.http.CloseIdleConnections()
	var after resources
	// A template is a memfd; its shells in the pool come and go with the
	// pool's refills, so the fd total is logged, not compared.
	ok := waitFor(5*time.Second, func() bool { after = measure(t); return after.memfds <= full.memfds })
	t.Logf("fds %d→%d, memfds %d→%d after 32 memory sizes", full.fds, after.fds, full.memfds, after.memfds)
	if !ok {
		t.Errorf("memfds grew with the memory sizes asked for: %+v → %+v", full, after)
	}
	var img api.Image
	td.must(t, "GET", "/v1/images/hello", nil, http.StatusOK, &img)
	if img.Memory == 0 {
		t.Errorf("image %+v: no template memory", img)
	}
}

// TestPathImageCache: more images invoked by path than the cache holds
// all run (the newest entry used to be the one evicted, and its session
// then found its image removed), and the cache stays bounded.
func TestPathImageCache(t *testing.T) {
	td := startDaemon(t, Options{})
	src, err := os.ReadFile(kvmtest.GuestImage(t, "hello"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range maxPathImages + 3 {
		p := filepath.Join(dir, fmt.Sprintf("hello%d.hvt", i))
		if err := os.WriteFile(p, src, 0o644); err != nil {
			t.Fatal(err)
		}
		status, _, out := td.do(t, "POST", "/v1/invoke", api.Invoke{Image: p, Args: []string{"Hello_Solo5"}, MemMiB: 4})
		if status != http.StatusOK {
			t.Fatalf("image %d by path: %d %s", i, status, out)
		}
	}
	td.mu.Lock()
	n := len(td.paths)
	td.mu.Unlock()
	if n > maxPathImages {
		t.Errorf("%d path images cached, at most %d", n, maxPathImages)
	}
}

// TestRetainBound: the records of ended sessions nobody deleted are kept
// up to MaxRetained; past it the oldest go (session.expired), the newest
// stay, and invocations (which delete their own) do not count.
func TestRetainBound(t *testing.T) {
	td := startDaemon(t, Options{MaxRetained: 3})
	var ids []uint64
	for range 5 {
		var s api.Session
		td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "hello", Args: []string{"Hello_Solo5"}, Start: true}, http.StatusCreated, &s)
		td.must(t, "GET", fmt.Sprintf("/v1/sessions/%d/wait?timeout=30s", s.ID), nil, http.StatusOK, &s)
		if s.State != api.StateExited {
			t.Fatalf("session %d: %+v", s.ID, s)
		}
		ids = append(ids, s.ID)
	}
	var killed api.Session // created, never started, killed: ended too
	td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "hello"}, http.StatusCreated, &killed)
	td.must(t, "POST", fmt.Sprintf("/v1/sessions/%d/kill", killed.ID), nil, http.StatusOK, nil)
	ids = append(ids, killed.ID)
	for range 4 {
		td.invoke(t, api.Invoke{Image: "hello", Args: []string{"Hello_Solo5"}})
	}
	var got []uint64
	for _, s := range td.Sessions() {
		got = append(got, s.ID)
	}
	if want := ids[3:]; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("sessions kept %v, want the newest three %v", got, want)
	}
	expired := 0
	for _, ev := range td.events(t, 0, 200, 300*time.Millisecond) {
		if ev.Type == "session.expired" {
			expired++
		}
	}
	if expired != 3 {
		t.Errorf("%d session.expired events, want 3", expired)
	}
	td.must(t, "DELETE", fmt.Sprintf("/v1/sessions/%d", ids[5]), nil, http.StatusNoContent, nil)
	td.mu.Lock()
	n := td.retained
	td.mu.Unlock()
	if n != 2 {
		t.Errorf("retained count %d after a delete, want 2", n)
	}
}

// TestConsoleLarge: a console larger than one read's chunk comes back
// whole, read at once or followed.
func TestConsoleLarge(t *testing.T) {
	td := startDaemon(t, Options{})
	var s api.Session
	td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "flood", Args: []string{"300"}, Start: true}, http.StatusCreated, &s)
	path := fmt.Sprintf("/v1/sessions/%d", s.ID)
	_, _, followed := td.do(t, "GET", path+"/console?follow=true", nil)
	td.must(t, "GET", path+"/wait?timeout=60s", nil, http.StatusOK, &s)
	_, _, whole := td.do(t, "GET", path+"/console", nil)
	_, _, tail := td.do(t, "GET", path+"/console?offset=100000", nil)
	if s.Console < 300<<10 || int64(len(whole)) != s.Console || !bytes.Equal(followed, whole) || !bytes.Equal(tail, whole[100000:]) {
		t.Errorf("console of %d bytes: read %d, followed %d, from 100000 %d", s.Console, len(whole), len(followed), len(tail))
	}
}
