package client_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/session/client/clienttest"
	"github.com/uaaf/uaaf/session/daemon"
)

func names[T any](xs []T, name func(T) string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = name(x)
	}
	return out
}

// TestClient drives every route of a real daemon through the client, in
// the order a user would: libraries, images, a session's life, invocations
// and the events they caused.
func TestClient(t *testing.T) {
	srv := clienttest.Start(t, daemon.Options{})
	c := client.New(srv.Socket)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	v, err := c.Version(ctx)
	must(err)
	if v.API != api.Version || v.HvtABI != 2 || v.GoVersion == "" || v.Switch == "" {
		t.Errorf("Version = %+v", v)
	}
	h, err := c.Health(ctx)
	must(err)
	if h != (api.Health{Status: "ok"}) {
		t.Errorf("Health = %+v", h)
	}

	// Libraries.
	l, err := c.LoadLibrary(ctx, api.LoadLibrary{Name: "sha256", Path: kvmtest.LibraryImage(t, "sha256"), Pin: true})
	must(err)
	if l.Name != "sha256" || !l.Pinned || !l.Resident || l.Refs != 0 || !slices.Equal(l.Exports, []string{"sha256"}) || l.Memory == 0 {
		t.Errorf("LoadLibrary = %+v", l)
	}
	_, err = c.LoadLibrary(ctx, api.LoadLibrary{Name: "crc32", Path: kvmtest.LibraryImage(t, "crc32")})
	must(err)
	ls, err := c.Libraries(ctx)
	must(err)
	if got := names(ls, func(l api.Library) string { return l.Name }); !slices.Equal(got, []string{"crc32", "sha256"}) {
		t.Errorf("Libraries = %v", got)
	}
	if l, err = c.PinLibrary(ctx, "crc32"); err != nil || !l.Pinned {
		t.Errorf("PinLibrary = %+v, %v", l, err)
	}
	if l, err = c.UnpinLibrary(ctx, "crc32"); err != nil || l.Pinned || l.Name != "crc32" {
		t.Errorf("UnpinLibrary = %+v, %v", l, err)
	}
	if l, err = c.Library(ctx, "crc32"); err != nil || l.Pinned || !l.Resident { // the 10 min TTL keeps it
		t.Errorf("Library = %+v, %v", l, err)
	}
	must(c.UnloadLibrary(ctx, "crc32"))
	if _, err := c.Library(ctx, "crc32"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Library after unload: %v, want ErrNotFound", err)
	}
	res, err := c.Residency(ctx)
	must(err)
	if res.ClockScale != 1 || len(res.Libraries) != 2 || res.Libraries[0].Name != "crc32" || len(res.Libraries[0].Intervals) != 1 ||
		res.Libraries[0].Intervals[0].Unload.IsZero() || !res.Libraries[1].Intervals[0].Unload.IsZero() || res.Libraries[1].MemoryTime <= 0 {
		t.Errorf("Residency = %+v", res)
	}

	// Images.
	im, err := c.AddImage(ctx, api.AddImage{Name: "demo", Path: kvmtest.GuestImage(t, "demo")})
	must(err)
	if im.Kind != "session" || !slices.Equal(im.Imports, []string{"base64", "sha256", "crc32", "sort"}) || im.MemMiB != 8 {
		t.Errorf("AddImage demo = %+v", im)
	}
	if im, err = c.AddImage(ctx, api.AddImage{Name: "hello", Path: kvmtest.GuestImage(t, "hello"), MemMiB: 4}); err != nil || im.Kind != "plain" || im.MemMiB != 4 {
		t.Errorf("AddImage hello = %+v, %v", im, err)
	}
	ims, err := c.Images(ctx)
	must(err)
	if got := names(ims, func(i api.Image) string { return i.Name }); !slices.Equal(got, []string{"demo", "hello"}) {
		t.Errorf("Images = %v", got)
	}
	if im, err = c.Image(ctx, "demo"); err != nil || im.Path != kvmtest.GuestImage(t, "demo") {
		t.Errorf("Image = %+v, %v", im, err)
	}

	// A session's life: created (holding its libraries), started, waited
	// for, read, killed (no change once ended), deleted.
	s, err := c.CreateSession(ctx, api.SessionSpec{Image: "demo"})
	must(err)
	if s.ID == 0 || s.State != api.StateCreated || len(s.Views) != 4 || s.Views[1].Library != "sha256" || s.Views[1].Refs != 1 {
		t.Errorf("CreateSession = %+v", s)
	}
	if got, err := c.Session(ctx, s.ID); err != nil || got.ID != s.ID || got.State != api.StateCreated {
		t.Errorf("Session = %+v, %v", got, err)
	}
	ss, err := c.Sessions(ctx)
	must(err)
	if len(ss) != 1 || ss[0].ID != s.ID {
		t.Errorf("Sessions = %+v", ss)
	}
	if s, err = c.StartSession(ctx, s.ID); err != nil || (s.State != api.StateRunning && s.State != api.StateExited) {
		t.Errorf("StartSession = %+v, %v", s, err)
	}
	if s, err = c.WaitSession(ctx, s.ID, 30*time.Second); err != nil || s.State != api.StateExited || s.ExitStatus == nil || *s.ExitStatus != 0 {
		t.Fatalf("WaitSession = %+v, %v", s, err)
	}
	if s.Timings.StartNs <= 0 || s.Timings.RunNs <= 0 || s.Timings.TotalNs < s.Timings.StartNs || s.Views[0].Calls != 1 {
		t.Errorf("session timings or row: %+v %+v", s.Timings, s.Views)
	}
	out := readAll(t, c, ctx, s.ID, 0)
	if !strings.Contains(out, "\nSUCCESS\n") || int64(len(out)) != s.Console {
		t.Errorf("console (%d bytes, session says %d):\n%s", len(out), s.Console, out)
	}
	if tail := readAll(t, c, ctx, s.ID, 10); tail != out[10:] {
		t.Errorf("console from 10 = %q, want %q", tail, out[10:])
	}
	if k, err := c.KillSession(ctx, s.ID); err != nil || k.State != api.StateExited {
		t.Errorf("KillSession of an ended session = %+v, %v", k, err)
	}
	must(c.DeleteSession(ctx, s.ID))
	if _, err := c.Session(ctx, s.ID); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Session after delete: %v", err)
	}

	// A created session killed before it ran.
	s, err = c.CreateSession(ctx, api.SessionSpec{Image: "hello"})
	must(err)
	if k, err := c.KillSession(ctx, s.ID); err != nil || k.State != api.StateKilled {
		t.Errorf("KillSession of a created session = %+v, %v", k, err)
	}
	if w, err := c.WaitSession(ctx, s.ID, 0); err != nil || w.State != api.StateKilled {
		t.Errorf("WaitSession(0) = %+v, %v", w, err)
	}
	must(c.DeleteSession(ctx, s.ID))

	// Invocations: by name, by path; the exit status comes back.
	r, err := c.Invoke(ctx, api.Invoke{Image: "hello", Args: []string{"Hello_Solo5"}})
	must(err)
	if r.State != api.StateExited || *r.ExitStatus != 0 || !strings.Contains(r.Output, "Hello, World\n") ||
		r.Timings.StartNs <= 0 || r.Timings.TotalNs < r.Timings.StartNs+r.Timings.RunNs {
		t.Errorf("Invoke hello = %+v", r)
	}
	r, err = c.Invoke(ctx, api.Invoke{Image: kvmtest.GuestImage(t, "exitcode"), Args: []string{"3"}})
	must(err)
	if r.State != api.StateExited || *r.ExitStatus != 3 || r.Path != kvmtest.GuestImage(t, "exitcode") {
		t.Errorf("Invoke exitcode 3 = %+v", r)
	}
	invoked := r.ID
	r, err = c.Invoke(ctx, api.Invoke{Image: kvmtest.GuestImage(t, "digest"), Input: []byte("abc")})
	must(err)
	if *r.ExitStatus != 0 || !strings.Contains(r.Output, "bytes: 3\nsha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\ncrc32: 352441c2\n") {
		t.Errorf("Invoke digest with input: %+v", r)
	}

	// Events: the kept ones, in order, including the invocation's.
	es, err := c.Events(ctx, 0)
	must(err)
	var seen []string
	var prev uint64
	for es.Next() {
		ev := es.Event()
		if ev.Seq <= prev {
			t.Errorf("event %d after %d", ev.Seq, prev)
		}
		prev = ev.Seq
		seen = append(seen, ev.Type)
		if ev.Session == invoked && ev.Type == "session.deleted" {
			break
		}
	}
	must(es.Err())
	es.Close()
	for _, want := range []string{"library.loaded", "library.unloaded", "image.added", "session.created", "session.started", "library.instantiated", "session.exited", "session.killed", "session.deleted"} {
		if !slices.Contains(seen, want) {
			t.Errorf("events %v: no %s", seen, want)
		}
	}
	// From a sequence number on.
	es, err = c.Events(ctx, prev-1)
	must(err)
	if !es.Next() || es.Event().Seq != prev || es.Last() != prev {
		t.Errorf("Events(since %d): first %+v, %v", prev-1, es.Event(), es.Err())
	}
	es.Close()

	m, err := c.Metrics(ctx)
	must(err)
	for _, want := range []string{"uaaf_invocations_total{outcome=\"ok\"} 2\n", "uaaf_invocations_total{outcome=\"exit_nonzero\"} 1\n", "uaaf_session_start_seconds"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	spec, err := c.OpenAPI(ctx)
	must(err)
	if !bytes.Contains(spec, []byte(`"openapi"`)) {
		t.Errorf("OpenAPI: %.100s", spec)
	}

	must(c.RemoveImage(ctx, "hello"))
	if _, err := c.Image(ctx, "hello"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Image after remove: %v", err)
	}
}

