package seccomp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/seccomp/internal/childtest"
)

// forbidden are calls outside Runner, each made by a child after
// installing Runner in Kill mode.
var forbidden = map[string]func() error{
	"socket": func() error {
		_, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
		return err
	},
	"terminal-ioctl": func() error {
		_, err := unix.IoctlGetTermios(1, unix.TCGETS)
		return err
	},
	// The call go-seccomp-bpf's own assembler lets through (see
	// Profile.program): the kernel would run ioctl(-1, KVM_RUN).
	"ioctl-high-bits": func() error {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, ^uintptr(0), 1<<32|kvmRun, 0)
		return e
	},
	"boottime-clock": func() error {
		var ts unix.Timespec
		return unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts)
	},
	"kill-other-process": func() error { return unix.Kill(1, 0) },
	"exec":               func() error { return exec.Command("/bin/true").Run() },
	"open": func() error {
		f, err := os.OpenFile("/proc/self/status", os.O_RDWR, 0)
		if err == nil {
			f.Close()
		}
		return err
	},
	"executable-mapping": func() error {
		b, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err == nil {
			unix.Munmap(b)
		}
		return err
	},
}

func init() {
	for name, call := range forbidden {
		childtest.Register("forbidden/"+name, func() error {
			if err := installed(Kill, Runner); err != nil {
				return err
			}
			err := call()
			return fmt.Errorf("seccomp-test: survived %s (err %v)", name, err)
		})
	}
	childtest.Register("allowed", allowedScenario)
	childtest.Register("status", statusScenario)
	childtest.Register("log", logScenario)
}

// TestKillsForbiddenCalls: a child that makes one call outside Runner after
// Install(Kill, Runner) dies of SIGSYS, right at that call.
func TestKillsForbiddenCalls(t *testing.T) {
	for name := range forbidden {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := childtest.Run(t, "forbidden/"+name)
			if !strings.Contains(r.Stderr, "seccomp-test: installed") {
				t.Fatalf("filter not installed: %v", r)
			}
			if r.Signal != unix.SIGSYS || strings.Contains(r.Stderr, "survived") {
				t.Fatalf("want death by SIGSYS: %v", r)
			}
		})
	}
}

// allowedScenario installs Runner in Kill mode and then makes the Go
// runtime do what it does while guests run: start and end threads, grow
// and scavenge the heap, collect garbage, arm timers, preempt, read the
// clock by syscall. It must survive.
func allowedScenario() error {
	if err := installed(Kill, Runner); err != nil {
		return err
	}
	var wg sync.WaitGroup
	sink := make([][]byte, 8)
	for i := range sink {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The thread ends with the goroutine (exit); the runtime
			// starts others (clone).
			runtime.LockOSThread()
			var b [][]byte
			for range 16 {
				b = append(b, make([]byte, 1<<20))
			}
			sink[i] = b[len(b)-1]
		}()
	}
	wg.Wait()
	runtime.GC()
	debug.FreeOSMemory()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	<-ctx.Done()
	cancel()
	// Two goroutines spinning on the CPUs for a while: sysmon preempts them
	// (SIGURG through tgkill).
	stop := time.Now().Add(100 * time.Millisecond)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
			}
		}()
	}
	wg.Wait()
	for _, id := range []int{unix.CLOCK_MONOTONIC, unix.CLOCK_REALTIME} {
		var ts unix.Timespec
		if err := unix.ClockGettime(int32(id), &ts); err != nil {
			return fmt.Errorf("clock_gettime(%d): %w", id, err)
		}
	}
	if st, err := Self(); err != nil || st != StateFilter {
		return fmt.Errorf("Self = %d, %v; want %d", st, err, StateFilter)
	}
	if mode, name := Installed(); mode != Kill || name != Runner.Name {
		return fmt.Errorf("Installed = %s, %s", mode, name)
	}
	if err := Install(Kill, Runner); !errors.Is(err, ErrInstalled) {
		return fmt.Errorf("second Install: %v, want ErrInstalled", err)
	}
	fmt.Println("done")
	return nil
}

// TestAllowedCallsSurvive: a child doing only what Runner allows lives.
func TestAllowedCallsSurvive(t *testing.T) {
	r := childtest.Run(t, "allowed")
	if r.Code != 0 || !strings.Contains(r.Stdout, "done") {
		t.Fatalf("child: %v", r)
	}
}

// statusScenario installs Runner, says "ready" and waits for stdin to close.
func statusScenario() error {
	if err := installed(Kill, Runner); err != nil {
		return err
	}
	fmt.Println("ready")
	_, err := io.Copy(io.Discard, os.Stdin)
	return err
}

// TestStatusOfFilteredChild: /proc/PID/status of a filtered process says
// Seccomp: 2 for it and every one of its threads.
func TestStatusOfFilteredChild(t *testing.T) {
	c := childtest.Start(t, "status", nil)
	var got []int
	var statusErr error
	r := c.Wait(t, func(line string) {
		if line != "ready" {
			return
		}
		pid := c.Cmd.Process.Pid
		st, err := Status(pid)
		got, statusErr = append(got, st), err
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if err != nil {
			statusErr = err
		}
		for _, task := range tasks {
			tid, _ := strconv.Atoi(task.Name())
			st, err := Status(tid)
			if err != nil {
				statusErr = err
			}
			got = append(got, st)
		}
		c.Stdin.Close()
	})
	if r.Code != 0 {
		t.Fatalf("child: %v", r)
	}
	if statusErr != nil {
		t.Fatal(statusErr)
	}
	if len(got) < 2 {
		t.Fatalf("child never got ready: %v", r)
	}
	for i, st := range got {
		if st != StateFilter {
			t.Errorf("Seccomp: %d (entry %d of %v), want %d", st, i, got, StateFilter)
		}
	}
}

// logScenario installs Runner in Log mode and makes a forbidden call.
func logScenario() error {
	if err := installed(Log, Runner); err != nil {
		return err
	}
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err != nil {
		return fmt.Errorf("socket under Log: %w", err)
	}
	unix.Close(s)
	if st, err := Self(); err != nil || st != StateFilter {
		return fmt.Errorf("Self = %d, %v; want %d", st, err, StateFilter)
	}
	fmt.Println("socket allowed")
	return nil
}

// TestLogModeDoesNotKill: in Log mode a forbidden call goes through (the
// kernel logs it).
func TestLogModeDoesNotKill(t *testing.T) {
	r := childtest.Run(t, "log")
	if r.Code != 0 || !strings.Contains(r.Stdout, "socket allowed") {
		t.Fatalf("child: %v", r)
	}
}

// TestOffInstallsNothing runs in the test process itself: Off is a no-op.
func TestOffInstallsNothing(t *testing.T) {
	before, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if err := Install(Off, Runner); err != nil {
		t.Fatal(err)
	}
	if after, _ := Self(); after != before {
		t.Fatalf("Self went from %d to %d", before, after)
	}
	if mode, name := Installed(); mode != Off || name != "" {
		t.Fatalf("Installed = %s, %q", mode, name)
	}
}
