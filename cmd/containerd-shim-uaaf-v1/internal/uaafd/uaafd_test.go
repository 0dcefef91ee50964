package uaafd

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/session/client/clienttest"
	sdaemon "github.com/uaaf/uaaf/session/daemon"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// start runs an in-process daemon and returns the adapter on its socket.
func start(t *testing.T) (*clienttest.Server, *Daemon) {
	t.Helper()
	srv := clienttest.Start(t, sdaemon.Options{})
	d := New(srv.Socket)
	t.Cleanup(func() { d.Close() })
	return srv, d
}

// TestRun runs sessions to their end through the adapter, as the task
// service does: create, open the console, start, wait.
func TestRun(t *testing.T) {
	_, d := start(t)
	tests := []struct {
		name    string
		spec    daemon.SessionSpec
		want    daemon.Exit
		console []string // substrings, in order
	}{
		{"exit status", daemon.SessionSpec{Image: kvmtest.GuestImage(t, "exitcode"), Args: []string{"3"}},
			daemon.Exit{Status: 3},
			[]string{"uaaf guest: starting, mem 8 MiB\n", "exitcode: exiting with 3\n", "uaaf guest: exit 3\n"}},
		{"args and memory", daemon.SessionSpec{Image: kvmtest.GuestImage(t, "output"), Args: []string{"a", "b c"}, MemMiB: 12},
			daemon.Exit{Status: 0},
			[]string{"mem 12 MiB\n", "a b c\n", "uaaf guest: exit 0\n"}},
		{"guest trap exits 255", daemon.SessionSpec{Image: kvmtest.GuestImage(t, "exception")},
			daemon.Exit{Status: 255},
			[]string{"exception: executing ud2"}},
		{"monitor error exits 1 with a message", daemon.SessionSpec{Image: kvmtest.GuestImage(t, "triplefault")},
			daemon.Exit{Status: 1, Message: "uaaf: "},
			[]string{"triplefault: empty IDT"}},
		{"libraries bound by the session", daemon.SessionSpec{Image: kvmtest.GuestImage(t, "idle"), Args: []string{"0"}, Libs: []string{"sha256", "crc32"}},
			daemon.Exit{Status: 0},
			[]string{"idle: ready\n", "uaaf guest: exit 0\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			before := time.Now()
			id, err := d.CreateSession(ctx, tc.spec)
			if err != nil {
				t.Fatalf("CreateSession: %v", err)
			}
			if st, err := d.Stats(ctx, id); err != nil || st.State != "created" {
				t.Errorf("Stats before start = %+v, %v", st, err)
			}
			rc, err := d.Console(ctx, id, true)
			if err != nil {
				t.Fatalf("Console: %v", err)
			}
			defer rc.Close()
			if err := d.StartSession(ctx, id); err != nil {
				t.Fatalf("StartSession: %v", err)
			}
			out, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("read console: %v", err)
			}
			ex, err := d.WaitSession(ctx, id)
			if err != nil {
				t.Fatalf("WaitSession: %v", err)
			}
			if ex.Status != tc.want.Status || ex.Killed || !strings.HasPrefix(ex.Message, tc.want.Message) ||
				(tc.want.Message == "") != (ex.Message == "") || ex.At.Before(before) || ex.At.After(time.Now()) {
				t.Errorf("WaitSession = %+v, want %+v", ex, tc.want)
			}
			rest := string(out)
			for _, want := range tc.console {
				i := strings.Index(rest, want)
				if i < 0 {
					t.Fatalf("console %q lacks %q (in order)", out, want)
				}
				rest = rest[i+len(want):]
			}
			st, err := d.Stats(ctx, id)
			if err != nil || st.State != "exited" || st.CPUNanos == 0 {
				t.Errorf("Stats after the end = %+v, %v", st, err)
			}
			if err := d.KillSession(ctx, id); err != nil {
				t.Errorf("KillSession of an ended session: %v", err)
			}
			if err := d.DeleteSession(ctx, id); err != nil {
				t.Fatalf("DeleteSession: %v", err)
			}
			if _, err := d.WaitSession(ctx, id); !errors.Is(err, daemon.ErrNotFound) {
				t.Errorf("WaitSession after delete: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestKill stops a running and a created session.
func TestKill(t *testing.T) {
	srv, d := start(t)
	c := client.New(srv.Socket)
	defer c.Close()
	ctx := testCtx(t)
	idle := kvmtest.GuestImage(t, "idle")

	t.Run("running", func(t *testing.T) {
		id, err := d.CreateSession(ctx, daemon.SessionSpec{Image: idle})
		if err != nil {
			t.Fatal(err)
		}
		rc, err := d.Console(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		if err := d.StartSession(ctx, id); err != nil {
			t.Fatal(err)
		}
		waited := make(chan daemon.Exit, 1)
		go func() {
			ex, err := d.WaitSession(ctx, id)
			if err != nil {
				t.Errorf("WaitSession: %v", err)
			}
			waited <- ex
		}()
		// The console says when the guest is waiting.
		buf := make([]byte, 0, 256)
		for !strings.Contains(string(buf), "idle: ready\n") {
			n, err := rc.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			if err != nil {
				t.Fatalf("console %q: %v", buf, err)
			}
		}
		if st, err := d.Stats(ctx, id); err != nil || st.State != "running" {
			t.Errorf("Stats = %+v, %v", st, err)
		}
		if l, err := c.Library(ctx, "sha256"); err != nil || l.Refs != 1 {
			t.Errorf("sha256 while it runs: %+v, %v", l, err)
		}
		select {
		case ex := <-waited:
			t.Fatalf("WaitSession returned before the kill: %+v", ex)
		case <-time.After(50 * time.Millisecond):
		}
		if err := d.KillSession(ctx, id); err != nil {
			t.Fatalf("KillSession: %v", err)
		}
		if ex := <-waited; !ex.Killed || ex.Message != "" {
			t.Errorf("exit = %+v, want killed without message", ex)
		}
		if _, err := io.ReadAll(rc); err != nil {
			t.Errorf("console after the kill: %v", err)
		}
		if err := d.DeleteSession(ctx, id); err != nil {
			t.Fatal(err)
		}
		if l, err := c.Library(ctx, "sha256"); err != nil || l.Refs != 0 {
			t.Errorf("sha256 after: %+v, %v", l, err)
		}
	})

	t.Run("created", func(t *testing.T) {
		id, err := d.CreateSession(ctx, daemon.SessionSpec{Image: idle})
		if err != nil {
			t.Fatal(err)
		}
		if err := d.KillSession(ctx, id); err != nil {
			t.Fatalf("KillSession: %v", err)
		}
		if ex, err := d.WaitSession(ctx, id); err != nil || !ex.Killed {
			t.Errorf("WaitSession = %+v, %v", ex, err)
		}
		if err := d.StartSession(ctx, id); err == nil || errors.Is(err, daemon.ErrNotFound) {
			t.Errorf("StartSession of a killed session: %v, want a conflict", err)
		}
		if err := d.DeleteSession(ctx, id); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLibs checks the libraries a container names: bound, held or missing.
func TestLibs(t *testing.T) {
	srv, d := start(t)
	c := client.New(srv.Socket)
	defer c.Close()
	ctx := testCtx(t)
	output := kvmtest.GuestImage(t, "output") // imports nothing

	// testfns is on the daemon's library path but not loaded.
	_, err := d.CreateSession(ctx, daemon.SessionSpec{Image: output, Libs: []string{"testfns"}})
	if !errors.Is(err, ErrLibUnavailable) || !strings.Contains(err.Error(), "testfns") {
		t.Fatalf("CreateSession naming a library nobody holds: %v, want ErrLibUnavailable", err)
	}
	if ss, err := c.Sessions(ctx); err != nil || len(ss) != 0 {
		t.Errorf("sessions left after the refusal: %v, %v", ss, err)
	}
	if _, err := c.LoadLibrary(ctx, api.LoadLibrary{Name: "testfns", Path: kvmtest.LibraryImage(t, "testfns")}); err != nil {
		t.Fatal(err)
	}
	id, err := d.CreateSession(ctx, daemon.SessionSpec{Image: output, Libs: []string{"testfns"}})
	if err != nil {
		t.Fatalf("CreateSession naming a held library: %v", err)
	}
	if err := d.DeleteSession(ctx, id); err != nil {
		t.Fatal(err)
	}

	// An import that cannot be resolved fails the creation itself.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "junk.hvt"), []byte("not an ELF"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = d.CreateSession(ctx, daemon.SessionSpec{Image: filepath.Join(dir, "junk.hvt")})
	var ae *client.APIError
	if !errors.As(err, &ae) || errors.Is(err, daemon.ErrNoDaemon) || errors.Is(err, daemon.ErrNotFound) {
		t.Errorf("CreateSession of a bad image: %v, want the daemon's refusal", err)
	}
}

// TestRestart checks that an id outlives no daemon: after a restart the
// same session number names another session, which the old id must not
// reach.
func TestRestart(t *testing.T) {
	srvA, dA := start(t)
	ctx := testCtx(t)
	idle := kvmtest.GuestImage(t, "idle")
	idA, err := dA.CreateSession(ctx, daemon.SessionSpec{Image: idle})
	if err != nil {
		t.Fatal(err)
	}
	if err := srvA.Stop(); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"Ping":          func() error { return dA.Ping(ctx) },
		"WaitSession":   func() error { _, err := dA.WaitSession(ctx, idA); return err },
		"KillSession":   func() error { return dA.KillSession(ctx, idA) },
		"DeleteSession": func() error { return dA.DeleteSession(ctx, idA) },
	} {
		err := call()
		if !errors.Is(err, daemon.ErrNoDaemon) || !strings.Contains(err.Error(), "no uaaf daemon at "+srvA.Socket+": start one with `uaaf serve`") {
			t.Errorf("%s without a daemon: %v", name, err)
		}
	}

	_, dB := start(t)
	idB, err := dB.CreateSession(ctx, daemon.SessionSpec{Image: idle})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Split(idA, "@")[0] != strings.Split(idB, "@")[0] {
		t.Fatalf("ids %s and %s: the test needs the same session number in both daemons", idA, idB)
	}
	if err := dB.StartSession(ctx, idB); err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func() error{
		"StartSession":  func() error { return dB.StartSession(ctx, idA) },
		"WaitSession":   func() error { _, err := dB.WaitSession(ctx, idA); return err },
		"KillSession":   func() error { return dB.KillSession(ctx, idA) },
		"DeleteSession": func() error { return dB.DeleteSession(ctx, idA) },
		"Stats":         func() error { _, err := dB.Stats(ctx, idA); return err },
		"Console":       func() error { _, err := dB.Console(ctx, idA, false); return err },
		"malformed id":  func() error { return dB.KillSession(ctx, "1") },
	} {
		if err := call(); !errors.Is(err, daemon.ErrNotFound) {
			t.Errorf("%s with the old daemon's id: %v, want ErrNotFound", name, err)
		}
	}
	if st, err := dB.Stats(ctx, idB); err != nil || st.State != "running" {
		t.Errorf("the new daemon's session after all that: %+v, %v", st, err)
	}
	if err := dB.DeleteSession(ctx, idB); err != nil {
		t.Fatal(err)
	}
}

// TestShutdown: a session the daemon stops on its way out ends killed with
// the daemon's reason — or, if the daemon closed the connection first, the
// wait fails with ErrNoDaemon. Either way it cannot look like an exit.
func TestShutdown(t *testing.T) {
	srv, d := start(t)
	ctx := testCtx(t)
	id, err := d.CreateSession(ctx, daemon.SessionSpec{Image: kvmtest.GuestImage(t, "idle")})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.StartSession(ctx, id); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	var ex daemon.Exit
	go func() {
		var err error
		ex, err = d.WaitSession(ctx, id)
		waited <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the wait reach the daemon
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	switch err := <-waited; {
	case err == nil:
		if !ex.Killed || ex.Message != "uaaf: session killed: daemon shutting down" {
			t.Errorf("exit = %+v, want killed by the shutdown", ex)
		}
	case !errors.Is(err, daemon.ErrNoDaemon):
		t.Errorf("WaitSession: %v, want ErrNoDaemon or an exit", err)
	}
}

func TestPing(t *testing.T) {
	_, d := start(t)
	if err := d.Ping(testCtx(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
	sock := filepath.Join(t.TempDir(), "none.sock")
	err := New(sock).Ping(testCtx(t))
	want := "no uaaf daemon at " + sock + ": start one with `uaaf serve` (dial unix " + sock + ": connect: no such file or directory)"
	if !errors.Is(err, daemon.ErrNoDaemon) || err.Error() != want {
		t.Errorf("Ping without a daemon: %v", err)
	}
}

func TestParseRef(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"7@1765000000123456789", true},
		{"0@0", true},
		{"7@-5", true},
		{"7", false},
		{"@1", false},
		{"7@", false},
		{"x@1", false},
		{"7@1@2", false},
		{"-7@1", false},
		{"", false},
	}
	for _, tc := range tests {
		r, err := parseRef(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("parseRef(%q) = %v, %v", tc.in, r, err)
			continue
		}
		if err != nil && !errors.Is(err, daemon.ErrNotFound) {
			t.Errorf("parseRef(%q): %v, want ErrNotFound", tc.in, err)
		}
		if err == nil && r.String() != tc.in {
			t.Errorf("parseRef(%q).String() = %q", tc.in, r.String())
		}
	}
}

// FuzzParseRef: any id either parses into one that prints back the same,
// or fails with ErrNotFound.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"7@1765000000123456789", "1@0", "", "@", "18446744073709551615@-9223372036854775808", "01@1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := parseRef(s)
		if err != nil {
			if !errors.Is(err, daemon.ErrNotFound) {
				t.Errorf("parseRef(%q): %v", s, err)
			}
			return
		}
		again, err := parseRef(r.String())
		if err != nil || again != r {
			t.Errorf("parseRef(%q) = %v; reparsed %v, %v", s, r, again, err)
		}
	})
}
