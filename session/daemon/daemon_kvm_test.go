package daemon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/seccomp"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/sched"
)

// TestInvoke: an invocation of a session importing four preloaded
// libraries runs to its end and says what it did: exit status, output, the
// S-F row (all four warm, one call each) and its start timings; the events
// stream shows it created, started, exited and deleted.
func TestInvoke(t *testing.T) {
	td := startDaemon(t, Options{})
	res := td.invoke(t, api.Invoke{Image: "demo"})
	if res.State != api.StateExited || res.ExitStatus == nil || *res.ExitStatus != 0 || !strings.Contains(res.Output, "SUCCESS") {
		t.Fatalf("demo: %+v\n%s", res.Session, res.Output)
	}
	if len(res.Views) != 4 {
		t.Fatalf("views %+v, want four", res.Views)
	}
	for _, v := range res.Views {
		if !v.Warm || v.Calls != 1 || v.Faults != 0 {
			t.Errorf("view %+v: want warm, one call, no fault", v)
		}
	}
	tm := res.Timings
	if tm.StartNs <= 0 || tm.RunNs <= 0 || tm.TotalNs < tm.StartNs+tm.RunNs || tm.CPUNs <= 0 || tm.VMExits == 0 {
		t.Errorf("timings %+v", tm)
	}
	if tm.QueuedNs+tm.BindNs+tm.BootNs != tm.StartNs {
		t.Errorf("start %d is not queued+bind+boot %d", tm.StartNs, tm.QueuedNs+tm.BindNs+tm.BootNs)
	}
	var types []string
	for _, ev := range td.events(t, 0, 100, 300*time.Millisecond) {
		if ev.Session == res.ID {
			types = append(types, ev.Type)
		}
	}
	want := "session.created session.started library.instantiated library.instantiated library.instantiated library.instantiated session.exited session.deleted"
	if got := strings.Join(types, " "); got != want {
		t.Errorf("events of the session:\n got  %s\n want %s", got, want)
	}
	// Invoked by path too, and with a plain Solo5 guest.
	res = td.invoke(t, api.Invoke{Image: kvmtest.GuestImage(t, "hello"), Args: []string{"Hello_Solo5"}, MemMiB: 4})
	if *res.ExitStatus != 0 || !strings.Contains(res.Output, "Hello, World") || len(res.Views) != 0 {
		t.Errorf("hello by path: %+v\n%s", res.Session, res.Output)
	}
	res = td.invoke(t, api.Invoke{Image: "hello", Args: []string{"wrong"}})
	if *res.ExitStatus != 1 {
		t.Errorf("hello with the wrong argument: exit %d, want 1", *res.ExitStatus)
	}
	// A console that is not UTF-8 comes back exactly, in output_base64;
	// one that is has no output_base64.
	res = td.invoke(t, api.Invoke{Image: kvmtest.GuestImage(t, "flood"), Args: []string{"2", "bytes"}, MemMiB: 8})
	line := make([]byte, 1024)
	for i := range 1023 {
		line[i] = byte(i)
	}
	line[1023] = '\n'
	banner := "uaaf guest: starting, mem 8 MiB\n"
	want = banner + string(line) + string(line) + "uaaf guest: exit 0\n"
	if got := string(res.ConsoleBytes()); got != want || res.OutputBase64 == nil || !strings.Contains(res.Output, "\uFFFD") {
		t.Errorf("binary console: %d bytes (base64 %v), want %d exactly", len(got), res.OutputBase64 != nil, len(want))
	}
	if res = td.invoke(t, api.Invoke{Image: "hello", Args: []string{"Hello_Solo5"}}); res.OutputBase64 != nil {
		t.Errorf("a UTF-8 console came with output_base64 too")
	}
}