func readAll(t *testing.T, c *client.Client, ctx context.Context, id uint64, off int64) string {
	t.Helper()
	rc, err := c.Console(ctx, id, off, false)
	if err != nil {
		t.Fatalf("Console: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Console: %v", err)
	}
	return string(b)
}

// TestErrors checks that each kind of refusal maps to its status and
// sentinel, with the daemon's message.
func TestErrors(t *testing.T) {
	srv := clienttest.Start(t, daemon.Options{})
	c := client.New(srv.Socket)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.AddImage(ctx, api.AddImage{Name: "demo", Path: kvmtest.GuestImage(t, "demo")}); err != nil {
		t.Fatal(err)
	}
	// A created session holds its libraries (loaded on demand).
	held, err := c.CreateSession(ctx, api.SessionSpec{Image: "demo"})
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name   string
		call   func() error
		status int
		is     error
		msg    string
	}{
		{"unknown image", func() error { _, err := c.Image(ctx, "nope"); return err }, 404, client.ErrNotFound, "image nope"},
		{"unknown session", func() error { _, err := c.Session(ctx, 999); return err }, 404, client.ErrNotFound, "session 999"},
		{"unknown library", func() error { _, err := c.PinLibrary(ctx, "nope"); return err }, 404, client.ErrNotFound, "library not found: nope"},
		{"invoke unknown image", func() error { _, err := c.Invoke(ctx, api.Invoke{Image: "nope"}); return err }, 404, client.ErrNotFound, "no image named nope"},
		{"unload in use", func() error { return c.UnloadLibrary(ctx, "sha256") }, 409, client.ErrConflict, "in use"},
		{"start twice", func() error {
			_, err := c.StartSession(ctx, held.ID)
			if err == nil {
				_, err = c.StartSession(ctx, held.ID)
			}
			return err
		}, 409, client.ErrConflict, "not created"},
		{"image name taken", func() error {
			_, err := c.AddImage(ctx, api.AddImage{Name: "demo", Path: kvmtest.GuestImage(t, "hello")})
			return err
		}, 409, client.ErrConflict, "remove it first"},
		{"unknown field", func() error {
			return c.CallRaw(ctx, "POST", "/v1/images", map[string]any{"name": "x", "path": "y", "bogus": 1}, nil)
		}, 400, client.ErrInvalid, `unknown field "bogus"`},
		{"bad library name", func() error {
			_, err := c.LoadLibrary(ctx, api.LoadLibrary{Name: "9x", Path: "/x.hvt"})
			return err
		}, 400, client.ErrInvalid, "not a library name"},
		{"input too large", func() error {
			_, err := c.CreateSession(ctx, api.SessionSpec{Image: "demo", Input: make([]byte, api.MaxInput*3/2)})
			return err
		}, 413, client.ErrTooLarge, "too large"},
		{"no such route", func() error { return c.CallRaw(ctx, "GET", "/v2/x", nil, nil) }, 404, client.ErrNotFound, "no route GET /v2/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			var ae *client.APIError
			if !errors.As(err, &ae) {
				t.Fatalf("error %v (%T), want an *APIError", err, err)
			}
			if ae.Status != tc.status || !errors.Is(err, tc.is) || !strings.Contains(ae.Message, tc.msg) || !strings.HasSuffix(err.Error(), ": "+ae.Message) {
				t.Errorf("got %d %q, want %d matching %v with %q", ae.Status, ae.Message, tc.status, tc.is, tc.msg)
			}
			for _, other := range []error{client.ErrNotFound, client.ErrConflict, client.ErrInvalid, client.ErrBusy, client.ErrUnavailable, client.ErrUnauthorized, client.ErrNoDaemon} {
				if other != tc.is && errors.Is(err, other) {
					t.Errorf("%v also matches %v", err, other)
				}
			}
		})
	}
}

