package runcmd

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal and returns its controller and the
// terminal side, closed at the end of the test.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { ptmx.Close() })
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	tty, err = os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tty.Close() })
	return ptmx, tty
}

type sample struct {
	Image  string `json:"image"`
	Status int    `json:"exit_status"`
}

// TestStatsOut: --stats JSON is one line on a pipe or in a file, indented
// on a terminal; --stats=FILE creates FILE and says why it cannot.
func TestStatsOut(t *testing.T) {
	_, tty := openPTY(t)
	dir := t.TempDir()
	pipeR, pipeW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pipeR.Close()
	defer pipeW.Close()
	tests := []struct {
		name   string
		path   string
		stderr io.Writer
		indent bool
		err    string
	}{
		{name: "stderr a terminal", stderr: tty, indent: true},
		{name: "stderr a pipe", stderr: pipeW},
		{name: "stderr not a file", stderr: &bytes.Buffer{}},
		{name: "a file", path: filepath.Join(dir, "st.json"), stderr: tty},
		{name: "the terminal as FILE", path: tty.Name(), stderr: &bytes.Buffer{}, indent: true},
		{name: "no such directory", path: "/nonexistent/st.json", stderr: tty,
			err: "--stats=/nonexistent/st.json: no such file or directory"},
		{name: "a directory", path: dir, stderr: tty, err: "--stats=" + dir + ": is a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := openStats(tt.path, tt.stderr)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			if out.indent != tt.indent {
				t.Errorf("indent %v, want %v", out.indent, tt.indent)
			}
			if tt.path == "" || tt.indent {
				return
			}
			if err := out.write(sample{Image: "x.hvt", Status: 3}); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != `{"image":"x.hvt","exit_status":3}`+"\n" {
				t.Errorf("file holds %q", b)
			}
		})
	}
}

// TestStatsIndent: what an indented write looks like.
func TestStatsIndent(t *testing.T) {
	var b bytes.Buffer
	out := &statsOut{w: &b, indent: true}
	if err := out.write(sample{Image: "x.hvt"}); err != nil {
		t.Fatal(err)
	}
	want := "{\n  \"image\": \"x.hvt\",\n  \"exit_status\": 0\n}\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
