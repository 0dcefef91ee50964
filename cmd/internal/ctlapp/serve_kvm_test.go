package ctlapp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
)

// procField returns the value of field (e.g. "Seccomp") in a
// /proc/…/status file, or "" if the file or the field is absent.
func procField(path, field string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestServeBinary runs the real `uaaf serve` (built as `make build` builds
// it, default flags, so seccomp in kill mode: the daemon filter on the
// process and the runner filter on each vCPU thread) with a --config file,
// and drives it with sessions of every kind: concurrent invocations sharing
// preloaded libraries, input, a session kept running while the test looks
// at its vCPU thread. A system call the allowlists miss kills the daemon,
// which this test sees as a failed request and a signalled exit.
//
// It runs twice: built as `make build` builds (no cgo), and as a plain
// `go build` builds where a C compiler is found (cgo: uaaf-ctl then links
// runtime/cgo, whose C library threads make calls of their own, which the
// filters must admit; uaaf itself links no C code either way).
func TestServeBinary(t *testing.T) {
	kvmtest.Require(t)
	for _, b := range []struct {
		name  string
		build func(string) (string, error)
	}{{"static", kvmtest.BuildUAAF}, {"cgo", kvmtest.BuildUAAFCgo}} {
		t.Run(b.name, func(t *testing.T) {
			bin, err := b.build(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			serveBinary(t, bin)
		})
	}
}

func serveBinary(t *testing.T, bin string) {
	dir := t.TempDir()
	cfg := map[string]any{
		"libraries": []map[string]any{
			{"name": "sha256", "path": kvmtest.LibraryImage(t, "sha256"), "pin": true},
			{"name": "crc32", "path": kvmtest.LibraryImage(t, "crc32"), "pin": true},
			{"name": "base64", "path": kvmtest.LibraryImage(t, "base64")},
			{"name": "sort", "path": kvmtest.LibraryImage(t, "sort")},
		},
		"images": []map[string]any{
			{"name": "demo", "path": kvmtest.GuestImage(t, "demo"), "mem_mib": 8},
			{"name": "digest", "path": kvmtest.GuestImage(t, "digest"), "mem_mib": 8},
			{"name": "idle", "path": kvmtest.GuestImage(t, "idle"), "mem_mib": 8},
		},
	}
	sock := filepath.Join(dir, "uaaf.sock")
	d := startServe(t, bin, sock, writeConfig(t, dir, cfg), 4)
	stderr := d.stderr
	pid := d.cmd.Process.Pid
	if got := procField(fmt.Sprintf("/proc/%d/status", pid), "Seccomp"); got != "2" {
		t.Errorf("daemon Seccomp: %q, want 2 (filter mode)", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.New(sock)
	defer c.Close()

	// Concurrent invocations share the preloaded libraries.
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Invoke(ctx, api.Invoke{Image: "demo"})
			switch {
			case err != nil:
				errs <- err
			case r.ExitStatus == nil || *r.ExitStatus != 0:
				errs <- fmt.Errorf("demo: state %s, error %q", r.State, r.Error)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("invoke demo: %v\ndaemon stderr:\n%s", err, stderr.String())
		break
	}
	r, err := c.Invoke(ctx, api.Invoke{Image: "digest", Input: []byte("abc")})
	if err != nil || !strings.Contains(r.Output, "sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n") {
		t.Errorf("digest: %+v, %v", r, err)
	}

	// A running session's vCPU thread carries both filters: the
	// process's and its own. The session spins in its guest, so its
	// thread is the one found in KVM_RUN (ioctl, request 0xae80) whenever
	// it is not on a CPU; every thread of the daemon is looked at until
	// that one is seen.
	s, err := c.CreateSession(ctx, api.SessionSpec{Image: kvmtest.GuestImage(t, "spin"), MemMiB: 8, Start: true})
	if err != nil {
		t.Fatalf("create spin: %v\n%s", err, stderr.String())
	}
	filters := -1
	for deadline := time.Now().Add(20 * time.Second); filters < 0 && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
		for _, task := range tasks {
			dir := fmt.Sprintf("/proc/%d/task/%s/", pid, task.Name())
			sc, _ := os.ReadFile(dir + "syscall")
			if f := strings.Fields(string(sc)); len(f) > 2 && f[0] == "16" && f[2] == "0xae80" {
				filters, _ = strconv.Atoi(procField(dir+"status", "Seccomp_filters"))
				break
			}
		}
	}
	if filters != 2 {
		t.Errorf("the vCPU thread of session %d (in KVM_RUN) has %d seccomp filters, want 2 (-1: never seen in KVM_RUN)", s.ID, filters)
	}
	// Its CPU time so far is read from the vCPU thread's clock, by a
	// thread under the daemon's filter.
	var got api.Session
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if got, err = c.Session(ctx, s.ID); err != nil || got.Timings.CPUNs > 0 {
			break
		}
	}
	if err != nil || got.State != api.StateRunning || got.Timings.CPUNs <= 0 {
		t.Errorf("running session: %+v, %v; want its CPU time so far", got, err)
	}
	if _, err := c.KillSession(ctx, s.ID); err != nil {
		t.Errorf("kill %d: %v", s.ID, err)
	}

	// SIGTERM: drained, exit 0.
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		if err != nil {
			t.Errorf("uaaf serve after SIGTERM: %v\nstderr:\n%s", err, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("uaaf serve still running a minute after SIGTERM")
	}
	if s := stderr.String(); strings.Contains(s, "panic") || strings.Contains(s, "level=ERROR") {
		t.Errorf("daemon stderr:\n%s", s)
	}
}

// TestDemoScript runs what `make demo` runs, with freshly built binaries:
// it must succeed and tell its whole story.
func TestDemoScript(t *testing.T) {
	kvmtest.Require(t)
	kvmtest.GuestImage(t, "idle") // the demo needs the built images
	dir := t.TempDir()
	if _, err := kvmtest.BuildUAAF(dir); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(kvmtest.RepoRoot(t), "tools", "demo", "demo.sh"), dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("demo.sh: %v\n%s", err, out)
	}
	for _, want := range []string{
		"uaaf serve: ready on unix:$TMP/uaaf.sock",
		"sha256  0     yes     yes       0",
		"view 4  sort.sort_u32     [42 7 65535 19 0 1000 7 3] -> [0 3 7 7 19 42 1000 65535]",
		"request 8 → sha256: ",
		"base64#1(2, 1) sha256#2(2, 1) crc32#3(2, 1) sort#4(2, 1)",
		"(pool hit)",
		"killed",
		"uaaf serve exited with status 0",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "FAILED") || strings.Contains(string(out), "\033[") {
		t.Errorf("demo output (not a terminal) has a failure or escape codes:\n%s", out)
	}
}