// TestInvokeInput: an invocation's input reaches the guest as the block
// device "input"; digest prints its SHA-256 and CRC-32 as the libraries
// computed them.
func TestInvokeInput(t *testing.T) {
	td := startDaemon(t, Options{})
	for _, n := range []int{0, 1, 511, 512, 513, 16320} {
		in := make([]byte, n)
		for i := range in {
			in[i] = byte(i*7 + n)
		}
		res := td.invoke(t, api.Invoke{Image: "digest", Input: in})
		sum := sha256.Sum256(in)
		want := fmt.Sprintf("bytes: %d\nsha256: %s\ncrc32: %08x\n", n, hex.EncodeToString(sum[:]), crc32.ChecksumIEEE(in))
		if *res.ExitStatus != 0 || !strings.Contains(res.Output, want) {
			t.Errorf("%d bytes of input: exit %d\n%s\nwant\n%s", n, *res.ExitStatus, res.Output, want)
		}
	}
	status, _, out := td.do(t, "POST", "/v1/invoke", api.Invoke{Image: "hello", Input: []byte("x")})
	if status != http.StatusBadRequest || !strings.Contains(string(out), `image hello declares no block device \"input\"`) {
		t.Errorf("input to an image without an input device: %d %s", status, out)
	}
	status, _, _ = td.do(t, "POST", "/v1/invoke", api.Invoke{Image: "digest", Input: make([]byte, api.MaxInput+1)})
	if status != http.StatusRequestEntityTooLarge && status != http.StatusBadRequest {
		t.Errorf("input over the limit: status %d, want 413 or 400", status)
	}
}

// TestSessionLifecycle walks a session through the explicit API: created
// (its libraries referenced), started, waited for, its console read,
// deleted; and what is refused on the way.
func TestSessionLifecycle(t *testing.T) {
	td := startDaemon(t, Options{})
	var s api.Session
	td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "calltest", Args: []string{"crc32.crc32:616263"}}, http.StatusCreated, &s)
	if s.State != api.StateCreated || len(s.Views) != 5 {
		t.Fatalf("created: %+v", s)
	}
	var lib api.Library
	td.must(t, "GET", "/v1/libraries/crc32", nil, http.StatusOK, &lib)
	if lib.Refs != 1 {
		t.Errorf("crc32 refs %d with one session bound, want 1", lib.Refs)
	}
	status, _, out := td.do(t, "DELETE", "/v1/libraries/crc32", nil)
	if status != http.StatusConflict || !strings.Contains(string(out), "crc32 has 1 references") {
		t.Errorf("unload of a referenced library: %d %s", status, out)
	}
	path := fmt.Sprintf("/v1/sessions/%d", s.ID)
	td.must(t, "POST", path+"/start", nil, http.StatusOK, &s)
	status, _, _ = td.do(t, "POST", path+"/start", nil)
	if status != http.StatusConflict {
		t.Errorf("second start: %d, want 409", status)
	}
	td.must(t, "GET", path+"/wait?timeout=30s", nil, http.StatusOK, &s)
	if s.State != api.StateExited || *s.ExitStatus != 0 {
		t.Fatalf("waited: %+v", s)
	}
	// The refused second start did not move its start's timing.
	if tm := s.Timings; tm.BootNs <= 0 || tm.StartNs != tm.BootNs {
		t.Errorf("timings after a refused second start: %+v; want start = boot > 0", tm)
	}
	_, _, console := td.do(t, "GET", path+"/console", nil)
	if !strings.Contains(string(console), "RESULT crc32.crc32 4 c2412435") {
		t.Errorf("console: %q", console)
	}
	_, _, tail := td.do(t, "GET", path+"/console?offset=5", nil)
	if string(tail) != string(console[5:]) {
		t.Errorf("console from offset 5: %q", tail)
	}
	td.must(t, "GET", "/v1/libraries/crc32", nil, http.StatusOK, &lib)
	if lib.Refs != 0 {
		t.Errorf("crc32 refs %d after the session ended, want 0", lib.Refs)
	}
	td.must(t, "POST", path+"/kill", nil, http.StatusOK, &s) // ended: no change
	if s.State != api.StateExited {
		t.Errorf("kill of an ended session changed it: %+v", s)
	}
	td.must(t, "DELETE", path, nil, http.StatusNoContent, nil)
	if status, _, _ := td.do(t, "GET", path, nil); status != http.StatusNotFound {
		t.Errorf("deleted session: status %d", status)
	}
	// A created session that is deleted never runs and frees its slot.
	td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "demo"}, http.StatusCreated, &s)
	td.must(t, "DELETE", fmt.Sprintf("/v1/sessions/%d", s.ID), nil, http.StatusNoContent, nil)
	if live, _ := td.adm.counts(); live != 0 {
		t.Errorf("%d live sessions after deleting all", live)
	}
}

