package libtext

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/tools/bench/procmem"
)

// TestRanges: a library's read-only segments start at 1 MiB (where hvt
// images are linked), page aligned; a file that is no image is an
// ErrLibrary naming it.
func TestRanges(t *testing.T) {
	rs, err := Ranges(kvmtest.LibraryImage(t, "sha256"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) == 0 || rs[0].Start != hvt.GuestMinBase {
		t.Fatalf("ranges %v, want the first at %#x", rs, hvt.GuestMinBase)
	}
	for _, r := range rs {
		if r.Start%pageSize != 0 || r.End%pageSize != 0 || r.End <= r.Start {
			t.Errorf("range %v not whole pages", r)
		}
	}
	bad := filepath.Join(t.TempDir(), "x.hvt")
	os.WriteFile(bad, []byte("not an ELF image"), 0o644)
	for _, p := range []string{bad, filepath.Join(t.TempDir(), "missing.hvt")} {
		if _, err := Ranges(p); !errors.Is(err, ErrLibrary) {
			t.Errorf("Ranges(%s): %v, want ErrLibrary", p, err)
		}
	}
}

// TestMeasure maps a fake library's memfd twice in this process, as two
// instances do: text read by both is one frame (Once) in two mappings
// (Mapped), nothing private; a write into one instance's text makes a
// private copy, counted as such and as a frame of its own.
func TestMeasure(t *testing.T) {
	fd, err := unix.MemfdCreate("uaaf-lib-faketext", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	const size = 4 * pageSize
	if err := unix.Ftruncate(fd, size); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.Pwrite(fd, []byte{0x90}, 2*pageSize); err != nil { // the "text" page exists in the page cache
		t.Fatal(err)
	}
	var maps [][]byte
	for range 2 {
		m, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Munmap(m)
		sink += m[2*pageSize] // fault the text page in, read-only
		maps = append(maps, m)
	}
	text := map[string][]hvt.Range{"faketext": {{Start: 2 * pageSize, End: 3 * pageSize}}}
	root := os.Geteuid() == 0

	u, err := Measure([]int{procmem.Self}, text)
	if err != nil {
		t.Fatal(err)
	}
	if u.Mapped != 2*pageSize || u.Private != 0 || u.Once != pageSize || u.Frames != root {
		t.Errorf("shared: %+v, want mapped 2 pages, once 1, none private, frames %v", u, root)
	}

	maps[1][2*pageSize] = 0xcc // a copy of its own
	if u, err = Measure([]int{procmem.Self}, text); err != nil {
		t.Fatal(err)
	}
	wantOnce := uint64(pageSize) // without frame numbers: the largest mapping's
	if root {
		wantOnce = 2 * pageSize
	}
	if u.Mapped != 2*pageSize || u.Private != pageSize || u.Once != wantOnce {
		t.Errorf("one copied: %+v, want mapped 2 pages, once %d bytes, 1 page private", u, wantOnce)
	}

	if u, err = Measure([]int{procmem.Self}, map[string][]hvt.Range{"other": text["faketext"]}); err != nil || u != (Usage{}) {
		t.Errorf("another library's ranges: %+v, %v; want nothing counted", u, err)
	}
}

// sink keeps the test's reads of mapped pages from being optimised away.
var sink byte
