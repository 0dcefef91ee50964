// Package kvmtest holds helpers for tests that need KVM or guest images.
//
// A KVM test calls Require first. Where /dev/kvm cannot be used the test is
// skipped — unless UAAF_REQUIRE_KVM=1 is set in the environment (CI sets it),
// in which case it fails, so that a broken KVM path can never pass silently.
package kvmtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvm"
)

// RequireEnv is the environment variable that turns skips into failures.
const RequireEnv = "UAAF_REQUIRE_KVM"

// Required reports whether UAAF_REQUIRE_KVM=1 is set.
func Required() bool { return os.Getenv(RequireEnv) == "1" }

// Require skips (or, under UAAF_REQUIRE_KVM=1, fails) t unless the KVM device
// at kvm.DefaultPath can be opened and speaks API version 12.
func Require(t testing.TB) {
	t.Helper()
	if err := kvm.Available(kvm.DefaultPath); err != nil {
		Unavailable(t, "KVM unavailable: %v", err)
	}
}

// RequireVMFUNCEnv is the environment variable that turns a missing
// vmfunc backend from a skip into a failure, on hosts meant to have it
// (Intel VT-x with the uaaf module loaded). CI here does not set it: its
// machines cannot run VMFUNC.
const RequireVMFUNCEnv = "UAAF_REQUIRE_VMFUNC"

// RequireVMFUNC skips t when probeErr (switcher.Probe's verdict) says the
// vmfunc backend cannot run here — or fails it under UAAF_REQUIRE_VMFUNC=1.
func RequireVMFUNC(t testing.TB, probeErr error) {
	t.Helper()
	if probeErr == nil {
		return
	}
	if os.Getenv(RequireVMFUNCEnv) == "1" {
		t.Fatalf("vmfunc backend unavailable but %s=1: %v", RequireVMFUNCEnv, probeErr)
	}
	t.Skipf("vmfunc backend unavailable on this host: %v", probeErr)
}

// RepoRoot returns the repository's top directory (where go.mod is).
func RepoRoot(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("kvmtest: cannot locate source file")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("kvmtest: go.mod not found above " + file)
		}
		dir = parent
	}
}

// GuestImage returns the path of guest/build/NAME.hvt, built by `make guest`.
// A missing image skips t (fails under UAAF_REQUIRE_KVM=1).
func GuestImage(t testing.TB, name string) string {
	t.Helper()
	return builtImage(t, "guest", name)
}

// LibraryImage returns the path of libfuncs/build/NAME.hvt, built by `make
// guest`. A missing image skips t (fails under UAAF_REQUIRE_KVM=1).
func LibraryImage(t testing.TB, name string) string {
	t.Helper()
	return builtImage(t, "libfuncs", name)
}

func builtImage(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), dir, "build", name+".hvt")
	if _, err := os.Stat(p); err != nil {
		Unavailable(t, "image %s missing: run `make guest` (%v)", p, err)
	}
	return p
}

// Unavailable skips t with the message, or fails it under
// UAAF_REQUIRE_KVM=1: for a test whose host support (KVM, an image, a
// network namespace, a tap) is missing.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf(format+" ("+RequireEnv+"=1)", args...)
	}
	t.Skipf(format, args...)
}

var netnsSeq atomic.Int32

// TapNetns creates a network namespace for t with lo up and a tap device
// tap (up, with address hostCIDR) in it, deleted again by t.Cleanup, and
// returns its name. Without iproute2's ip, or the right to make namespaces
// and taps, t is skipped (failed under UAAF_REQUIRE_KVM=1).
func TapNetns(t *testing.T, tap, hostCIDR string) string {
	t.Helper()
	ip, err := exec.LookPath("ip")
	if err != nil {
		Unavailable(t, "iproute2 `ip` not found: %v", err)
	}
	ns := fmt.Sprintf("uaaf-test-%d-%d", os.Getpid(), netnsSeq.Add(1))
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		Unavailable(t, "cannot create network namespace: %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command(ip, "netns", "delete", ns).CombinedOutput(); err != nil {
			t.Errorf("ip netns delete %s: %v: %s", ns, err, out)
		}
	})
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"tuntap", "add", "dev", tap, "mode", "tap"},
		{"link", "set", tap, "up"},
		{"addr", "add", hostCIDR, "dev", tap},
	} {
		if out, err := exec.Command(ip, append([]string{"-n", ns}, args...)...).CombinedOutput(); err != nil {
			Unavailable(t, "ip -n %s %s: %v: %s", ns, strings.Join(args, " "), err, bytes.TrimSpace(out))
		}
	}
	return ns
}

// BuildUAAF builds the uaaf command and uaaf-ctl (which uaaf runs for the
// daemon, client and benchmark commands) into dir the way `make build` does
// (static, without urfave/cli's man-page code) and returns uaaf's path, for
// tests that need a real uaaf process.
func BuildUAAF(dir string) (string, error) { return buildUAAF(dir, "CGO_ENABLED=0") }

// BuildUAAFCgo builds them as a plain `go build` or `go install` does
// where a C compiler is found: with cgo, so that C library threads may
// appear (what the seccomp allowlists must then admit).
func BuildUAAFCgo(dir string) (string, error) { return buildUAAF(dir, "CGO_ENABLED=1") }

func buildUAAF(dir, cgo string) (string, error) {
	gocmd, err := exec.LookPath("go") // go test puts its own go first on PATH
	if err != nil {
		return "", fmt.Errorf("go command not found: %w", err)
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	for _, name := range []string{"uaaf", "uaaf-ctl"} {
		cmd := exec.Command(gocmd, "build", "-trimpath", "-tags", "urfave_cli_no_docs", "-o", filepath.Join(dir, name), "./cmd/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), cgo)
		if b, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build ./cmd/%s (%s): %v\n%s", name, cgo, err, b)
		}
	}
	return filepath.Join(dir, "uaaf"), nil
}

// KVMFDs returns how many of this process's file descriptors refer to KVM
// (/dev/kvm, VM and vCPU fds), for tests that check nothing is leaked.
func KVMFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("kvmtest: %v", err)
	}
	n := 0
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		if err == nil && strings.Contains(target, "kvm") {
			n++
		}
	}
	return n
}

// HostPerms returns the permissions ("rw-", "r--" …, without the sharing
// letter) of this process's mapping that holds addr, or "" if none does:
// how a test sees whether guest memory is protected on the host.
func HostPerms(t testing.TB, addr uint64) string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		var lo, hi uint64
		var perms string
		if _, err := fmt.Sscanf(line, "%x-%x %s", &lo, &hi, &perms); err == nil && lo <= addr && addr < hi && len(perms) >= 3 {
			return perms[:3]
		}
	}
	return ""
}
