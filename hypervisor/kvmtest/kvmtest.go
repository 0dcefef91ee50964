// Package kvmtest holds helpers for tests that need KVM or guest images.
//
// A KVM test calls Require first. Where /dev/kvm cannot be used the test is
// skipped — unless UAAF_REQUIRE_KVM=1 is set in the environment (CI sets it),
// in which case it fails, so that a broken KVM path can never pass silently.
package kvmtest

import (
	"os"
	"path/filepath"
	"runtime"
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
		unavailable(t, "KVM unavailable: %v", err)
	}
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
	p := filepath.Join(RepoRoot(t), "guest", "build", name+".hvt")
	if _, err := os.Stat(p); err != nil {
		unavailable(t, "guest image %s missing: run `make guest` (%v)", name, err)
	}
	return p
}

func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if Required() {
		t.Fatalf(format+" ("+RequireEnv+"=1)", args...)
	}
	t.Skipf(format, args...)
}