// TestKillAndTimeout: a session that would wait forever ends killed when
// killed, or when its wall-time limit passes; its libraries are released.
func TestKillAndTimeout(t *testing.T) {
	td := startDaemon(t, Options{})
	var s api.Session
	td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "idle", Start: true}, http.StatusCreated, &s)
	path := fmt.Sprintf("/v1/sessions/%d", s.ID)
	if !waitFor(30*time.Second, func() bool {
		_, _, c := td.do(t, "GET", path+"/console", nil)
		return strings.Contains(string(c), "idle: ready")
	}) {
		t.Fatal("idle never got ready")
	}
	var lib api.Library
	td.must(t, "GET", "/v1/libraries/sha256", nil, http.StatusOK, &lib)
	if lib.Refs != 1 || lib.Instances != 1 {
		t.Errorf("sha256 with an idle session: refs %d, instances %d; want 1, 1", lib.Refs, lib.Instances)
	}
	// Running, its start is known: it has executed its first instruction.
	td.must(t, "GET", path, nil, http.StatusOK, &s)
	if s.State != api.StateRunning || s.Timings.StartNs <= 0 || s.Timings.BootNs <= 0 || s.Timings.RunNs != 0 ||
		s.Timings.CPUNs <= 0 || s.Timings.VMExits == 0 {
		t.Errorf("running: state %s, timings %+v; want start, boot, CPU time and exits so far set, run not yet", s.State, s.Timings)
	}
	// The kill answers with the session's end.
	td.must(t, "POST", path+"/kill", nil, http.StatusOK, &s)
	if s.State != api.StateKilled || s.Error != "killed" || s.Ended.IsZero() {
		t.Errorf("kill answered %+v; want it killed and ended", s)
	}
	td.must(t, "GET", "/v1/libraries/sha256", nil, http.StatusOK, &lib)
	if lib.Refs != 0 || lib.Instances != 0 {
		t.Errorf("sha256 after the kill: refs %d, instances %d", lib.Refs, lib.Instances)
	}
	res := td.invoke(t, api.Invoke{Image: "idle", Limits: api.Limits{TimeoutMs: 300}})
	if res.State != api.StateKilled || !strings.Contains(res.Error, "timeout: the session ran longer than 300ms") {
		t.Errorf("timeout: %+v", res.Session)
	}
}

