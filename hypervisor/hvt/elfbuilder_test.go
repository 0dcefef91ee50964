package hvt

import (
	"debug/elf"
	"encoding/binary"
)

// This file assembles small hvt ELF images for the loader tests, field by
// field, so a test can break exactly one thing. Nothing here uses the code
// under test.

// tEhdr is a raw ELF64 header.
type tEhdr struct {
	Ident                  [16]byte
	Type, Machine          uint16
	Version                uint32
	Entry, Phoff, Shoff    uint64
	Flags                  uint32
	Ehsize, Phentsize      uint16
	Phnum                  uint16
	Shentsize, Shnum, Shst uint16
}

// tPhdr is a raw ELF64 program header.
type tPhdr struct {
	Type                 elf.ProgType
	Flags                elf.ProgFlag
	Offset, Vaddr, Paddr uint64
	Filesz, Memsz, Align uint64
}

// testImage is an ELF file under construction: a header, program headers,
// and per program header the bytes to place in the file (nil: none).
type testImage struct {
	Ehdr  tEhdr
	Phdrs []tPhdr
	Data  [][]byte
	Tail  []byte // appended after everything else
}

// Addresses of the standard test image; it fits in testMemSmall.
const (
	tTextVaddr = 0x100000
	tTextSize  = 0x100
	tDataVaddr = 0x101000
	tDataFile  = 0x40
	tDataMem   = 0x2000
	tBSSVaddr  = 0x103000
	tBSSMem    = 0x10000
	tEntry     = 0x100020

	testMemSmall = 0x110000
)

// Indices of the standard image's program headers.
const (
	phText = iota
	phABI
	phMFT
	phData
	phTData
	phBSS
	phCount
)

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7) + byte(i>>8)
	}
	return b
}

// noteBytes builds a note with owner name (its namesz is len(name)+1, padded
// to 8 bytes), the given type, pad zero bytes and then desc; descsz counts
// pad+desc.
func noteBytes(name string, typ uint32, pad int, desc []byte) []byte {
	nameField := make([]byte, (len(name)+1+3)&^3)
	copy(nameField, name)
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b[0:], uint32(len(name)+1))
	binary.LittleEndian.PutUint32(b[4:], uint32(pad+len(desc)))
	binary.LittleEndian.PutUint32(b[8:], typ)
	b = append(b, nameField...)
	b = append(b, make([]byte, pad)...)
	return append(b, desc...)
}

func abiDesc(target, version uint32) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint32(b[0:], target)
	binary.LittleEndian.PutUint32(b[4:], version)
	return b
}

// tEntry describes one raw manifest entry.
type tMftEntry struct {
	name string
	typ  uint32
}

// mftDesc builds a struct mft by hand: version 1, the entries given.
func mftDesc(entries ...tMftEntry) []byte {
	b := make([]byte, 8+104*len(entries))
	binary.LittleEndian.PutUint32(b[0:], 1)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(entries)))
	for i, e := range entries {
		o := 8 + 104*i
		copy(b[o:o+67], e.name)
		binary.LittleEndian.PutUint32(b[o+68:], e.typ)
	}
	return b
}

// stdMft is the manifest of the standard image.
func stdMft() []byte {
	return mftDesc(tMftEntry{"", 0x40000000}, tMftEntry{"storage", 1}, tMftEntry{"service0", 2})
}

