package seccomp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/seccomp/internal/childtest"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/libfuncs/libvm"
	"github.com/uaaf/uaaf/session"
)

// These tests run real guests in a child that installs the filter (Kill
// mode) after monitor.New or session.New and before Run, where `uaaf run`
// installs it. The guest's console is the child's stdout; the child reports
// on stderr.

// Environment of the guest and session scenarios.
const (
	envKernel      = "UAAF_SECCOMP_TEST_KERNEL"
	envArgs        = "UAAF_SECCOMP_TEST_ARGS" // guest command line, words separated by spaces
	envBlock       = "UAAF_SECCOMP_TEST_BLOCK"
	envNet         = "UAAF_SECCOMP_TEST_NET" // tap interface for device service0
	envDumpCore    = "UAAF_SECCOMP_TEST_DUMPCORE"
	envTimeout     = "UAAF_SECCOMP_TEST_TIMEOUT" // Run's context timeout
	envLibs        = "UAAF_SECCOMP_TEST_LIBS"    // NAME=PATH,... preloaded and pinned
	envLibPath     = "UAAF_SECCOMP_TEST_LIBPATH" // where other imports are found
	envCallTimeout = "UAAF_SECCOMP_TEST_CALL_TIMEOUT"
	envHook        = "UAAF_SECCOMP_TEST_HOOK" // install from monitor.Hooks.BeforeRun instead of before Run
)

func init() {
	childtest.Register("guest", guestScenario)
	childtest.Register("session", sessionScenario)
}

// runContext is Run's context: with envTimeout's deadline if set.
func runContext() (context.Context, context.CancelFunc, error) {
	if s := os.Getenv(envTimeout); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			return nil, nil, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		return ctx, cancel, nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	return ctx, cancel, nil
}

// report tells the parent how Run ended.
func report(status int, err error) {
	fmt.Fprintf(os.Stderr, "seccomp-test: status %d stopped %t err %v\n", status, errors.Is(err, vcpu.ErrStopped), err)
}

// guestScenario runs one plain hvt guest the way `uaaf run` does (the sole
// guest of the process), with Runner (RunnerDumpCore with --dumpcore).
func guestScenario() error {
	cfg := monitor.Config{
		Kernel:    os.Getenv(envKernel),
		MemSize:   32 << 20,
		Args:      strings.Fields(os.Getenv(envArgs)),
		Console:   os.Stdout,
		Log:       os.Stderr,
		SoleGuest: true,
	}
	if p := os.Getenv(envBlock); p != "" {
		cfg.Blocks = []monitor.BlockSpec{{Name: "storage", Path: p}}
	}
	if iface := os.Getenv(envNet); iface != "" {
		cfg.Nets = []monitor.NetSpec{{Name: "service0", Iface: iface}}
	}
	profile := Runner
	if dir := os.Getenv(envDumpCore); dir != "" {
		cfg.DumpCoreDir, profile = dir, RunnerDumpCore
	}
	ctx, cancel, err := runContext()
	if err != nil {
		return err
	}
	defer cancel()
	hook := os.Getenv(envHook) != ""
	if hook {
		cfg.Hooks.BeforeRun = func(*monitor.Monitor) error { return installed(Kill, profile) }
	}
	m, err := monitor.New(cfg)
	if err != nil {
		return err
	}
	if !hook {
		if err := installed(Kill, profile); err != nil {
			return err
		}
	}
	status, err := m.Run(ctx)
	report(status, err)
	return m.Close()
}

