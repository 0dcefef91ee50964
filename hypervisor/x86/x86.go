// Package x86 holds the hypervisor-independent x86-64 pieces of booting an hvt
// guest: control-register and EFER bits, the boot GDT, and the identity-mapped
// boot page tables, laid out exactly as Solo5's hvt tender lays them out (the
// guest relies on that layout until it loads its own GDT/IDT).
//
// Everything here writes into a guest-memory byte slice whose index is the
// guest-physical address; nothing touches KVM.
package x86

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Control register and EFER bits used at boot.
const (
	CR0PE = 1 << 0  // protected mode
	CR0NE = 1 << 5  // native FPU errors
	CR0WP = 1 << 16 // write protect in ring 0
	CR0PG = 1 << 31 // paging

	CR4PAE        = 1 << 5
	CR4OSFXSR     = 1 << 9
	CR4OSXMMEXCPT = 1 << 10

	EFERLME = 1 << 8
	EFERLMA = 1 << 10

	// BootCR0, BootCR4 and BootEFER are the values an hvt guest starts with.
	BootCR0  = CR0PE | CR0NE | CR0WP | CR0PG
	BootCR4  = CR4PAE | CR4OSFXSR | CR4OSXMMEXCPT
	BootEFER = EFERLME | EFERLMA

	// BootRFLAGS has only the reserved bit 1 set (interrupts off).
	BootRFLAGS = 0x2
)

// Guest-physical addresses of the boot structures (all below 64 KiB, which
// the guest's own page tables leave unmapped).
const (
	GDTAddr  = 0x1000
	PML4Addr = 0x2000
	PDPTAddr = 0x3000
	PDAddr   = 0x4000 // four page directories, 0x4000–0x7fff
	PT0Addr  = 0x8000 // 4 KiB page table for the first 2 MiB
	// BootEnd is the first address after the boot structures.
	BootEnd = 0x9000
)

// Boot GDT selectors and descriptors.
const (
	SelectorCode = 0x08
	SelectorData = 0x10
	GDTEntries   = 3
	GDTLimit     = GDTEntries*8 - 1

	// gdtCode is a flat 64-bit ring-0 code segment (type 0x9, L=1, G=1).
	gdtCode = 0x00af99000000ffff
	// gdtData is a flat ring-0 data segment (type 0x3, D/B=1, G=1).
	gdtData = 0x00cf93000000ffff
)

// Page-table entry bits.
const (
	PTEPresent  = 1 << 0
	PTEWritable = 1 << 1
	PTEAccessed = 1 << 5
	PTEDirty    = 1 << 6 // in entries that map a page; ignored in the others
	PTEPageSize = 1 << 7 // 2 MiB page in a page directory entry
)

// The boot page tables are written with their accessed and dirty bits
// already set, so the MMU (or a shadow MMU such as PVM's) never writes
// them: the tables of a template stay shared by every guest that maps it
// copy-on-write, instead of costing each guest private copies of the pages
// its first instructions walk. The guest cannot see the difference: the
// tables lie below 64 KiB, which its own mappings leave out.
const (
	tableEntry = PTEPresent | PTEWritable | PTEAccessed // points to a table
	pageEntry  = PTEPresent | PTEAccessed | PTEDirty    // maps a page (read-only)
)

const (
	pageSize  = 4 << 10
	largePage = 2 << 20
	maxMemory = 4 << 30
	roStart   = 0x10000  // first 4 KiB page the guest may read (boot info)
	rwStart   = 0x100000 // first page the guest may write (the ELF)
)

// ErrMemorySize: the memory size cannot be mapped by the boot page tables.
var ErrMemorySize = errors.New("x86: guest memory size not mappable")

// WriteBootGDT writes the three-entry boot GDT at GDTAddr.
func WriteBootGDT(mem []byte) {
	le := binary.LittleEndian
	le.PutUint64(mem[GDTAddr:], 0)
	le.PutUint64(mem[GDTAddr+8:], gdtCode)
	le.PutUint64(mem[GDTAddr+16:], gdtData)
}

