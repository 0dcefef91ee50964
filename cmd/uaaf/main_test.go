package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uaaf/uaaf/cmd/internal/cliapp"
	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// uaafBin is the uaaf binary TestMain builds from this package, for the tests
// that need a real process (exit codes, signals, rusage). buildErr says why
// it could not be built.
var (
	uaafBin  string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "uaaf-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "uaaf test: temp dir:", err)
		os.Exit(1)
	}
	uaafBin, buildErr = kvmtest.BuildUAAF(dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// binary returns the built uaaf binary or fails tb.
func binary(tb testing.TB) string {
	tb.Helper()
	if buildErr != nil {
		tb.Fatalf("uaaf binary unavailable: %v", buildErr)
	}
	return uaafBin
}

// result is what one uaaf process did.
type result struct {
	code           int
	stdout, stderr string
	pid            int
}

// runUAAF runs the built binary with args, bounded in time, and returns its
// exit status and output. A signal death or a timeout fails t.
func runUAAF(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("uaaf %q did not finish within 60 s", args)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Fatalf("uaaf %q died of signal %v; stderr %q", args, ws.Signal(), stderr.String())
	}
	return result{code: ws.ExitStatus(), stdout: stdout.String(), stderr: stderr.String(), pid: cmd.Process.Pid}
}