// sessionScenario runs a session with preloaded libraries; instances start
// lazily, under the filter, at each library's first call.
func sessionScenario() error {
	var paths []string
	if p := os.Getenv(envLibPath); p != "" {
		paths = []string{p}
	}
	// Instances start under the filter, which has no openat: their VMs
	// come from a KVM device opened now (libvm's runtime would open its
	// own at the first instance).
	sys, err := kvm.Open(kvm.DefaultPath)
	if err != nil {
		return err
	}
	defer sys.Close()
	cpuid, err := sys.SupportedCPUID()
	if err != nil {
		return err
	}
	reg := libvm.NewRegistry(libvm.Config{
		Console:  os.Stdout,
		Machines: func() (*kvm.Machine, error) { return sys.NewMachine(cpuid) },
	}, libfuncs.Config[*libvm.Library]{Paths: paths})
	defer reg.Close()
	for _, l := range strings.Split(os.Getenv(envLibs), ",") {
		name, path, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		if _, err := reg.Preload(name, path, true); err != nil {
			return err
		}
	}
	var timeout time.Duration
	if s := os.Getenv(envCallTimeout); s != "" {
		if timeout, err = time.ParseDuration(s); err != nil {
			return err
		}
	}
	ctx, cancel, err := runContext()
	if err != nil {
		return err
	}
	defer cancel()
	s, err := session.New(session.Config{
		Monitor: monitor.Config{
			Kernel:  os.Getenv(envKernel),
			MemSize: 32 << 20,
			Args:    strings.Fields(os.Getenv(envArgs)),
			Console: os.Stdout,
			Log:     os.Stderr,
		},
		Registry:    reg,
		Table:       session.NewTable(),
		CallTimeout: timeout,
	})
	if err != nil {
		return err
	}
	if err := installed(Kill, Runner); err != nil {
		return err
	}
	status, err := s.Run(ctx)
	report(status, err)
	return s.Close()
}

// guestRun is what a guest child reported.
type guestRun struct {
	childtest.Result
	status  int
	stopped bool
}

// runGuestChild runs scenario with env; onLine sees the console lines.
func runGuestChild(t *testing.T, scenario string, wrap []string, onLine func(c *childtest.Child, line string), env ...string) guestRun {
	t.Helper()
	c := childtest.Start(t, scenario, wrap, env...)
	var f func(string)
	if onLine != nil {
		f = func(line string) { onLine(c, line) }
	}
	g := guestRun{Result: c.Wait(t, f)}
	if !strings.Contains(g.Stderr, "seccomp-test: installed") {
		t.Fatalf("filter not installed: %v", g.Result)
	}
	if g.Code != 0 {
		t.Fatalf("child failed: %v", g.Result)
	}
	i := strings.Index(g.Stderr, "seccomp-test: status ")
	if i < 0 {
		t.Fatalf("Run did not return: %v", g.Result)
	}
	var st, stopped string
	fmt.Sscan(g.Stderr[i+len("seccomp-test: status "):], &st, new(string), &stopped)
	g.status, _ = strconv.Atoi(st)
	g.stopped = stopped == "true"
	return g
}

