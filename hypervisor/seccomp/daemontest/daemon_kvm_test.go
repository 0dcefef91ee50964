package daemontest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/seccomp"
	"github.com/uaaf/uaaf/hypervisor/seccomp/internal/childtest"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/libfuncs/libvm"
	"github.com/uaaf/uaaf/session"
)

// The daemon test checks the Daemon profile the hard way: the child
// installs it first thing, before any set-up, then listens on a unix socket
// and serves HTTP requests that each load and run a guest (or a session,
// preloading its libraries) — everything a long-lived uaaf server does
// after its filter is in place.
const (
	envSocket = "UAAF_SECCOMP_TEST_SOCKET"
	envMode   = "UAAF_SECCOMP_TEST_MODE" // kill (default) or log, to find what Daemon lacks
)

func TestMain(m *testing.M) { childtest.Main(m, seccomp.ErrUnsupported) }

func init() { childtest.Register("daemon", daemonScenario) }

// syncBuffer is a console shared by a guest and its libraries.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func daemonScenario() error {
	mode := seccomp.Kill
	if m := os.Getenv(envMode); m != "" {
		var err error
		if mode, err = seccomp.ParseMode(m); err != nil {
			return err
		}
	}
	if err := seccomp.Install(mode, seccomp.Daemon); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "seccomp-test: installed")
	ln, err := net.Listen("unix", os.Getenv(envSocket))
	if err != nil {
		return err
	}
	srv := &http.Server{}
	mux := http.NewServeMux()
	mux.HandleFunc("/run", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		var out syncBuffer
		cfg := monitor.Config{
			Kernel: q.Get("kernel"), MemSize: 32 << 20, Args: strings.Fields(q.Get("args")),
			Console: &out, Log: &out,
		}
		if p := q.Get("block"); p != "" {
			cfg.Blocks = []monitor.BlockSpec{{Name: "storage", Path: p}}
		}
		if iface := q.Get("net"); iface != "" {
			cfg.Nets = []monitor.NetSpec{{Name: "service0", Iface: iface}}
		}
		status, err := runGuest(r.Context(), cfg, strings.Split(q.Get("libs"), ","), q.Get("libpath"))
		fmt.Fprintf(w, "status %d err %v\n%s", status, err, out.String())
	})
	mux.HandleFunc("/quit", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "bye\n")
		go srv.Shutdown(context.Background())
	})
	srv.Handler = mux
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runGuest runs cfg's guest, as a session with libs (NAME=PATH) and
// libpath if the image imports functions.
func runGuest(ctx context.Context, cfg monitor.Config, libs []string, libpath string) (int, error) {
	if libs[0] == "" && libpath == "" {
		m, err := monitor.New(cfg)
		if err != nil {
			return 0, err
		}
		defer m.Close()
		return m.Run(ctx)
	}
	var paths []string
	if libpath != "" {
		paths = []string{libpath}
	}
	reg := libvm.NewRegistry(libvm.Config{Console: cfg.Console}, libfuncs.Config[*libvm.Library]{Paths: paths})
	defer reg.Close()
	for _, l := range libs {
		if name, path, ok := strings.Cut(l, "="); ok {
			if _, err := reg.Preload(name, path, true); err != nil {
				return 0, err
			}
		}
	}
	s, err := session.New(session.Config{Monitor: cfg, Registry: reg, Table: session.NewTable(), CallTimeout: 300 * time.Millisecond})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	return s.Run(ctx)
}

// daemonClient talks HTTP to the daemon child's socket.
func daemonClient(sock string) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		}},
	}
}

// TestDaemonUnderFilter: a filtered server process loads and runs plain
// guests, a block guest, a session with preloaded libraries and one whose
// library is found on the search path, two of them at once, and a net guest
// on a tap it attaches by name.
func TestDaemonUnderFilter(t *testing.T) {
	kvmtest.Require(t)
	lib := func(name string) string { return name + "=" + kvmtest.LibraryImage(t, name) }
	disk := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(disk, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	netImg := kvmtest.GuestImage(t, "net")
	inNS := childtest.NewTapNetns(t)
	sock := filepath.Join(t.TempDir(), "uaaf.sock")
	mode := os.Getenv(envMode)
	d := childtest.Start(t, "daemon", inNS, envSocket+"="+sock, envMode+"="+mode)
	client := daemonClient(sock)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			d.Cmd.Process.Kill()
			t.Fatalf("daemon did not listen: %v", d.Wait(t, nil))
		}
		time.Sleep(10 * time.Millisecond)
	}
	get := func(q url.Values) string {
		resp, err := client.Get("http://uaaf/run?" + q.Encode())
		if err != nil {
			d.Cmd.Process.Kill()
			t.Fatalf("request %v: %v; daemon: %v", q, err, d.Wait(t, nil))
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	tests := []struct {
		name string
		q    url.Values
		want []string
	}{
		{"hello", url.Values{"kernel": {kvmtest.GuestImage(t, "hello")}, "args": {"Hello_Solo5"}},
			[]string{"status 0 err <nil>", "SUCCESS"}},
		{"block", url.Values{"kernel": {kvmtest.GuestImage(t, "blk")}, "block": {disk}},
			[]string{"status 0 err <nil>", "SUCCESS"}},
		{"session", url.Values{"kernel": {kvmtest.GuestImage(t, "demo")},
			"libs": {strings.Join([]string{lib("base64"), lib("sha256"), lib("crc32"), lib("sort")}, ",")}},
			[]string{"status 0 err <nil>", "SUCCESS"}},
		{"search-path", url.Values{"kernel": {kvmtest.GuestImage(t, "calltest")},
			"libpath": {filepath.Dir(kvmtest.LibraryImage(t, "testfns"))},
			"args":    {"testfns.hang crc32.crc32:616263"}},
			[]string{"status 0 err <nil>", "RESULT testfns.hang -5 -", "RESULT crc32.crc32 4 c2412435"}},
	}
	var wg sync.WaitGroup
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := get(tt.q)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("response lacks %q:\n%s", w, out)
				}
			}
		})
	}
	// Two at once, then the net guest with a pinger beside it.
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if out := get(tests[0].q); !strings.Contains(out, "SUCCESS") {
				t.Errorf("concurrent hello:\n%s", out)
			}
		}()
	}
	wg.Wait()
	pinger := childtest.Start(t, childtest.Pinger, inNS)
	out := get(url.Values{"kernel": {netImg}, "net": {childtest.Tap}, "args": {fmt.Sprint(childtest.Replies)}})
	pinger.Stdin.Close()
	pinger.Wait(t, nil)
	if !strings.Contains(out, "status 0 err <nil>") || !strings.Contains(out, fmt.Sprintf("sent %d echo replies", childtest.Replies)) {
		t.Errorf("net guest:\n%s", out)
	}

	resp, err := client.Get("http://uaaf/quit")
	if err == nil {
		resp.Body.Close()
	}
	if r := d.Wait(t, nil); r.Code != 0 || !strings.Contains(r.Stderr, "seccomp-test: installed") {
		t.Fatalf("daemon: %v", r)
	}
}