// lines splits s into its newline-terminated lines; a final line without a
// newline counts too.
func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// notELF writes a regular file that is long enough for an ELF header but is
// text, and returns its path.
func notELF(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notelf.hvt")
	text := strings.Repeat("this is a text file, not an hvt unikernel\n", 4)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAppErrors runs commands that fail before any KVM access in process,
// through newApp().Run, and checks that main would print exactly one
// "uaaf: …" line for them and exit 1.
func TestAppErrors(t *testing.T) {
	tests := []struct {
		name string
		args func(t *testing.T) []string
		want string
	}{
		{"run without kernel", func(*testing.T) []string { return []string{"run"} }, "Missing KERNEL operand"},
		{"run options only", func(*testing.T) []string { return []string{"run", "--mem=32"} }, "Missing KERNEL operand"},
		{"run unknown option", func(*testing.T) []string { return []string{"run", "--bogus=1", "x.hvt"} }, "Invalid option: `--bogus=1'"},
		{"run option without value", func(*testing.T) []string { return []string{"run", "--mem"} }, "--mem needs a value: --mem=VALUE or --mem VALUE (see uaaf run --help)"},
		{"run option eats the kernel", func(*testing.T) []string { return []string{"run", "--mem", "x.hvt"} }, "Missing KERNEL operand; usage: uaaf run [OPTIONS] [--] KERNEL [ARGS...] (see uaaf run --help)"},
		{"run bad mem", func(*testing.T) []string { return []string{"run", "--mem=lots", "x.hvt"} }, "Malformed argument to --mem"},
		{"run missing file", func(*testing.T) []string { return []string{"run", "/nonexistent/uaaf-test.hvt"} }, "Could not open"},
		{"run not ELF", func(t *testing.T) []string { return []string{"run", notELF(t)} }, "no ELF magic"},
		{"inspect missing file", func(*testing.T) []string { return []string{"inspect", "/nonexistent/uaaf-test.hvt"} }, "Could not open"},
		{"inspect not ELF", func(t *testing.T) []string { return []string{"inspect", notELF(t)} }, "no ELF magic"},
		{"inspect without image", func(*testing.T) []string { return []string{"inspect"} }, "exactly one IMAGE"},
		{"inspect a directory", func(t *testing.T) []string { return []string{"inspect", t.TempDir()} }, ": not a regular file"},
		{"inspect unknown flag", func(*testing.T) []string { return []string{"inspect", "--wrong", "x"} }, "flag provided but not defined: --wrong (see uaaf inspect --help)"},
		{"help for no command", func(*testing.T) []string { return []string{"help", "frobnicate"} }, `unknown command "frobnicate"; the commands are: run, inspect, probe, version, serve, bench, replay, lib, image, session, ps, invoke, events (see uaaf --help)`},
		{"flag without its value", func(*testing.T) []string { return []string{"probe", "--kvm-device"} }, "flag needs an argument: --kvm-device (see uaaf probe --help)"},
		{"probe with an argument", func(*testing.T) []string { return []string{"probe", "extra"} }, `probe takes no arguments (got "extra"; see uaaf probe --help)`},
		{"version with an argument", func(*testing.T) []string { return []string{"version", "x"} }, "version takes no arguments"},
		{"unknown command", func(*testing.T) []string { return []string{"frobnicate"} }, `unknown command "frobnicate"; the commands are: run, inspect, probe, version, serve, bench, replay, lib, image, session, ps, invoke, events (see uaaf --help)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := newApp()
			var stdout, stderr bytes.Buffer
			app.Writer, app.ErrWriter = &stdout, &stderr
			err := cliapp.Run(app, append([]string{"uaaf"}, tt.args(t)...))
			if err == nil {
				t.Fatalf("Run succeeded; stdout %q", stdout.String())
			}
			f, ferr := os.CreateTemp(t.TempDir(), "stderr")
			if ferr != nil {
				t.Fatal(ferr)
			}
			defer f.Close()
			if code := command.ExitCode(err, f); code != 1 {
				t.Errorf("exit code %d, want 1", code)
			}
			printed, _ := os.ReadFile(f.Name())
			ls := lines(string(printed))
			if len(ls) != 1 || !strings.HasPrefix(ls[0], "uaaf: ") || !strings.Contains(ls[0], tt.want) {
				t.Errorf("stderr %q, want one line \"uaaf: …%s…\"", printed, tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout not empty: %q", stdout.String())
			}
		})
	}
}

// TestAppInfo checks --help and --version output, at the top level and for
// run, in process.
func TestAppInfo(t *testing.T) {
	abi := fmt.Sprintf("hvt ABI version %d", hvt.ABIVersion)
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--help"}, []string{"uaaf", "run", "inspect", "probe", "--version"}},
		{[]string{"--version"}, []string{"uaaf " + command.Version + " (" + abi + ")\n"}},
		{[]string{"version"}, []string{"uaaf " + command.Version + " (" + abi + ")\n"}},
		{[]string{"help", "run"}, []string{"usage: uaaf run [OPTIONS] [--] KERNEL [ARGS...]", "--block:NAME=PATH", "--lib NAME=PATH"}},
		{[]string{"help", "inspect"}, []string{"uaaf inspect", "IMAGE"}},
		{[]string{"help"}, []string{"run", "inspect", "probe", "serve"}},
		{[]string{"run", "--help"}, []string{"usage: uaaf run [OPTIONS] [--] KERNEL [ARGS...]", "--block:NAME=PATH", "--net:NAME=@FD", "--dumpcore=DIR"}},
		{[]string{"run", "--mem=32", "--help", "x.hvt"}, []string{"usage: uaaf run"}},
		{[]string{"run", "--version"}, []string{"uaaf " + command.Version + " (" + abi + ")\n"}},
		{[]string{"help", "run"}, []string{"--version                       print uaaf's version and the hvt ABI version,", "--stats[=FILE]"}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, "_"), func(t *testing.T) {
			app := newApp()
			var stdout, stderr bytes.Buffer
			app.Writer, app.ErrWriter = &stdout, &stderr
			if err := app.Run(append([]string{"uaaf"}, tt.args...)); err != nil {
				t.Fatalf("Run: %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			if stderr.Len() != 0 {
				t.Errorf("stderr not empty: %q", stderr.String())
			}
		})
	}
}

// inspectJSON mirrors the fields of `uaaf inspect --json` the tests check,
// decoded independently of the command's own types.
type inspectJSON struct {
	Path       string `json:"path"`
	ABITarget  uint32 `json:"abi_target"`
	ABIVersion uint32 `json:"abi_version"`
	Entry      uint64 `json:"entry"`
	Segments   []struct {
		Vaddr uint64 `json:"vaddr"`
		Memsz uint64 `json:"memsz"`
		Flags string `json:"flags"`
	} `json:"segments"`
	Devices []struct {
		Index int    `json:"index"`
		Name  string `json:"name"`
		Type  string `json:"type"`
	} `json:"devices"`
}

func TestInspect(t *testing.T) {
	img := kvmtest.GuestImage(t, "blk")
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		app := newApp()
		var stdout, stderr bytes.Buffer
		app.Writer, app.ErrWriter = &stdout, &stderr
		if err := app.Run(append([]string{"uaaf", "inspect"}, args...)); err != nil {
			t.Fatalf("inspect: %v", err)
		}
		return stdout.String()
	}
	t.Run("text", func(t *testing.T) {
		out := run(t, img)
		for _, w := range []string{
			"image:", img,
			fmt.Sprintf("solo5 target 1 (hvt), version %d", hvt.ABIVersion),
			"entry:", "0x0000100000", "r-x",
			"devices (manifest):", "BLOCK_BASIC  storage",
		} {
			if !strings.Contains(out, w) {
				t.Errorf("output lacks %q:\n%s", w, out)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		out := run(t, "--json", img)
		var r inspectJSON
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if r.Path != img || r.ABITarget != 1 || r.ABIVersion != hvt.ABIVersion {
			t.Errorf("path/abi = %q %d %d", r.Path, r.ABITarget, r.ABIVersion)
		}
		if len(r.Devices) != 1 || r.Devices[0].Index != 1 || r.Devices[0].Name != "storage" || r.Devices[0].Type != "BLOCK_BASIC" {
			t.Errorf("devices = %+v, want [{1 storage BLOCK_BASIC}]", r.Devices)
		}
		found := false
		for _, s := range r.Segments {
			if s.Vaddr == 0x100000 {
				found = true
				if !strings.HasSuffix(s.Flags, "x") || s.Memsz == 0 {
					t.Errorf("segment at 0x100000: %+v, want executable and non-empty", s)
				}
			}
		}
		if !found {
			t.Errorf("no segment at 0x100000: %+v", r.Segments)
		}
		if r.Entry < 0x100000 {
			t.Errorf("entry %#x below the load address", r.Entry)
		}
	})
}

func TestProbe(t *testing.T) {
	kvmtest.Require(t)
	t.Run("json", func(t *testing.T) {
		app := newApp()
		var stdout bytes.Buffer
		app.Writer, app.ErrWriter = &stdout, io.Discard
		if err := app.Run([]string{"uaaf", "probe", "--json"}); err != nil {
			t.Fatalf("probe: %v", err)
		}
		var r struct {
			KVMDevice    string         `json:"kvm_device"`
			KVMError     *string        `json:"kvm_error"`
			APIVersion   int            `json:"api_version"`
			Backend      string         `json:"backend"`
			CPUFlags     []string       `json:"cpu_flags"`
			Capabilities map[string]int `json:"capabilities"`
			VMFUNC       *bool          `json:"vmfunc"`
			VMFUNCReason string         `json:"vmfunc_reason"`
			Switch       string         `json:"switch"`
		}
		if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, stdout.String())
		}
		if r.KVMDevice != "/dev/kvm" || r.KVMError != nil || r.APIVersion != 12 {
			t.Errorf("kvm_device %q kvm_error %v api_version %d", r.KVMDevice, r.KVMError, r.APIVersion)
		}
		if r.Capabilities["KVM_CAP_USER_MEMORY"] != 1 || r.Capabilities["KVM_CAP_GET_TSC_KHZ"] != 1 {
			t.Errorf("capabilities %v lack USER_MEMORY/GET_TSC_KHZ", r.Capabilities)
		}
		if r.Backend == "" || r.VMFUNC == nil {
			t.Fatalf("backend %q vmfunc %v: fields missing", r.Backend, r.VMFUNC)
		}
		switch {
		case *r.VMFUNC && r.Switch != "vmfunc":
			t.Errorf("vmfunc true but switch %q", r.Switch)
		case !*r.VMFUNC && (r.Switch != "exit" || r.VMFUNCReason == ""):
			t.Errorf("vmfunc false: switch %q reason %q, want exit and a reason", r.Switch, r.VMFUNCReason)
		}
		// Hosts without VMX can never offer VMFUNC.
		if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
			if r.Backend != "pvm" || *r.VMFUNC {
				t.Errorf("kvm_pvm loaded: backend %q vmfunc %v, want pvm and false", r.Backend, *r.VMFUNC)
			}
		}
	})
	t.Run("text", func(t *testing.T) {
		app := newApp()
		var stdout bytes.Buffer
		app.Writer, app.ErrWriter = &stdout, io.Discard
		if err := app.Run([]string{"uaaf", "probe"}); err != nil {
			t.Fatalf("probe: %v", err)
		}
		for _, w := range []string{"kvm device:  /dev/kvm (API 12)", "kvm backend:", "vmfunc:", "switch:"} {
			if !strings.Contains(stdout.String(), w) {
				t.Errorf("output lacks %q:\n%s", w, stdout.String())
			}
		}
	})
	t.Run("missing device", func(t *testing.T) {
		app := newApp()
		var stdout bytes.Buffer
		app.Writer, app.ErrWriter = &stdout, io.Discard
		err := app.Run([]string{"uaaf", "probe", "--kvm-device=/nonexistent/kvm"})
		if err == nil || !strings.Contains(err.Error(), "KVM unavailable") {
			t.Errorf("err = %v, want KVM unavailable", err)
		}
	})
}

// TestExitCodes runs the built binary and checks the process exit status and
// what it printed.
func TestExitCodes(t *testing.T) {
	tests := []struct {
		name      string
		args      func(t *testing.T) []string
		kvm       bool
		code      int
		stdout    []string // substrings
		notStdout []string
		stderr    string // if set: stderr must be exactly this one line
		errSub    string // if set: stderr must be one line containing this
	}{
		{name: "no kernel", args: func(*testing.T) []string { return []string{"run"} }, code: 1, errSub: "Missing KERNEL operand"},
		{name: "unknown option", args: func(*testing.T) []string { return []string{"run", "--frobnicate=1", "x.hvt"} }, code: 1, errSub: "Invalid option"},
		{name: "missing file", args: func(*testing.T) []string { return []string{"run", "/nonexistent/uaaf-test.hvt"} }, code: 1, errSub: "Could not open"},
		{name: "not ELF", args: func(t *testing.T) []string { return []string{"run", notELF(t)} }, code: 1, errSub: "invalid or unsupported executable"},
		{name: "inspect bad file", args: func(t *testing.T) []string { return []string{"inspect", notELF(t)} }, code: 1, errSub: "invalid or unsupported executable"},
		{name: "version", args: func(*testing.T) []string { return []string{"--version"} }, stdout: []string{"uaaf ", " (hvt ABI version 2)\n"}},
		{name: "help of a uaaf-ctl subcommand", args: func(*testing.T) []string { return []string{"help", "bench", "call"} },
			stdout: []string{"NAME:\n   uaaf bench call - ", "--guest-dir DIR"}},
		{name: "help of a uaaf-ctl command", args: func(*testing.T) []string { return []string{"help", "serve"} },
			stdout: []string{"NAME:\n   uaaf serve - ", "The --config file is JSON"}},
		{name: "a uaaf-ctl group without a subcommand", args: func(*testing.T) []string { return []string{"bench"} },
			code: 1, stderr: "uaaf: bench: want a subcommand: fig10, startup, scale, memory, throughput, call, ab (see uaaf bench --help)"},
		{name: "exitcode 42", kvm: true, args: func(t *testing.T) []string {
			return []string{"run", "--mem=32", kvmtest.GuestImage(t, "exitcode"), "42"}
		}, code: 42, stdout: []string{"exiting with 42"}},
		{name: "hello", kvm: true, args: func(t *testing.T) []string {
			return []string{"run", "--mem=32", kvmtest.GuestImage(t, "hello"), "Hello_Solo5"}
		}, code: 0, stdout: []string{"Hello, World", "SUCCESS"}},
		{name: "hello wrong args", kvm: true, args: func(t *testing.T) []string {
			return []string{"run", "--mem=32", "--", kvmtest.GuestImage(t, "hello"), "Bye"}
		}, code: 1, notStdout: []string{"SUCCESS"}},
		{name: "exception", kvm: true, args: func(t *testing.T) []string {
			return []string{"run", "--mem=32", kvmtest.GuestImage(t, "exception")}
		}, code: 255, stdout: []string{"ABORT"}, notStdout: []string{"SUCCESS"}},
		{name: "badport", kvm: true, args: func(t *testing.T) []string {
			return []string{"run", "--mem=32", kvmtest.GuestImage(t, "badport")}
		}, code: 1, stderr: "uaaf: Invalid guest port access: port=0x5ff", notStdout: []string{"SUCCESS"}},
		{name: "undeclared device", kvm: true, args: func(t *testing.T) []string {
			return []string{"run", "--mem=32", "--block:nope=/dev/null", kvmtest.GuestImage(t, "hello")}
		}, code: 1, errSub: "Resource not declared in manifest: 'nope'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.kvm {
				kvmtest.Require(t)
			}
			r := runUAAF(t, tt.args(t)...)
			if r.code != tt.code {
				t.Errorf("exit code %d, want %d\nstdout %q\nstderr %q", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, w := range tt.stdout {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q: %q", w, r.stdout)
				}
			}
			for _, w := range tt.notStdout {
				if strings.Contains(r.stdout, w) {
					t.Errorf("stdout has %q: %q", w, r.stdout)
				}
			}
			errLines := lines(r.stderr)
			switch {
			case tt.stderr != "":
				if len(errLines) != 1 || errLines[0] != tt.stderr {
					t.Errorf("stderr %q, want exactly %q", r.stderr, tt.stderr+"\n")
				}
			case tt.errSub != "":
				if len(errLines) != 1 || !strings.HasPrefix(errLines[0], "uaaf: ") || !strings.Contains(errLines[0], tt.errSub) {
					t.Errorf("stderr %q, want one line \"uaaf: …%s…\"", r.stderr, tt.errSub)
				}
			case tt.code == 0 || tt.code == 255 || tt.code == 42:
				if r.stderr != "" {
					t.Errorf("stderr not empty: %q", r.stderr)
				}
			}
		})
	}
}

func TestDumpCore(t *testing.T) {
	kvmtest.Require(t)
	dir := t.TempDir()
	r := runUAAF(t, "run", "--mem=32", "--dumpcore="+dir, kvmtest.GuestImage(t, "exception"))
	if r.code != 255 || !strings.Contains(r.stdout, "ABORT") {
		t.Fatalf("exit code %d stdout %q stderr %q, want 255 and ABORT", r.code, r.stdout, r.stderr)
	}
	core := filepath.Join(dir, fmt.Sprintf("core.solo5-hvt.%d", r.pid))
	if !strings.Contains(r.stderr, "dumping guest core to: "+core) {
		t.Errorf("stderr %q does not name %s", r.stderr, core)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != filepath.Base(core) {
		t.Fatalf("dumpcore dir holds %v, want only %s", entries, filepath.Base(core))
	}
	f, err := elf.Open(core)
	if err != nil {
		t.Fatalf("core is not ELF: %v", err)
	}
	defer f.Close()
	if f.Type != elf.ET_CORE || f.Machine != elf.EM_X86_64 {
		t.Errorf("core type %v machine %v", f.Type, f.Machine)
	}
}

// TestSignal ends a guest blocked in poll with SIGTERM: uaaf must exit 1 with
// one line naming the signal. A pipe's read end stands in for the tap fd: it
// is pollable and never readable, so the net guest waits forever.
func TestSignal(t *testing.T) {
	kvmtest.Require(t)
	img := kvmtest.GuestImage(t, "net")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	cmd := exec.Command(binary(t), "run", "--mem=32", "--net:service0=@3", "--", img)
	cmd.ExtraFiles = []*os.File{pr} // fd 3 in the child
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	serving := make(chan bool, 1)
	var out bytes.Buffer
	go func() {
		sc := bufio.NewScanner(stdout)
		seen := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if !seen && strings.HasPrefix(sc.Text(), "net: serving") {
				seen = true
				serving <- true
			}
		}
		if !seen {
			serving <- false
		}
		done <- cmd.Wait()
	}()
	select {
	case ok := <-serving:
		if !ok {
			<-done
			t.Fatalf("guest ended before serving: stdout %q stderr %q", out.String(), stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("guest did not start serving within 30 s")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("uaaf did not exit within 30 s of SIGTERM")
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("Wait = %v, want exit status 1", err)
	}
	if ls := lines(stderr.String()); len(ls) != 1 || ls[0] != "uaaf: Exiting on signal 15" {
		t.Errorf("stderr %q, want exactly \"uaaf: Exiting on signal 15\"", stderr.String())
	}
}