// TestGuestsUnderFilter runs guests that make every part of the monitor
// do its job — console, block device, dumpcore, Stop from another
// goroutine, sessions with lazily started library instances, calls that
// fault or time out — in Kill mode: any call outside the profile would
// kill the child.
func TestGuestsUnderFilter(t *testing.T) {
	kvmtest.Require(t)
	lib := func(name string) string { return name + "=" + kvmtest.LibraryImage(t, name) }
	tests := []struct {
		name     string
		scenario string
		image    string
		env      func(t *testing.T) []string
		status   int
		stopped  bool
		contains []string
		check    func(t *testing.T, g guestRun)
	}{
		{name: "hello", scenario: "guest", image: "hello",
			env:    func(*testing.T) []string { return []string{envArgs + "=Hello_Solo5"} },
			status: 0, contains: []string{"Hello, World", "Hello_Solo5", "SUCCESS"}},
		// Installed from the BeforeRun hook, on the vCPU thread just
		// before the first guest instruction.
		{name: "hello-hook", scenario: "guest", image: "hello",
			env:    func(*testing.T) []string { return []string{envArgs + "=Hello_Solo5", envHook + "=1"} },
			status: 0, contains: []string{"Hello, World", "SUCCESS"}},
		{name: "block", scenario: "guest", image: "blk",
			env: func(t *testing.T) []string {
				p := filepath.Join(t.TempDir(), "disk.img")
				if err := os.WriteFile(p, make([]byte, 4<<20), 0o600); err != nil {
					t.Fatal(err)
				}
				return []string{envBlock + "=" + p}
			},
			status: 0, contains: []string{"SUCCESS"}},
		{name: "dumpcore", scenario: "guest", image: "exception",
			env: func(t *testing.T) []string {
				return []string{envDumpCore + "=" + t.TempDir()}
			},
			status: 255, contains: []string{"ABORT"},
			check: func(t *testing.T, g guestRun) {
				if !strings.Contains(g.Stderr, "dumpcore: dumped") {
					t.Errorf("no core dumped: %v", g.Result)
				}
			}},
		// Stopped from a context timer after 1.5 s: the Stop path (tgkill,
		// the waker's eventfd) and the runtime's own timers and preemption.
		{name: "stop", scenario: "guest", image: "spin",
			env:    func(*testing.T) []string { return []string{envTimeout + "=1500ms"} },
			status: 0, stopped: true, contains: []string{"spin: spinning"}},
		{name: "session", scenario: "session", image: "demo",
			env: func(t *testing.T) []string {
				return []string{envLibs + "=" + strings.Join([]string{lib("base64"), lib("sha256"), lib("crc32"), lib("sort")}, ",")}
			},
			status: 0, contains: []string{"SUCCESS"}},
		// A library that aborts, one that hangs past the call deadline
		// (both instances discarded, testfns started again), then ordinary
		// calls.
		{name: "call-faults", scenario: "session", image: "calltest",
			env: func(t *testing.T) []string {
				return []string{
					envLibPath + "=" + filepath.Dir(kvmtest.LibraryImage(t, "testfns")),
					envCallTimeout + "=300ms",
					envArgs + "=testfns.crash testfns.hang testfns.wtext testfns.nop crc32.crc32:616263",
				}
			},
			status: 0, contains: []string{
				"RESULT testfns.crash -4 -", "RESULT testfns.hang -5 -", "RESULT testfns.wtext -4 -",
				"RESULT testfns.nop 0", "RESULT crc32.crc32 4 c2412435", "DONE",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := append(tt.env(t), envKernel+"="+kvmtest.GuestImage(t, tt.image))
			g := runGuestChild(t, tt.scenario, nil, nil, env...)
			if g.status != tt.status || g.stopped != tt.stopped {
				t.Errorf("status %d stopped %t, want %d %t: %v", g.status, g.stopped, tt.status, tt.stopped, g.Result)
			}
			for _, s := range tt.contains {
				if !strings.Contains(g.Stdout, s) {
					t.Errorf("console lacks %q: %v", s, g.Result)
				}
			}
			if tt.check != nil {
				tt.check(t, g)
			}
		})
	}
}

// TestRunningGuestStatus: /proc/PID/status of a process running a guest
// under the filter says Seccomp: 2 (the definition of done).
func TestRunningGuestStatus(t *testing.T) {
	kvmtest.Require(t)
	st, err := -1, error(nil)
	g := runGuestChild(t, "guest", nil, func(c *childtest.Child, line string) {
		if strings.HasPrefix(line, "spin: spinning") {
			st, err = Status(c.Cmd.Process.Pid)
		}
	}, envKernel+"="+kvmtest.GuestImage(t, "spin"), envTimeout+"=500ms")
	if err != nil {
		t.Fatal(err)
	}
	if st != StateFilter || !g.stopped {
		t.Fatalf("Seccomp: %d while the guest ran, want %d; %v", st, StateFilter, g.Result)
	}
}

// TestNetUnderFilter: the net guest answers pings through the monitor's tap
// device (NET_READ, NET_WRITE, POLL on the tap and the waker) under the
// filter in Kill mode, and exits once it has sent its replies.
func TestNetUnderFilter(t *testing.T) {
	kvmtest.Require(t)
	img := kvmtest.GuestImage(t, "net")
	inNS := childtest.NewTapNetns(t)
	pinger := childtest.Start(t, childtest.Pinger, inNS)
	g := runGuestChild(t, "guest", inNS, nil, envKernel+"="+img, envNet+"="+childtest.Tap,
		envArgs+"="+fmt.Sprint(childtest.Replies), envTimeout+"=30s")
	pinger.Stdin.Close()
	if p := pinger.Wait(t, nil); p.Code != 0 {
		t.Errorf("pinger: %v", p)
	}
	if g.status != 0 || g.stopped {
		t.Fatalf("status %d stopped %t: %v", g.status, g.stopped, g.Result)
	}
	for _, s := range []string{"net: serving", fmt.Sprintf("sent %d echo replies", childtest.Replies), "SUCCESS"} {
		if !strings.Contains(g.Stdout, s) {
			t.Errorf("console lacks %q: %v", s, g.Result)
		}
	}
}
