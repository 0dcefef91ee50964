package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// runStats is the part of `uaaf run --stats` these tests check.
type runStats struct {
	Status  int    `json:"exit_status"`
	VMExits uint64 `json:"vm_exits"`
	Calls   *struct {
		Calls int `json:"calls"`
	} `json:"calls"`
	Functions []struct {
		Name string `json:"name"`
		Refs int    `json:"refs"`
	} `json:"functions"`
}

// TestStats runs the built uaaf with --stats and --stats=FILE: one JSON line
// on stderr (a pipe here), or the same in FILE and nothing on stderr; the
// guest's console on stdout either way.
func TestStats(t *testing.T) {
	kvmtest.Require(t)
	hello := kvmtest.GuestImage(t, "hello")
	demo := kvmtest.GuestImage(t, "demo")
	lib := filepath.Dir(kvmtest.LibraryImage(t, "sha256"))
	file := filepath.Join(t.TempDir(), "stats.json")

	r := runUAAF(t, "run", "--mem=8", "--stats", hello, "Hello_Solo5")
	if r.code != 0 || !strings.Contains(r.stdout, "Hello, World") {
		t.Fatalf("hello: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	var st runStats
	if ls := lines(r.stderr); len(ls) != 1 || json.Unmarshal([]byte(ls[0]), &st) != nil || st.VMExits == 0 {
		t.Errorf("--stats: stderr %q, want one JSON line with vm_exits", r.stderr)
	}

	r = runUAAF(t, "run", "--mem=8", "--stats="+file, "--lib-path", lib, demo)
	if r.code != 0 || !strings.Contains(r.stdout, "SUCCESS") || r.stderr != "" {
		t.Fatalf("demo --stats=FILE: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	st = runStats{}
	if ls := lines(string(b)); len(ls) != 1 || json.Unmarshal(b, &st) != nil {
		t.Fatalf("%s holds %q, want one JSON line", file, b)
	}
	if st.Status != 0 || st.Calls == nil || st.Calls.Calls != 4 || len(st.Functions) != 4 || st.Functions[0].Refs != 1 {
		t.Errorf("demo statistics %+v: want exit 0, 4 calls, 4 functions with a reference each", st)
	}

	r = runUAAF(t, "run", "--stats=/nonexistent/stats.json", hello)
	if r.code != 1 || r.stderr != "uaaf: --stats=/nonexistent/stats.json: no such file or directory\n" || r.stdout != "" {
		t.Errorf("--stats=/nonexistent/…: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestStatsTerminal: on a terminal the JSON is indented, for people.
func TestStatsTerminal(t *testing.T) {
	kvmtest.Require(t)
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binary(t), "run", "--mem=8", "--stats", kvmtest.GuestImage(t, "hello"), "Hello_Solo5")
	cmd.Stdout, cmd.Stderr = io.Discard, tty
	err = cmd.Run()
	tty.Close()
	if err != nil {
		t.Fatal(err)
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := ptmx.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if !errors.Is(err, unix.EIO) && !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
	}
	text := strings.ReplaceAll(string(out), "\r\n", "\n") // the terminal's output processing
	var st runStats
	if !strings.HasPrefix(text, "{\n  \"image\": ") || json.Unmarshal([]byte(text), &st) != nil || st.VMExits == 0 {
		t.Errorf("stderr on a terminal: %q, want indented JSON", text)
	}
}

// TestLibraryDefault: a session's imports not given with --lib or
// --lib-path are looked up last among uaaf's own library images
// ($UAAF_DATA_DIR/lib here; next to the binary when installed).
func TestLibraryDefault(t *testing.T) {
	kvmtest.Require(t)
	demo := kvmtest.GuestImage(t, "demo")
	data := t.TempDir()
	if err := os.Symlink(filepath.Dir(kvmtest.LibraryImage(t, "sha256")), filepath.Join(data, "lib")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("UAAF_LIB_PATH", "")
	t.Setenv("UAAF_DATA_DIR", data)
	if r := runUAAF(t, "run", "--mem=8", demo); r.code != 0 || !strings.Contains(r.stdout, "SUCCESS") {
		t.Errorf("demo with $UAAF_DATA_DIR: exit %d, stderr %q", r.code, r.stderr)
	}
	t.Setenv("UAAF_DATA_DIR", "")
	want := "uaaf: session: unresolved import: library base64 (imported by " + demo + "): libfuncs: library not found: base64 (no --lib base64=PATH; no --lib-path or UAAF_LIB_PATH given for base64.hvt)\n"
	if r := runUAAF(t, "run", "--mem=8", demo); r.code != 1 || r.stderr != want {
		t.Errorf("demo, no library images: exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}
}

// TestStatsSeccomp: `uaaf run --stats` says how the run went: its phases
// (the seccomp filter's Install among them, 0 without the filter), exits,
// hypercalls, and the filter in place.
func TestStatsSeccomp(t *testing.T) {
	kvmtest.Require(t)
	hello := kvmtest.GuestImage(t, "hello")
	for _, tt := range []struct {
		mode, want string
	}{
		{"kill", "kill (profile runner)"},
		{"off", "off"},
	} {
		r := runUAAF(t, "run", "--stats", "--seccomp="+tt.mode, "--mem=8", hello, "Hello_Solo5")
		ls := lines(r.stderr)
		if r.code != 0 || len(ls) == 0 {
			t.Fatalf("--seccomp=%s: exit %d, stderr %q", tt.mode, r.code, r.stderr)
		}
		var st struct {
			Status     int                `json:"exit_status"`
			Phases     map[string]float64 `json:"phases_ms"`
			VMExits    uint64             `json:"vm_exits"`
			Hypercalls map[string]uint64  `json:"hypercalls"`
			Seccomp    string             `json:"seccomp"`
		}
		if err := json.Unmarshal([]byte(ls[len(ls)-1]), &st); err != nil {
			t.Fatalf("--seccomp=%s: last stderr line %q: %v", tt.mode, ls[len(ls)-1], err)
		}
		if st.Seccomp != tt.want || st.Status != 0 || st.VMExits == 0 || st.Hypercalls["puts"] == 0 || st.Hypercalls["halt"] != 1 {
			t.Errorf("--seccomp=%s: stats %+v", tt.mode, st)
		}
		for _, p := range []string{"load", "first_instruction", "run_to_halt", "run_total", "seccomp"} {
			if _, ok := st.Phases[p]; !ok {
				t.Errorf("--seccomp=%s: no phase %q in %v", tt.mode, p, st.Phases)
			}
		}
		if on := st.Phases["seccomp"] > 0; on != (tt.mode == "kill") || st.Phases["seccomp"] > st.Phases["run_total"] {
			t.Errorf("--seccomp=%s: seccomp phase %v ms of %v", tt.mode, st.Phases["seccomp"], st.Phases["run_total"])
		}
		if !strings.Contains(r.stdout, "Hello, World") {
			t.Errorf("--seccomp=%s: stdout %q", tt.mode, r.stdout)
		}
	}
}
