package procmem

import (
	"errors"
	"os"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"
)

// TestDecodePageMap: entries are little-endian words; the flag bits and the
// frame number come apart.
func TestDecodePageMap(t *testing.T) {
	b := []byte{
		0x34, 0x12, 0, 0, 0, 0, 0, 0xa1, // present, file, exclusive; PFN 0x1234
		0, 0, 0, 0, 0, 0, 0, 0, // not present
		0xff, // a partial entry: dropped
	}
	es := decodePageMap(b)
	if len(es) != 2 {
		t.Fatalf("%d entries, want 2", len(es))
	}
	tests := []struct {
		e                        PageEntry
		present, file, exclusive bool
		pfn                      uint64
	}{
		{es[0], true, true, true, 0x1234},
		{es[1], false, false, false, 0},
		{PageEntry(1<<63 | 1<<55 | 7), true, false, false, 7}, // soft-dirty is not part of the PFN
	}
	for i, tt := range tests {
		if tt.e.Present() != tt.present || tt.e.File() != tt.file || tt.e.Exclusive() != tt.exclusive || tt.e.PFN() != tt.pfn {
			t.Errorf("entry %d %#x: present %v file %v exclusive %v pfn %#x; want %v %v %v %#x", i, uint64(tt.e),
				tt.e.Present(), tt.e.File(), tt.e.Exclusive(), tt.e.PFN(), tt.present, tt.file, tt.exclusive, tt.pfn)
		}
	}
}

// TestPageMap reads this process's own pages: an untouched page is absent,
// a written private page present and not a file page, a written page of a
// shared memfd a file page; misaligned ranges are refused.
func TestPageMap(t *testing.T) {
	fd, err := unix.MemfdCreate("procmem-test", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Ftruncate(fd, 2*pageSize); err != nil {
		t.Fatal(err)
	}
	shared, err := unix.Mmap(fd, 0, 2*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(shared)
	private, err := unix.Mmap(-1, 0, 2*pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(private)
	shared[0], private[0] = 1, 1
	addr := func(b []byte) uint64 { return uint64(reflect.ValueOf(b).Pointer()) }

	for _, c := range []struct {
		name        string
		mem         []byte
		wantFile    bool
		wantPresent [2]bool
	}{
		{"shared memfd", shared, true, [2]bool{true, false}},
		{"private anonymous", private, false, [2]bool{true, false}},
	} {
		es, err := PageMap(Self, addr(c.mem), addr(c.mem)+2*pageSize)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 2 {
			t.Fatalf("%s: %d entries, want 2", c.name, len(es))
		}
		for i, e := range es {
			if e.Present() != c.wantPresent[i] {
				t.Errorf("%s page %d: present %v, want %v (%#x)", c.name, i, e.Present(), c.wantPresent[i], uint64(e))
			}
		}
		if es[0].File() != c.wantFile {
			t.Errorf("%s: file %v, want %v (%#x)", c.name, es[0].File(), c.wantFile, uint64(es[0]))
		}
		if os.Geteuid() == 0 && es[0].PFN() == 0 {
			t.Errorf("%s: no frame number as root (%#x)", c.name, uint64(es[0]))
		}
	}
	if _, err := PageMap(Self, addr(shared)+1, addr(shared)+pageSize); !errors.Is(err, ErrRange) {
		t.Errorf("misaligned range: %v, want ErrRange", err)
	}
}