// WriteBootPageTables writes identity-mapping page tables for the first
// memSize bytes of guest memory (a multiple of 2 MiB, at most 4 GiB, not more
// than len(mem)): below 64 KiB nothing is mapped, 64 KiB–1 MiB is read-only
// (boot info, manifest, command line), the rest is writable; the first 2 MiB
// use 4 KiB pages, the rest 2 MiB pages. No NX, no user bit, as in Solo5.
func WriteBootPageTables(mem []byte, memSize uint64) error {
	if memSize < largePage || memSize%largePage != 0 || memSize > maxMemory || memSize > uint64(len(mem)) {
		return fmt.Errorf("%w: %d bytes", ErrMemorySize, memSize)
	}
	le := binary.LittleEndian
	clear(mem[PML4Addr:BootEnd])
	le.PutUint64(mem[PML4Addr:], PDPTAddr|tableEntry)
	for i := uint64(0); i < 4; i++ {
		le.PutUint64(mem[PDPTAddr+8*i:], (PDAddr+i*pageSize)|tableEntry)
	}
	le.PutUint64(mem[PDAddr:], PT0Addr|tableEntry)
	for gpa := uint64(largePage); gpa < memSize; gpa += largePage {
		le.PutUint64(mem[PDAddr+8*(gpa/largePage):], gpa|pageEntry|PTEWritable|PTEPageSize)
	}
	for gpa := uint64(roStart); gpa < largePage; gpa += pageSize {
		e := gpa | pageEntry
		if gpa >= rwStart {
			e |= PTEWritable
		}
		le.PutUint64(mem[PT0Addr+8*(gpa/pageSize):], e)
	}
	return nil
}

// Translate walks the boot page tables in mem for the virtual address va, as
// the CPU would, and returns the physical address and whether the mapping is
// writable. It exists to test WriteBootPageTables and to let the monitor
// explain guest faults.
func Translate(mem []byte, va uint64) (pa uint64, writable, ok bool) {
	le := binary.LittleEndian
	read := func(table, idx uint64) (uint64, bool) {
		off := table + 8*idx
		if off+8 > uint64(len(mem)) {
			return 0, false
		}
		e := le.Uint64(mem[off:])
		return e, e&PTEPresent != 0
	}
	const addrMask = 0x000ffffffffff000
	if va>>48 != 0 {
		return 0, false, false
	}
	pml4e, ok := read(PML4Addr, (va>>39)&511)
	if !ok {
		return 0, false, false
	}
	pdpte, ok := read(pml4e&addrMask, (va>>30)&511)
	if !ok {
		return 0, false, false
	}
	pde, ok := read(pdpte&addrMask, (va>>21)&511)
	if !ok {
		return 0, false, false
	}
	w := pml4e&pdpte&pde&PTEWritable != 0
	if pde&PTEPageSize != 0 {
		return pde&addrMask&^(largePage-1) | va&(largePage-1), w, true
	}
	pte, ok := read(pde&addrMask, (va>>12)&511)
	if !ok {
		return 0, false, false
	}
	return pte&addrMask | va&(pageSize-1), w && pte&PTEWritable != 0, true
}

// MapLowPage maps the 4 KiB page at gpa (below 64 KiB, outside the boot
// structures) in the boot page tables written by WriteBootPageTables,
// identity mapped, read-only or writable. uaaf maps its UaaF window
// (trampoline, view data, call area) this way; plain hvt guests never see it.
func MapLowPage(mem []byte, gpa uint64, writable bool) error {
	if gpa%pageSize != 0 || gpa < BootEnd || gpa >= roStart {
		return fmt.Errorf("x86: cannot map low page %#x: not a page in [%#x, %#x)", gpa, BootEnd, roStart)
	}
	e := gpa | pageEntry
	if writable {
		e |= PTEWritable
	}
	binary.LittleEndian.PutUint64(mem[PT0Addr+8*(gpa/pageSize):], e)
	return nil
}
