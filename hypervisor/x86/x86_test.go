package x86

import (
	"encoding/binary"
	"errors"
	"testing"
)

func TestWriteBootPageTables(t *testing.T) {
	const mem32 = 32 << 20
	mem := make([]byte, mem32)
	if err := WriteBootPageTables(mem, mem32); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		va    uint64
		ok, w bool
	}{
		{0x0, false, false},
		{0x1000, false, false},
		{0xffff, false, false},
		{0x10000, true, false},
		{0x10038, true, false},
		{0xfffff, true, false},
		{0x100000, true, true},
		{0x1fffff, true, true},
		{0x200000, true, true},
		{mem32 - 8, true, true},
		{mem32, false, false},
		{1 << 40, false, false},
		{1 << 63, false, false},
	}
	for _, tt := range tests {
		pa, w, ok := Translate(mem, tt.va)
		if ok != tt.ok || w != tt.w {
			t.Errorf("Translate(%#x) = ok %v writable %v, want ok %v writable %v", tt.va, ok, w, tt.ok, tt.w)
		}
		if ok && pa != tt.va {
			t.Errorf("Translate(%#x) = %#x, want identity", tt.va, pa)
		}
	}
}

func TestWriteBootPageTablesSmallest(t *testing.T) {
	mem := make([]byte, 2<<20)
	if err := WriteBootPageTables(mem, 2<<20); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := Translate(mem, 2<<20); ok {
		t.Error("2 MiB guest maps beyond its memory")
	}
	if _, w, ok := Translate(mem, 2<<20-1); !ok || !w {
		t.Error("2 MiB guest: last byte not mapped writable")
	}
}

func TestWriteBootPageTablesBadSize(t *testing.T) {
	mem := make([]byte, 4<<20)
	for _, size := range []uint64{0, 1 << 20, 3 << 20, 6 << 20, 5 << 30} {
		if err := WriteBootPageTables(mem, size); !errors.Is(err, ErrMemorySize) {
			t.Errorf("size %#x: err = %v, want ErrMemorySize", size, err)
		}
	}
}

func TestWriteBootGDT(t *testing.T) {
	mem := make([]byte, BootEnd)
	WriteBootGDT(mem)
	want := []uint64{0, 0x00af99000000ffff, 0x00cf93000000ffff}
	for i, w := range want {
		if got := binary.LittleEndian.Uint64(mem[GDTAddr+8*i:]); got != w {
			t.Errorf("GDT[%d] = %#x, want %#x", i, got, w)
		}
	}
	if BootCR0 != 0x80010021 || BootCR4 != 0x620 || BootEFER != 0x500 {
		t.Errorf("boot control registers: cr0 %#x cr4 %#x efer %#x", BootCR0, BootCR4, BootEFER)
	}
}

func TestMapLowPage(t *testing.T) {
	mem := make([]byte, 2<<20)
	if err := WriteBootPageTables(mem, 2<<20); err != nil {
		t.Fatal(err)
	}
	if err := MapLowPage(mem, 0x9000, false); err != nil {
		t.Fatal(err)
	}
	if err := MapLowPage(mem, 0xc000, true); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		va    uint64
		ok, w bool
	}{{0x9000, true, false}, {0x9fff, true, false}, {0xa000, false, false}, {0xc123, true, true}, {0x8000, false, false}} {
		pa, w, ok := Translate(mem, tt.va)
		if ok != tt.ok || w != tt.w || (ok && pa != tt.va) {
			t.Errorf("Translate(%#x) = %#x ok %v w %v; want ok %v w %v", tt.va, pa, ok, w, tt.ok, tt.w)
		}
	}
	for _, bad := range []uint64{0x8000, 0x9001, 0x10000, 0x0} {
		if err := MapLowPage(mem, bad, true); err == nil {
			t.Errorf("MapLowPage(%#x) accepted", bad)
		}
	}
}

// TestBootPageTablesPreset: every entry the boot tables hold has its
// accessed bit set, and every entry that maps a page its dirty bit, so no
// walk of them writes to them.
func TestBootPageTablesPreset(t *testing.T) {
	const size = 8 << 20
	mem := make([]byte, size)
	if err := WriteBootPageTables(mem, size); err != nil {
		t.Fatal(err)
	}
	if err := MapLowPage(mem, 0xc000, true); err != nil {
		t.Fatal(err)
	}
	n := 0
	for off := PML4Addr; off < BootEnd; off += 8 {
		e := binary.LittleEndian.Uint64(mem[off:])
		if e&PTEPresent == 0 {
			continue
		}
		n++
		leaf := off >= PT0Addr || (off >= PDAddr && e&PTEPageSize != 0)
		if e&PTEAccessed == 0 || leaf && e&PTEDirty == 0 {
			t.Errorf("entry at %#x = %#x: accessed/dirty not preset", off, e)
		}
	}
	// PML4 1 + PDPT 4 + PD 4 (PT0 and three 2 MiB pages) + PT0 (the window
	// page and 64 KiB-2 MiB: 496 pages).
	if want := 1 + 4 + 4 + 1 + 496; n != want {
		t.Errorf("%d present entries, want %d", n, want)
	}
}
