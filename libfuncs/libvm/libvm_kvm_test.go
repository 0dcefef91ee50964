package libvm

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

func newRuntime(t *testing.T) *Runtime {
	t.Helper()
	kvmtest.Require(t)
	rt := NewRuntime(Config{Console: &bytes.Buffer{}})
	t.Cleanup(func() { rt.Close() })
	return rt
}

func TestLoad(t *testing.T) {
	rt := newRuntime(t)
	l, err := rt.Load("t", kvmtest.LibraryImage(t, "testfns"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(l.ExportNames(), "nop") || l.Resident() == 0 || l.MemSize() != DefaultMemSize {
		t.Errorf("library %s: exports %v, resident %d, mem %d", l.Name, l.ExportNames(), l.Resident(), l.MemSize())
	}
	if i, ok := l.ExportIndex("nop"); !ok || l.Exports[i].Name != "nop" {
		t.Errorf("ExportIndex(nop) = %d, %v", i, ok)
	}
	if _, ok := l.ExportIndex("nosuch"); ok {
		t.Error("ExportIndex found a function the library lacks")
	}
	l.Close()
	if _, err := l.NewInstance(make([]byte, uaafabi.CallSize), nil); !errors.Is(err, ErrDestroyed) {
		t.Errorf("instance of a destroyed library: %v", err)
	}
	if l.Resident() != 0 {
		t.Error("destroyed library still reports resident memory")
	}
}

func TestLoadErrors(t *testing.T) {
	rt := newRuntime(t)
	tests := []struct {
		name, path string
		want       error
		msg        string
	}{
		{"plain image", kvmtest.GuestImage(t, "hello"), ErrNotLibrary, "exports no functions (build it with UAAF_EXPORT)"},
		{"session image", kvmtest.GuestImage(t, "calltest"), ErrNotLibrary, "exports no functions"},
		{"missing file", "/nonexistent.hvt", ErrPreload, "/nonexistent.hvt: Could not open: no such file or directory"},
		{"directory", t.TempDir(), ErrPreload, "not a regular file"},
	}
	for _, tt := range tests {
		_, err := rt.Load(tt.name, tt.path)
		if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: %v, want %v containing %q", tt.name, err, tt.want, tt.msg)
		}
	}
}

// TestInstance starts two instances of one library for two call areas and
// checks they are private: a fault in one leaves the other serving, and an
// instance past its deadline says so.
func TestInstance(t *testing.T) {
	rt := newRuntime(t)
	l, err := rt.Load("testfns", kvmtest.LibraryImage(t, "testfns"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	area := func() []byte {
		b, err := allocCallArea()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { guestmem.Free(b) })
		return b
	}
	in, err := l.NewInstance(area(), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// An empty call area (function index 0 with no input) is a call the
	// dispatcher answers; the instance returns to its caller.
	if err := in.Enter(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatalf("first call: %v", err)
	}
	if in.Exits() == 0 {
		t.Error("no exits counted")
	}
	// A deadline already past stops the instance for good.
	if err := in.Enter(time.Now()); !errors.Is(err, monitor.ErrDeadline) {
		t.Errorf("call past its deadline = %v, want ErrDeadline", err)
	}
}

// allocCallArea maps a call area as a session's RAM would hold it.
func allocCallArea() ([]byte, error) { return guestmem.Alloc(uaafabi.CallSize) }