// goodImage returns the standard valid image, laid out: text (R+X), the ABI1
// and MFT1 notes in their own PT_NOTEs, data (R+W, with a zeroed tail), an
// empty TLS PT_LOAD at vaddr 0 and a BSS-only PT_LOAD, like a Solo5 link.
func goodImage() *testImage {
	ti := &testImage{
		Ehdr: tEhdr{
			Type: uint16(elf.ET_EXEC), Machine: uint16(elf.EM_X86_64), Version: 1,
			Entry: tEntry, Ehsize: 64, Phentsize: 56, Phnum: phCount,
		},
		Phdrs: make([]tPhdr, phCount),
		Data:  make([][]byte, phCount),
	}
	copy(ti.Ehdr.Ident[:], "\x7fELF\x02\x01\x01")
	ti.Phdrs[phText] = tPhdr{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_X, Vaddr: tTextVaddr, Memsz: tTextSize, Align: 0x1000}
	ti.Data[phText] = pattern(tTextSize, 1)
	ti.Phdrs[phABI] = tPhdr{Type: elf.PT_NOTE, Flags: elf.PF_R, Align: 4}
	ti.Data[phABI] = noteBytes("Solo5", uint32(NoteABI), 0, abiDesc(1, 2))
	ti.Phdrs[phMFT] = tPhdr{Type: elf.PT_NOTE, Flags: elf.PF_R, Align: 8}
	ti.Data[phMFT] = noteBytes("Solo5", uint32(NoteManifest), 4, stdMft())
	ti.Phdrs[phData] = tPhdr{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Vaddr: tDataVaddr, Memsz: tDataMem, Align: 0x1000}
	ti.Data[phData] = pattern(tDataFile, 99)
	ti.Phdrs[phTData] = tPhdr{Type: elf.PT_LOAD, Flags: elf.PF_R, Vaddr: 0, Align: 8}
	ti.Phdrs[phBSS] = tPhdr{Type: elf.PT_LOAD, Flags: elf.PF_R | elf.PF_W, Vaddr: tBSSVaddr, Memsz: tBSSMem, Align: 0x1000}
	ti.layout()
	return ti
}

// layout sets e_phoff, e_phnum and every Offset/Filesz of program headers
// with data, placing the data 16-byte aligned after the header table.
func (ti *testImage) layout() {
	ti.Ehdr.Phoff = 64
	ti.Ehdr.Phnum = uint16(len(ti.Phdrs))
	off := uint64(64 + 56*len(ti.Phdrs))
	for i := range ti.Phdrs {
		if i >= len(ti.Data) || ti.Data[i] == nil {
			continue
		}
		off = (off + 15) &^ 15
		ti.Phdrs[i].Offset = off
		ti.Phdrs[i].Filesz = uint64(len(ti.Data[i]))
		off += uint64(len(ti.Data[i]))
	}
}

// placed reports whether Data[i] goes into the file: tests that move a
// header's Offset far away keep the file small.
func (ti *testImage) placed(i int) bool {
	return i < len(ti.Data) && ti.Data[i] != nil && i < len(ti.Phdrs) && ti.Phdrs[i].Offset < 1<<24
}

// bytes serialises the image as laid out (no re-layout, so a test can
// change header fields after layout).
func (ti *testImage) bytes() []byte {
	le := binary.LittleEndian
	size := uint64(64 + 56*len(ti.Phdrs))
	for i, d := range ti.Data {
		if ti.placed(i) {
			size = max(size, ti.Phdrs[i].Offset+uint64(len(d)))
		}
	}
	b := make([]byte, size)
	h := ti.Ehdr
	copy(b, h.Ident[:])
	le.PutUint16(b[16:], h.Type)
	le.PutUint16(b[18:], h.Machine)
	le.PutUint32(b[20:], h.Version)
	le.PutUint64(b[24:], h.Entry)
	le.PutUint64(b[32:], h.Phoff)
	le.PutUint64(b[40:], h.Shoff)
	le.PutUint32(b[48:], h.Flags)
	le.PutUint16(b[52:], h.Ehsize)
	le.PutUint16(b[54:], h.Phentsize)
	le.PutUint16(b[56:], h.Phnum)
	le.PutUint16(b[58:], h.Shentsize)
	le.PutUint16(b[60:], h.Shnum)
	le.PutUint16(b[62:], h.Shst)
	for i, p := range ti.Phdrs {
		o := 64 + 56*i
		le.PutUint32(b[o:], uint32(p.Type))
		le.PutUint32(b[o+4:], uint32(p.Flags))
		le.PutUint64(b[o+8:], p.Offset)
		le.PutUint64(b[o+16:], p.Vaddr)
		le.PutUint64(b[o+24:], p.Paddr)
		le.PutUint64(b[o+32:], p.Filesz)
		le.PutUint64(b[o+40:], p.Memsz)
		le.PutUint64(b[o+48:], p.Align)
	}
	for i, d := range ti.Data {
		if ti.placed(i) {
			copy(b[ti.Phdrs[i].Offset:], d)
		}
	}
	return append(b, ti.Tail...)
}

// buildImage returns the bytes of the standard image after mut (may be nil)
// changed it. If relayout is needed after changing Data, mut calls layout.
func buildImage(mut func(*testImage)) []byte {
	ti := goodImage()
	if mut != nil {
		mut(ti)
	}
	return ti.bytes()
}