// TestBusy fills a daemon of one session slot and a queue of one: a
// second session is refused at once, a queued invocation waits, a second
// one is refused; each refusal is a 429 with Retry-After. Then, as the
// daemon shuts down, the queued invocation gets 503.
func TestBusy(t *testing.T) {
	srv := clienttest.Start(t, daemon.Options{MaxSessions: 1, MaxQueued: 1})
	c := client.New(srv.Socket)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	hello := kvmtest.GuestImage(t, "hello")
	if _, err := c.CreateSession(ctx, api.SessionSpec{Image: hello}); err != nil {
		t.Fatal(err)
	}
	busy := func(what string, err error) {
		t.Helper()
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != 429 || !errors.Is(err, client.ErrBusy) || ae.RetryAfter != time.Second {
			t.Errorf("%s: %v (%+v), want 429 with Retry-After 1s", what, err, ae)
		}
	}
	_, err := c.CreateSession(ctx, api.SessionSpec{Image: hello})
	busy("second session", err)

	queued := make(chan error, 1)
	go func() {
		_, err := c.Invoke(ctx, api.Invoke{Image: hello})
		queued <- err
	}()
	for {
		h, err := c.Health(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if h.Queued == 1 && h.Sessions == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	_, err = c.Invoke(ctx, api.Invoke{Image: hello})
	busy("invocation over a full queue", err)

	go srv.Stop()
	err = <-queued
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != 503 || !errors.Is(err, client.ErrUnavailable) || ae.RetryAfter != 5*time.Second {
		t.Errorf("queued invocation at shutdown: %v (%+v), want 503 with Retry-After 5s", err, ae)
	}
}

// TestNoDaemon: a socket path with nothing there, or a socket nobody
// listens on, gives the one-line ErrNoDaemon error.
func TestNoDaemon(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	l, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedTCP := "http://" + tl.Addr().String()
	tl.Close()
	missing := filepath.Join(dir, "missing.sock")
	t.Setenv(client.SocketEnv, missing)
	for _, tc := range []struct {
		name  string
		c     *client.Client
		where string
	}{
		{"missing", client.New(missing), missing},
		{"from environment", client.New(""), missing},
		{"stale", client.New(stale), stale},
		{"tcp", client.NewTCP(closedTCP, "tok"), closedTCP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.Version(context.Background())
			want := "no daemon at " + tc.where + ": start one with `uaaf serve`"
			if !errors.Is(err, client.ErrNoDaemon) || err.Error() != want {
				t.Errorf("got %v, want %q matching ErrNoDaemon", err, want)
			}
		})
	}
	// Something else at the path: not "no daemon".
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o600)
	if _, err := client.New(file).Version(context.Background()); err == nil || errors.Is(err, client.ErrNoDaemon) || !strings.Contains(err.Error(), "is not a socket") {
		t.Errorf("a regular file as socket: %v", err)
	}
}

