package main

import (
	"bytes"
	le "encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// patchedImport copies the calltest session with its first import's note
// entry changed by patch (lib and fn name fields, and the binding array's
// address in the note header), and returns the copy's path.
func patchedImport(t *testing.T, patch func(hdr, lib, fn []byte)) string {
	t.Helper()
	b, err := os.ReadFile(kvmtest.GuestImage(t, "calltest"))
	if err != nil {
		t.Fatal(err)
	}
	// The UIMP note: n_type "UIMP" then the name "UAAF\0" padded to 8,
	// then the descriptor: a 16-byte header (version, count, entry size,
	// binding array) and 64-byte entries (lib[32], fn[32]).
	i := bytes.Index(b, []byte("UIMPUAAF\x00"))
	if i < 0 {
		t.Fatal("calltest has no UIMP note")
	}
	desc := b[i+12:]
	patch(desc[:16], desc[16:48], desc[48:80])
	p := filepath.Join(t.TempDir(), "patched.hvt")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func setName(field []byte, name string) {
	clear(field)
	copy(field, name)
}

// TestMalformedNotes: a session image whose UaaF notes are malformed is
// refused with the note's error before any guest code runs, as `uaaf
// inspect` refuses it — it does not run as a plain guest.
func TestMalformedNotes(t *testing.T) {
	kvmtest.Require(t)
	tests := []struct {
		name  string
		patch func(hdr, lib, fn []byte)
		want  string
	}{
		{"lib ../x", func(_, lib, _ []byte) { setName(lib, "../x") }, `import library 0: name "../x" is not an identifier`},
		{"lib with a space", func(_, lib, _ []byte) { setName(lib, "a b") }, `name "a b" is not an identifier`},
		{"empty lib", func(_, lib, _ []byte) { setName(lib, "") }, "import library 0: name empty or not NUL-terminated"},
		{"32 bytes, no NUL", func(_, lib, _ []byte) { copy(lib, strings.Repeat("a", 32)) }, "name empty or not NUL-terminated"},
		{"leading digit", func(_, lib, _ []byte) { setName(lib, "1ab") }, `name "1ab" is not an identifier`},
		{"fn ../x", func(_, _, fn []byte) { setName(fn, "../x") }, `import function 0: name "../x" is not an identifier`},
		{"no binding array", func(hdr, _, _ []byte) { le.LittleEndian.PutUint32(hdr[12:], 0) }, "imports note has no binding array"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := patchedImport(t, tt.patch)
			for _, args := range [][]string{{"run", "--mem=8", img}, {"run", "--lib", "sha256=" + kvmtest.LibraryImage(t, "sha256"), img}, {"inspect", img}} {
				r := runUAAF(t, args...)
				ls := lines(r.stderr)
				if r.code != 1 || len(ls) != 1 || !strings.Contains(ls[0], "invalid UaaF note") || !strings.Contains(ls[0], tt.want) {
					t.Errorf("uaaf %s: exit %d, stderr %q; want 1 and one line with %q", args[0], r.code, r.stderr, tt.want)
				}
				if r.stdout != "" {
					t.Errorf("uaaf %s: the guest ran: stdout %q", args[0], r.stdout)
				}
			}
		})
	}
}

// TestUnopenable: a FIFO given as the kernel, a library or a block device
// is refused at once (not left blocking in open(2)), and an open-file limit
// too low to run anything is one line, not a Go runtime crash.
func TestUnopenable(t *testing.T) {
	kvmtest.Require(t)
	fifo := filepath.Join(t.TempDir(), "fifo.hvt")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", fifo}, "uaaf: " + fifo + ": not a regular file"},
		{[]string{"run", "--lib", "sha256=" + fifo, kvmtest.GuestImage(t, "demo")}, "uaaf: libvm: preload failed: sha256: " + fifo + ": not a regular file"},
		{[]string{"run", "--block:storage=" + fifo, kvmtest.GuestImage(t, "blk")}, "uaaf: storage: " + fifo + " is not a regular file or a block device"},
		{[]string{"inspect", fifo}, "uaaf: " + fifo + ": not a regular file"},
	}
	for _, tt := range tests {
		r := runUAAF(t, tt.args...)
		if r.code != 1 || strings.TrimSpace(r.stderr) != tt.want {
			t.Errorf("uaaf %q: exit %d, stderr %q; want 1 and %q", tt.args, r.code, r.stderr, tt.want)
		}
	}
	for _, n := range []string{"14", "31"} {
		cmd := exec.Command("sh", "-c", "ulimit -n "+n+" && exec \"$0\" run --mem=8 --lib-path \"$1\" \"$2\"",
			binary(t), filepath.Dir(kvmtest.LibraryImage(t, "sha256")), kvmtest.GuestImage(t, "demo"))
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		want := "uaaf: the open-file limit is " + n + "; uaaf run needs at least 32 (raise it, e.g. ulimit -n 1024)\n"
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || string(out) != want {
			t.Errorf("ulimit -n %s: %v, output %q; want exit 1 and %q", n, err, out, want)
		}
	}
}

// TestSignalDuringPreload: SIGTERM while a library is still booting (its
// uaaf_lib_init never returns) ends uaaf at once with solo5-hvt's message,
// not when the preload deadline passes.
func TestSignalDuringPreload(t *testing.T) {
	kvmtest.Require(t)
	cmd := exec.Command(binary(t), "run", "--mem=8", "--lib", "sha256="+kvmtest.LibraryImage(t, "loopinit"), kvmtest.GuestImage(t, "demo"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // well into the preload
	start := time.Now()
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("uaaf still preloading 20 s after SIGTERM")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || stderr.String() != "uaaf: Exiting on signal 15\n" {
		t.Errorf("after SIGTERM during preload: %v, stderr %q; want exit 1 and \"uaaf: Exiting on signal 15\"", err, stderr.String())
	}
	t.Logf("exited %v after SIGTERM", time.Since(start))
}
