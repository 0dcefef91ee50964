package fakedaemon

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
)

// TestDaemon runs the same script on the in-memory Fake and on a Client of a
// served Fake.
func TestDaemon(t *testing.T) {
	img := filepath.Join(t.TempDir(), "s.hvt")
	if err := os.WriteFile(img, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, remote := range []bool{false, true} {
		name := "in-memory"
		if remote {
			name = "rpc"
		}
		t.Run(name, func(t *testing.T) {
			fake := New("sha256", "crc32")
			var d daemon.Daemon = fake
			if remote {
				socket := filepath.Join(t.TempDir(), "f.sock")
				l, err := net.Listen("unix", socket)
				if err != nil {
					t.Fatal(err)
				}
				srv, err := Serve(l, fake)
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				d = Dial(socket)
			}
			ctx := context.Background()
			if err := d.Ping(ctx); err != nil {
				t.Fatal(err)
			}
			a, err := d.CreateSession(ctx, daemon.SessionSpec{Image: img, Args: []string{"exit=7"}, Libs: []string{"sha256"}})
			if err != nil {
				t.Fatal(err)
			}
			b, err := d.CreateSession(ctx, daemon.SessionSpec{Image: img, Args: []string{"run"}, Libs: []string{"sha256", "crc32"}, MemMiB: 8})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.CreateSession(ctx, daemon.SessionSpec{Image: img, Libs: []string{"nope"}}); err == nil {
				t.Error("unknown library accepted")
			}
			if fake.Refs("sha256") != 2 || fake.Refs("crc32") != 1 || fake.Refs("nope") != -1 {
				t.Fatalf("refs sha256 %d crc32 %d", fake.Refs("sha256"), fake.Refs("crc32"))
			}
			console, err := d.Console(ctx, b, true)
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{a, b} {
				if err := d.StartSession(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			ex, err := d.WaitSession(ctx, a)
			if err != nil || ex.Status != 7 || ex.Killed {
				t.Fatalf("wait a: %+v %v", ex, err)
			}
			st, err := d.Stats(ctx, b)
			if err != nil || st.State != "running" || st.MemBytes != 8<<20 {
				t.Fatalf("stats b: %+v %v", st, err)
			}
			if fake.Refs("sha256") != 1 {
				t.Fatalf("refs after a ended: %d", fake.Refs("sha256"))
			}
			got := make(chan string, 1)
			go func() {
				out, _ := io.ReadAll(console)
				got <- string(out)
			}()
			time.Sleep(20 * time.Millisecond) // the reader is blocked in follow mode
			if err := d.KillSession(ctx, b); err != nil {
				t.Fatal(err)
			}
			out := <-got
			want := "image sha256:ba7816bf8f01 3 bytes\nargs: run\nmem: 8 MiB\nlibs: sha256=2 crc32=1\n"
			if out != want {
				t.Errorf("console %q, want %q", out, want)
			}
			if ex, err := d.WaitSession(ctx, b); err != nil || !ex.Killed || ex.At.IsZero() {
				t.Errorf("wait b: %+v %v", ex, err)
			}
			if fake.Refs("sha256") != 0 || fake.Refs("crc32") != 0 {
				t.Errorf("refs after both ended: %d %d", fake.Refs("sha256"), fake.Refs("crc32"))
			}
			for _, id := range []string{a, b} {
				if err := d.DeleteSession(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.StartSession(ctx, a); !errors.Is(err, daemon.ErrNotFound) {
				t.Errorf("start of a deleted session: %v, want ErrNotFound", err)
			}
		})
	}
}

func TestClientWithoutServer(t *testing.T) {
	socket := filepath.Join(t.TempDir(), "none.sock")
	err := Dial(socket).Ping(context.Background())
	if !errors.Is(err, daemon.ErrNoDaemon) || !strings.Contains(err.Error(), "start one with `uaaf serve`") {
		t.Fatalf("Ping: %v", err)
	}
}