// TestTCP: the TCP listener answers only with the bearer token.
func TestTCP(t *testing.T) {
	l, err := daemon.ListenTCP("127.0.0.1:0", false)
	if err != nil {
		t.Fatal(err)
	}
	const token = "0123456789abcdef-test"
	clienttest.Start(t, daemon.Options{}, daemon.Listener{Listener: l, Token: token})
	base := "http://" + l.Addr().String()
	ctx := context.Background()
	c := client.NewTCP(base+"/", token)
	defer c.Close()
	if h, err := c.Health(ctx); err != nil || h.Status != "ok" {
		t.Errorf("with the token: %+v, %v", h, err)
	}
	if r, err := c.Invoke(ctx, api.Invoke{Image: kvmtest.GuestImage(t, "exitcode"), Args: []string{"7"}}); err != nil || *r.ExitStatus != 7 {
		t.Errorf("invoke over TCP: %+v, %v", r, err)
	}
	// The address without a scheme works the same.
	if _, err := client.NewTCP(l.Addr().String(), token).Version(ctx); err != nil {
		t.Errorf("NewTCP without scheme: %v", err)
	}
	for _, tok := range []string{"", "wrong"} {
		_, err := client.NewTCP(base, tok).Version(ctx)
		var ae *client.APIError
		if !errors.As(err, &ae) || ae.Status != 401 || !errors.Is(err, client.ErrUnauthorized) || !strings.Contains(ae.Message, "bearer token") {
			t.Errorf("token %q: %v, want 401", tok, err)
		}
	}
}