// TestIsolation runs sessions whose libraries crash and hang, and a
// session that floods its console, next to well-behaved ones: every one
// gets its own right answer.
func TestIsolation(t *testing.T) {
	td := startDaemon(t, Options{MaxConsole: 8 << 10})
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var req api.Invoke
			var check func(api.InvokeResult) string
			switch i % 3 {
			case 0: // crash and hang: typed errors, session goes on
				req = api.Invoke{Image: "calltest", Args: []string{"testfns.crash", "testfns.hang", "crc32.crc32:616263"},
					Limits: api.Limits{CallTimeoutMs: 200}}
				check = func(r api.InvokeResult) string {
					if !strings.Contains(r.Output, "RESULT testfns.crash -4") || !strings.Contains(r.Output, "RESULT testfns.hang -5") ||
						!strings.Contains(r.Output, "RESULT crc32.crc32 4 c2412435") {
						return "faulting session: " + r.Output
					}
					return ""
				}
			case 1: // flood: truncated at the limit
				req = api.Invoke{Image: "flood", Args: []string{"200"}}
				check = func(r api.InvokeResult) string {
					if *r.ExitStatus != 0 || !r.Truncated || len(r.Output) != 8<<10 {
						return fmt.Sprintf("flood: exit %d, truncated %v, %d bytes kept", *r.ExitStatus, r.Truncated, len(r.Output))
					}
					return ""
				}
			default:
				req = api.Invoke{Image: "demo"}
				check = func(r api.InvokeResult) string {
					if *r.ExitStatus != 0 || !strings.Contains(r.Output, "SUCCESS") || r.Truncated {
						return "demo next to them: " + r.Output
					}
					return ""
				}
			}
			res := td.invoke(t, req)
			if msg := check(res); msg != "" {
				errs <- msg
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestAdmission: with one slot and one queue place, an invocation waits
// for the slot, the next is refused with 429 and Retry-After, and the
// waiting one runs once the slot frees.
func TestAdmission(t *testing.T) {
	td := startDaemon(t, Options{MaxSessions: 1, MaxQueued: 1})
	var s api.Session
	td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "hello"}, http.StatusCreated, &s) // holds the slot
	status, hdr, out := td.do(t, "POST", "/v1/sessions", api.SessionSpec{Image: "hello"})
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Errorf("session over the limit: %d %s (Retry-After %q)", status, out, hdr.Get("Retry-After"))
	}
	queued := make(chan api.InvokeResult, 1)
	go func() { queued <- td.invoke(t, api.Invoke{Image: "hello", Args: []string{"Hello_Solo5"}}) }()
	if !waitFor(10*time.Second, func() bool { _, q := td.adm.counts(); return q == 1 }) {
		t.Fatal("invocation not queued")
	}
	status, hdr, _ = td.do(t, "POST", "/v1/invoke", api.Invoke{Image: "hello"})
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != "1" {
		t.Errorf("invocation over the queue: %d (Retry-After %q), want 429", status, hdr.Get("Retry-After"))
	}
	td.must(t, "DELETE", fmt.Sprintf("/v1/sessions/%d", s.ID), nil, http.StatusNoContent, nil)
	select {
	case res := <-queued:
		if *res.ExitStatus != 0 || res.Timings.QueuedNs <= 0 {
			t.Errorf("queued invocation: %+v", res.Session)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("queued invocation never ran")
	}
}

// TestBadRequests: malformed, oversized and unknown-field requests get 4xx
// and change nothing.
func TestBadRequests(t *testing.T) {
	td := startDaemon(t, Options{})
	before := fmt.Sprint(td.Libraries(), td.Images(), td.Sessions())
	tests := []struct {
		method, path string
		body         any
		status       int
		msg          string
	}{
		{"POST", "/v1/invoke", `{"image":`, 400, "body: unexpected EOF"},
		{"POST", "/v1/invoke", `{"image":"demo","colour":"red"}`, 400, `unknown field "colour"`},
		{"POST", "/v1/invoke", `{"image":"demo"} {"image":"demo"}`, 400, "data after the JSON object"},
		{"POST", "/v1/invoke", ``, 400, "empty body"},
		{"POST", "/v1/invoke", `{"image":"nosuch"}`, 404, "no image named nosuch"},
		{"POST", "/v1/invoke", `{"image":"/nonexistent/x.hvt"}`, 400, "/nonexistent/x.hvt: no such file or directory"},
		{"POST", "/v1/invoke", `{"image":"demo","mem_mib":1}`, 400, "mem_mib 1: want 2 to 4096"},
		{"POST", "/v1/invoke", `{"image":"demo","limits":{"timeout_ms":-1}}`, 400, "negative limit"},
		{"POST", "/v1/invoke", `{"image":"demo","limits":{"timeout_ms":9223372036855}}`, 400, "timeout_ms 9223372036855: want 0 to 9223372036854 ms"},
		{"POST", "/v1/invoke", `{"image":"demo","limits":{"call_timeout_ms":9223372036854775807}}`, 400, "call_timeout_ms 9223372036854775807: want 0 to"},
		{"POST", "/v1/invoke", `{"image":"demo","deadline_ms":9223372036855}`, 400, "deadline_ms 9223372036855: want 0 to"},
		{"POST", "/v1/sessions", `{"image":"demo","limits":{"max_console_bytes":1048577}}`, 400, "max_console_bytes 1048577: at most 1048576 (the daemon's --max-console)"},
		{"POST", "/v1/invoke", `{"image":"hello","args":["a\u0000b"]}`, 400, "guest argument 1 contains a NUL byte"},
		{"POST", "/v1/invoke", strings.Repeat(" ", maxBody+1), 413, "request body too large"},
		{"POST", "/v1/libraries", `{"name":"bad name","path":"/x"}`, 400, `"bad name" is not a library name`},
		{"POST", "/v1/libraries", `{"name":"sha256","path":"/other/sha256.hvt"}`, 409, "sha256 is"},
		{"POST", "/v1/libraries", `{"name":"hello","path":"` + kvmtest.GuestImage(t, "hello") + `"}`, 400, "exports no functions"},
		{"POST", "/v1/images", `{"name":"x.hvt","path":"/x"}`, 400, "is not an image name"},
		{"POST", "/v1/images", `{"name":"lib","path":"` + kvmtest.LibraryImage(t, "crc32") + `"}`, 400, "exports functions"},
		{"POST", "/v1/images", `{"name":"demo","path":"` + kvmtest.GuestImage(t, "hello") + `"}`, 409, "image demo is"},
		{"GET", "/v1/sessions/abc", nil, 404, `session id "abc" is not a positive integer`},
		{"GET", "/v1/sessions/999", nil, 404, "session 999"},
		{"GET", "/v1/sessions?all=1", nil, 400, `unknown query parameter "all"`},
		{"GET", "/v1/sessions/1/wait?timeout=forever", nil, 400, "timeout \"forever\""},
		{"PUT", "/v1/libraries/sha256/pin", "x", 400, "takes no body"},
		{"GET", "/v1/nothing", nil, 404, "no route GET /v1/nothing"},
		{"DELETE", "/v1/libraries/nosuch", nil, 404, "nosuch"},
	}
	for _, tt := range tests {
		status, _, out := td.do(t, tt.method, tt.path, tt.body)
		var e api.Error
		if err := json.Unmarshal(out, &e); err != nil || status != tt.status || !strings.Contains(e.Error, tt.msg) {
			t.Errorf("%s %s %.40q: %d %s; want %d with an error containing %q", tt.method, tt.path, tt.body, status, out, tt.status, tt.msg)
		}
	}
	if after := fmt.Sprint(td.Libraries(), td.Images(), td.Sessions()); after != before {
		t.Errorf("bad requests changed the daemon:\n before %s\n after  %s", before, after)
	}
}

