package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/seccomp"
	"github.com/uaaf/uaaf/session/api"
)

// testDaemon is a daemon serving its API on a unix socket in a temp dir,
// stopped (with a short drain) when the test ends.
type testDaemon struct {
	*Daemon
	sock string
	http *http.Client
	stop context.CancelFunc
	done chan error

	triplefault string // the path of guest image triplefault (TestFaultSoak)
}

// allLibs are the libraries the sessions of the tests import.
var allLibs = []string{"base64", "sha256", "crc32", "sort", "testfns"}

// startDaemon starts a daemon with opts (defaults filled in), the shipped
// libraries preloaded and pinned, and the test images registered by name
// (their file names without .hvt) at 8 MiB.
func startDaemon(t testing.TB, opts Options) *testDaemon {
	t.Helper()
	kvmtest.Require(t)
	if opts.Pool == "" {
		opts.Pool = "fixed=4"
	}
	if opts.Switch == "" {
		opts.Switch = "exit"
	}
	if opts.Seccomp == "" {
		opts.Seccomp = seccomp.Kill // every test runs its guests under the filter
	}
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &Config{}
	for _, l := range allLibs {
		cfg.Libraries = append(cfg.Libraries, api.LoadLibrary{Name: l, Path: kvmtest.LibraryImage(t, l), Pin: true})
	}
	for _, im := range []string{"demo", "hello", "calltest", "digest", "idle", "flood"} {
		cfg.Images = append(cfg.Images, api.AddImage{Name: im, Path: kvmtest.GuestImage(t, im), MemMiB: 8})
	}
	if err := d.Apply(cfg); err != nil {
		d.Close()
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "uaaf.sock")
	l, err := ListenUnix(sock)
	if err != nil {
		d.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	td := &testDaemon{Daemon: d, sock: sock, stop: cancel, done: make(chan error, 1),
		http: &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var dl net.Dialer
			return dl.DialContext(ctx, "unix", sock)
		}}}}
	go func() { td.done <- d.Serve(ctx, 2*time.Second, Listener{Listener: l}) }()
	t.Cleanup(td.shutdown)
	return td
}

// shutdown stops the daemon and waits for Serve to return.
func (td *testDaemon) shutdown() {
	td.stop()
	<-td.done
	td.http.CloseIdleConnections()
}

// do sends a request with a JSON body (or raw bytes) and returns the
// status, the response headers and the body.
func (td *testDaemon) do(t *testing.T, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	return td.doCtx(t, context.Background(), method, path, body)
}

func (td *testDaemon) doCtx(t *testing.T, ctx context.Context, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://uaaf"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := td.http.Do(req)
	if err != nil {
		return 0, nil, []byte(err.Error())
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, out
}

// must sends a request that must answer with status want, and decodes its
// JSON body into v (if not nil).
func (td *testDaemon) must(t *testing.T, method, path string, body any, want int, v any) {
	t.Helper()
	status, _, out := td.do(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, out)
	}
	if v != nil {
		if err := json.Unmarshal(out, v); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, out)
		}
	}
}

// invoke posts an invocation and returns its result.
func (td *testDaemon) invoke(t *testing.T, req api.Invoke) api.InvokeResult {
	t.Helper()
	var res api.InvokeResult
	td.must(t, "POST", "/v1/invoke", req, http.StatusOK, &res)
	return res
}

// events reads the events stream from since until it has n events or
// the timeout passes.
func (td *testDaemon) events(t *testing.T, since uint64, n int, timeout time.Duration) []api.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://uaaf/v1/events?since=%d", since), nil)
	resp, err := td.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var evs []api.Event
	sc := bufio.NewScanner(resp.Body)
	for len(evs) < n && sc.Scan() {
		var ev api.Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("event line %q: %v", sc.Text(), err)
		}
		evs = append(evs, ev)
	}
	return evs
}

// waitFor polls cond every 10 ms until it holds or timeout passes.
func waitFor(timeout time.Duration, cond func() bool) bool {
	end := time.Now().Add(timeout)
	for time.Now().Before(end) {
		if cond() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return cond()
}

// resources counts what a leak would grow: open fds, memfds among them,
// goroutines, and the process's RSS in KiB.
type resources struct {
	fds, memfds, goroutines int
	rssKiB                  int64
}

func measure(t *testing.T) resources {
	t.Helper()
	var r resources
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		r.fds++
		if l, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(l, "/memfd:") {
			r.memfds++
		}
	}
	r.goroutines = runtime.NumGoroutine()
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			fmt.Sscan(f[1], &r.rssKiB)
		}
	}
	return r
}

// measure is the package's measure taken once the VM pool has refilled
// (its ready machines and shells are fds that come and go with refills)
// and the Go heap has returned its free pages, with the daemon's idle runners (each a goroutine kept on purpose,
// runners.go) not counted as goroutines.
func (td *testDaemon) measure(t *testing.T) resources {
	t.Helper()
	waitFor(10*time.Second, td.pool.full)
	debug.FreeOSMemory() // RSS then counts what is in use, not the heap's high-water mark
	r := measure(t)
	r.goroutines -= td.idleRunners()
	return r
}

// full reports whether the pool holds its target of machines and a full
// queue of shells for every template in use.
func (p *pool) full() bool {
	if int64(len(p.ready)) < p.target.Load() {
		return false
	}
	p.shellMu.Lock()
	defer p.shellMu.Unlock()
	for _, q := range p.shells {
		if len(q) < cap(q) {
			return false
		}
	}
	return true
}
