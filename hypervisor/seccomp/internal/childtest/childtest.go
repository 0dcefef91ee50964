// Package childtest runs test scenarios in child processes of the test
// binary. A seccomp filter cannot be removed, so a test that installs one
// does it in a child: the test binary re-executed with Env naming a
// scenario, which Main (the package's TestMain) runs instead of the tests.
// A scenario reports on stderr and stdout; the parent reads how it ended.
package childtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// Env names the scenario a child runs.
const Env = "UAAF_SECCOMP_TEST_CHILD"

// Exit codes of a child.
const (
	ExitOK          = 0
	ExitFailed      = 1
	ExitUnsupported = 3 // the scenario returned the unsupported error given to Main
)

// scenarios by name; written by Register at init time only.
var scenarios = map[string]func() error{}

// Register makes fn runnable as scenario name. Call it from init.
func Register(name string, fn func() error) {
	if _, dup := scenarios[name]; dup {
		panic("childtest: scenario " + name + " registered twice")
	}
	scenarios[name] = fn
}

// Main is a TestMain: in a child it runs the scenario named by Env and
// exits (ExitUnsupported when the scenario's error wraps unsupported),
// otherwise it runs the tests.
func Main(m *testing.M, unsupported error) {
	name := os.Getenv(Env)
	if name == "" {
		os.Exit(m.Run())
	}
	// A process killed by a filter dies of SIGSYS, whose default action
	// dumps core: not into the test's directory.
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
	fn, ok := scenarios[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "childtest: no scenario %q\n", name)
		os.Exit(ExitFailed)
	}
	err := fn()
	switch {
	case err != nil && errors.Is(err, unsupported):
		fmt.Fprintln(os.Stderr, err)
		os.Exit(ExitUnsupported)
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(ExitFailed)
	}
	os.Exit(ExitOK)
}

// Child is a started child process. Its stdout is read by Wait; Stdin is a
// pipe the test may write to or close.
type Child struct {
	Cmd    *exec.Cmd
	Stdin  io.WriteCloser
	stdout io.ReadCloser
	stderr bytes.Buffer
}

// Start starts scenario with the extra environment entries env, under the
// argv prefix wrap if given (e.g. `ip netns exec NS`). A child still
// running when t ends is killed.
func Start(t testing.TB, scenario string, wrap []string, env ...string) *Child {
	t.Helper()
	argv := append(append([]string(nil), wrap...), os.Args[0], "-test.run=^$")
	c := &Child{Cmd: exec.Command(argv[0], argv[1:]...)}
	c.Cmd.Env = append(append(os.Environ(), Env+"="+scenario), env...)
	c.Cmd.Stderr = &c.stderr
	var err error
	if c.stdout, err = c.Cmd.StdoutPipe(); err != nil {
		t.Fatal(err)
	}
	if c.Stdin, err = c.Cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := c.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c.Cmd.ProcessState == nil {
			c.Cmd.Process.Kill()
			c.Cmd.Wait()
		}
	})
	return c
}

// Result is how a child ended.
type Result struct {
	Stdout, Stderr string
	Code           int            // exit status; -1 if a signal killed it
	Signal         syscall.Signal // the signal that killed it, if any
}

func (r Result) String() string {
	how := fmt.Sprintf("exit %d", r.Code)
	if r.Code < 0 {
		how = "killed by " + r.Signal.String()
	}
	return fmt.Sprintf("%s; stdout:\n%s\nstderr:\n%s", how, r.Stdout, r.Stderr)
}

// Wait reads the rest of the child's stdout (onLine, if set, sees each line
// as it comes), closes its stdin and waits for its end. A child whose
// scenario was unsupported skips t, or fails it under UAAF_REQUIRE_KVM=1.
func (c *Child) Wait(t testing.TB, onLine func(string)) Result {
	t.Helper()
	var out strings.Builder
	sc := bufio.NewScanner(c.stdout)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if onLine != nil {
			onLine(sc.Text())
		}
	}
	c.Stdin.Close()
	err := c.Cmd.Wait()
	r := Result{Stdout: out.String(), Stderr: c.stderr.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		ws := ee.Sys().(syscall.WaitStatus)
		r.Code = ws.ExitStatus()
		if ws.Signaled() {
			r.Signal = ws.Signal()
		}
	default:
		t.Fatalf("child %v: %v", c.Cmd.Args, err)
	}
	if r.Code == ExitUnsupported {
		msg := "unsupported here: " + strings.TrimSpace(r.Stderr)
		if kvmtest.Required() {
			t.Fatal(msg + " (" + kvmtest.RequireEnv + "=1)")
		}
		t.Skip(msg)
	}
	return r
}

// Run runs scenario to its end.
func Run(t testing.TB, scenario string, env ...string) Result {
	t.Helper()
	return Start(t, scenario, nil, env...).Wait(t, nil)
}