// TestClientGone: a client that disconnects while its invocation runs, or
// while it waits or follows a console, leaks nothing: the invocation is
// killed and deleted, and goroutines come back to where they were.
func TestClientGone(t *testing.T) {
	td := startDaemon(t, Options{})
	base := td.measure(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		td.doCtx(t, ctx, "POST", "/v1/invoke", api.Invoke{Image: "idle"})
		close(done)
	}()
	if !waitFor(10*time.Second, func() bool { return len(td.Sessions()) == 1 }) {
		t.Fatal("invocation did not start")
	}
	cancel()
	<-done
	if !waitFor(10*time.Second, func() bool { return len(td.Sessions()) == 0 }) {
		t.Errorf("the abandoned invocation still exists: %+v", td.Sessions())
	}
	var s api.Session
	td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "idle", Start: true}, http.StatusCreated, &s)
	for _, q := range []string{"/wait?timeout=60s", "/console?follow=true"} {
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		td.doCtx(t, ctx, "GET", fmt.Sprintf("/v1/sessions/%d%s", s.ID, q), nil)
		cancel()
	}
	td.must(t, "DELETE", fmt.Sprintf("/v1/sessions/%d", s.ID), nil, http.StatusNoContent, nil)
	td.http.CloseIdleConnections()
	if !waitFor(10*time.Second, func() bool { return td.measure(t).goroutines <= base.goroutines+2 }) {
		t.Errorf("goroutines %d, were %d", td.measure(t).goroutines, base.goroutines)
	}
}

