package libfuncs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

func newReg(t *testing.T, paths ...string) *Registry {
	t.Helper()
	kvmtest.Require(t)
	r, err := NewRegistry(Config{Console: &bytes.Buffer{}, Paths: paths})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// TestAcquireReleaseConcurrent hammers one unpinned library from many
// goroutines (run it with -race): it must end destroyed, every Acquire
// matched by a Release, and the count never negative.
func TestAcquireReleaseConcurrent(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(kvmtest.LibraryImage(t, "testfns"), filepath.Join(dir, "testfns.hvt")); err != nil {
		t.Fatal(err)
	}
	r := newReg(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				lf, err := r.Acquire("testfns")
				if err != nil {
					errs <- err
					return
				}
				if info, ok := r.Lookup("testfns"); !ok || info.Refs < 1 {
					errs <- errors.New("acquired library not registered with refs >= 1")
				}
				if err := r.Release(lf); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if _, ok := r.Lookup("testfns"); ok {
		t.Error("unpinned library still registered after every release")
	}
}

func TestRegistryErrors(t *testing.T) {
	r := newReg(t)
	lf, err := r.Preload("t", kvmtest.LibraryImage(t, "testfns"), false)
	if err != nil {
		t.Fatal(err)
	}
	if len(lf.Exports) == 0 {
		t.Fatal("no exports")
	}
	if err := r.Release(lf); !errors.Is(err, ErrReleased) {
		t.Errorf("release without acquire: %v", err)
	}
	if _, err := r.Preload("t", kvmtest.LibraryImage(t, "crc32"), false); !errors.Is(err, ErrExists) {
		t.Errorf("same name, other image: %v", err)
	}
	if _, err := r.Preload("bad name", kvmtest.LibraryImage(t, "crc32"), false); err == nil {
		t.Error("invalid name accepted")
	}
	hello := kvmtest.GuestImage(t, "hello")
	if _, err := r.Preload("hello", hello, false); !errors.Is(err, ErrNotLibrary) {
		t.Errorf("plain image as library: %v", err)
	}
	if _, err := r.Acquire("nosuchlib"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing library: %v", err)
	}
	if _, err := r.Preload("missing", "/nonexistent.hvt", false); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing file: %v", err)
	}
}