// TestSoak runs many invocations (10 000 with UAAF_SOAK=1, as `make soak`
// does; 1 000 otherwise, 300 with -short) and checks that the daemon's file
// descriptors, memfds, goroutines and RSS stay flat.
func TestSoak(t *testing.T) {
	n := 1000
	switch {
	case soak():
		n = 10000
	case testing.Short():
		n = 300
	}
	td := startDaemon(t, Options{})
	warm := func(k int) {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < k; i += 4 {
					img := "hello"
					if i%10 == 0 {
						img = "demo"
					}
					res := td.invoke(t, api.Invoke{Image: img, Args: []string{"Hello_Solo5"}})
					if res.State != api.StateExited || (img == "hello" && *res.ExitStatus != 0) {
						t.Errorf("invocation %d: %+v", i, res.Session)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	warm(200) // steady state: pool full, threads made, caches warm
	td.http.CloseIdleConnections()
	before := td.measure(t)
	warm(n)
	td.http.CloseIdleConnections()
	var after resources
	waitFor(5*time.Second, func() bool {
		after = td.measure(t)
		return after.fds <= before.fds+4 && after.goroutines <= before.goroutines+4
	})
	t.Logf("%d invocations: fds %d→%d, memfds %d→%d, goroutines %d→%d, RSS %d→%d KiB",
		n, before.fds, after.fds, before.memfds, after.memfds, before.goroutines, after.goroutines, before.rssKiB, after.rssKiB)
	if after.fds > before.fds+4 || after.memfds > before.memfds || after.goroutines > before.goroutines+4 {
		t.Errorf("leak over %d invocations: %+v → %+v", n, before, after)
	}
	if after.rssKiB > before.rssKiB+16<<10 {
		t.Errorf("RSS grew by %d KiB over %d invocations", after.rssKiB-before.rssKiB, n)
	}
}

// TestDrain: on shutdown the daemon lets a running session finish within
// the drain timeout, refuses new ones with 503, then stops what is left.
func TestDrain(t *testing.T) {
	td := startDaemon(t, Options{})
	var short, long api.Session
	td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "idle", Args: []string{"1"}, Start: true}, http.StatusCreated, &short)
	td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "idle", Start: true}, http.StatusCreated, &long)
	ss := map[uint64]*sess{}
	for _, id := range []uint64{short.ID, long.ID} {
		s, err := td.get(id)
		if err != nil {
			t.Fatal(err)
		}
		ss[id] = s
	}
	td.stop() // as SIGTERM: Serve drains for 2 s, then stops the rest
	if !waitFor(5*time.Second, td.Draining) {
		t.Fatal("not draining")
	}
	if _, err := td.CreateSession(context.Background(), api.SessionSpec{Image: "hello"}, time.Now(), false, time.Time{}); err == nil {
		t.Error("session created while draining")
	}
	<-td.done
	td.done <- nil // for the cleanup's shutdown
	if s := ss[short.ID].view(); s.State != api.StateExited || *s.ExitStatus != 0 {
		t.Errorf("session that ends within the drain: %+v", s)
	}
	if s := ss[long.ID].view(); s.State != api.StateKilled || s.Error != "daemon shutting down" {
		t.Errorf("session beyond the drain: %+v", s)
	}
}

// TestListen: a stale socket is replaced, a live one refused, something
// else at the path left alone; TCP needs a loopback address unless told
// otherwise, and the bearer token.
func TestListen(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, %v; want 0660", fi.Mode(), err)
	}
	if _, err := ListenUnix(sock); err == nil || !strings.Contains(err.Error(), "already listens") {
		t.Errorf("second listener on a live socket: %v", err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // a daemon that died: the file stays
	l, err = ListenUnix(sock)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	l.Close()
	plain := filepath.Join(dir, "file")
	os.WriteFile(plain, nil, 0o644)
	if _, err := ListenUnix(plain); err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("a regular file at the socket path: %v", err)
	}
	if _, err := ListenTCP("0.0.0.0:0", false); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("non-loopback without --allow-remote: %v", err)
	}
	tl, err := ListenTCP("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	td := startDaemon(t, Options{})
	srv := &http.Server{Handler: td.Handler("0123456789abcdef0123")}
	go srv.Serve(tl)
	defer srv.Close()
	url := "http://" + tl.Addr().String() + "/healthz"
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer 0123456789abcdef0123")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("with the token: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestObservability: health, version and metrics say what the daemon
// holds and did.
func TestObservability(t *testing.T) {
	td := startDaemon(t, Options{})
	td.invoke(t, api.Invoke{Image: "demo"})
	// The session's VMs are destroyed just after the answer.
	var h api.Health
	if !waitFor(10*time.Second, func() bool {
		td.must(t, "GET", "/healthz", nil, http.StatusOK, &h)
		return h.Sessions == 0
	}) || h.Status != "ok" {
		t.Errorf("health %+v", h)
	}
	var v api.VersionInfo
	td.must(t, "GET", "/version", nil, http.StatusOK, &v)
	if v.API != "v1" || v.HvtABI != 2 || !strings.HasPrefix(v.Switch, "exit") {
		t.Errorf("version %+v", v)
	}
	_, _, m := td.do(t, "GET", "/metrics", nil)
	for _, want := range []string{
		`uaaf_session_start_seconds_bucket{phase="start"`,
		`uaaf_invocations_total{outcome="ok"} 1`,
		`uaaf_library_calls_total{library="sha256"} 1`,
		`uaaf_library_refs{library="crc32"} 0`,
		`uaaf_library_resident{library="sort"} 1`,
		`uaaf_sessions_live 0`,
		`uaaf_pool_target 4`,
		`uaaf_daemon_pss_bytes `,
		`uaaf_image_memory_bytes{image="demo"}`,
		`uaaf_vm_exits_total `,
	} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestKeepAlive: a library a session loads from the search path stays
// loaded for the TTL after its last session, then is destroyed (an event
// says so); a use within the TTL finds it warm.
func TestKeepAlive(t *testing.T) {
	dir := t.TempDir()
	os.Symlink(kvmtest.LibraryImage(t, "testfns"), filepath.Join(dir, "testfns.hvt"))
	td := startDaemon(t, Options{LibPaths: []string{dir}, KeepAlive: "ttl=300ms"})
	td.must(t, "DELETE", "/v1/libraries/testfns", nil, http.StatusNoContent, nil) // the preloaded copy
	first := td.invoke(t, api.Invoke{Image: "calltest", Args: []string{"testfns.nop"}})
	second := td.invoke(t, api.Invoke{Image: "calltest", Args: []string{"testfns.nop"}})
	warm := func(r api.InvokeResult) bool { return r.Views[4].Library == "testfns" && r.Views[4].Warm }
	if warm(first) || !warm(second) {
		t.Errorf("testfns warm: first %v (want cold), second %v (want warm)", warm(first), warm(second))
	}
	if !waitFor(5*time.Second, func() bool { _, err := td.Library("testfns"); return err != nil }) {
		t.Fatal("library still loaded long after its TTL")
	}
	found := false
	for _, ev := range td.events(t, 0, 1000, 300*time.Millisecond) {
		found = found || (ev.Type == "library.unloaded" && ev.Library == "testfns")
	}
	if !found {
		t.Error("no library.unloaded event")
	}
}

// TestImageKeepAlive: an image's warm state (its shells, guests made ahead
// of need) fills once it is used, is dropped when the image keep-alive
// window after its last session ends (an image.cooled event says so, the
// image reads cool), and comes back with the next session, which runs as
// before.
func TestImageKeepAlive(t *testing.T) {
	clock := sched.NewFakeClock(time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC))
	td := startDaemon(t, Options{KeepAlive: "pinned", ImageKeepAlive: "ttl=10m", ShellsPerImage: 2, Clock: clock})
	shells := func() (int, bool) {
		im, err := td.Image("hello")
		if err != nil {
			t.Fatal(err)
		}
		return im.Shells, im.Cool
	}
	hello := func() {
		t.Helper()
		r := td.invoke(t, api.Invoke{Image: "hello", Args: []string{"Hello_Solo5"}})
		if r.State != api.StateExited || r.ExitStatus == nil || *r.ExitStatus != 0 || !strings.Contains(r.Output, "Hello") {
			t.Fatalf("hello: %s %v: %q", r.State, r.ExitStatus, r.Output)
		}
	}
	if n, cool := shells(); n != 0 || cool {
		t.Fatalf("before any session: %d shells, cool %v; want none, warm", n, cool)
	}
	hello()
	if !waitFor(5*time.Second, func() bool { n, _ := shells(); return n == 2 }) {
		n, _ := shells()
		t.Fatalf("%d shells after a session, want 2", n)
	}
	clock.Advance(9 * time.Minute)
	if n, cool := shells(); n != 2 || cool {
		t.Fatalf("within the image keep-alive: %d shells, cool %v; want 2, warm", n, cool)
	}
	clock.Advance(time.Minute)
	if n, cool := shells(); n != 0 || !cool {
		t.Fatalf("after the image keep-alive: %d shells, cool %v; want none, cool", n, cool)
	}
	hello()
	if !waitFor(5*time.Second, func() bool { n, cool := shells(); return n == 2 && !cool }) {
		n, cool := shells()
		t.Fatalf("after a session of the cool image: %d shells, cool %v; want 2, warm", n, cool)
	}
	var cooled, warmed int
	for _, ev := range td.events(t, 0, 1000, 300*time.Millisecond) {
		switch {
		case ev.Image != "hello":
		case ev.Type == "image.cooled" && ev.Detail == "keep-alive ended":
			cooled++
		case ev.Type == "image.warmed" && ev.Detail == "used":
			warmed++
		}
	}
	if cooled != 1 || warmed != 1 {
		t.Errorf("events: %d image.cooled, %d image.warmed; want 1 and 1", cooled, warmed)
	}
}

// TestConfinedThreads: each running session's vCPU thread carries a
// seccomp filter of its own (the Runner allowlist), while the rest of the
// process — here the test itself — carries none; the thread ends with its
// session.
func TestConfinedThreads(t *testing.T) {
	td := startDaemon(t, Options{})
	// KVM's own workers (kvm-nx-lpage-recovery, one per VM, started by
	// the first KVM_RUN) are tasks of the process too and inherit the
	// filter of the thread that started them; they run only kernel code,
	// so count the process's own threads. The main thread cannot end: when
	// a session ran on it, the Go runtime parks it for good instead (it
	// never runs Go code again), so once the sessions ended it is not
	// counted either.
	confined := func(main bool) int {
		n := 0
		ents, _ := os.ReadDir("/proc/self/task")
		for _, e := range ents {
			tid, _ := strconv.Atoi(e.Name())
			comm, _ := os.ReadFile("/proc/self/task/" + e.Name() + "/comm")
			if f, err := seccomp.ThreadFilters(tid); err == nil && f > 0 && !strings.HasPrefix(string(comm), "kvm-") && (main || tid != os.Getpid()) {
				n++
			}
		}
		return n
	}
	if !waitFor(10*time.Second, func() bool { return confined(false) == 0 }) { // earlier tests' daemons are gone
		t.Fatalf("%d confined threads before any session", confined(false))
	}
	wedged := confined(true) // the main thread, parked by an earlier test's session
	want := 3 + wedged
	run3 := func() {
		var ids []uint64
		for range 3 {
			var s api.Session
			td.must(t, "POST", "/v1/sessions", api.SessionSpec{Image: "idle", Start: true}, http.StatusCreated, &s)
			ids = append(ids, s.ID)
		}
		if !waitFor(30*time.Second, func() bool { return confined(true) == want }) {
			t.Fatalf("%d confined threads with three idle sessions, want %d", confined(true), want)
		}
		for _, id := range ids {
			td.must(t, "DELETE", fmt.Sprintf("/v1/sessions/%d", id), nil, http.StatusNoContent, nil)
		}
	}
	run3()
	if self, _ := seccomp.ThreadFilters(syscall.Gettid()); self != 0 {
		t.Errorf("the test's own thread has %d filters", self)
	}
	// The three runners wait for sessions on their confined threads; the
	// next three sessions run there, and no thread is confined anew.
	if !waitFor(10*time.Second, func() bool { return td.idleRunners() == 3 }) {
		t.Errorf("%d idle runners after the sessions ended, want 3", td.idleRunners())
	}
	run3()
	if n := confined(true); n != want {
		t.Errorf("%d confined threads after three more sessions, want %d (reused)", n, want)
	}
	td.stop() // the daemon closes: its runners and their threads end
	<-td.done
	td.done <- nil // for the cleanup's shutdown
	if !waitFor(10*time.Second, func() bool { return confined(false) == 0 }) {
		t.Errorf("%d confined threads after the daemon closed, want 0 (they end with their runners)", confined(false))
	}
}
