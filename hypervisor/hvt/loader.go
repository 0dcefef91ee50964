package hvt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Sizes of the ELF64 structures the loader reads. Only the ELF header and the
// program header table are ever looked at; section headers are ignored, so
// stripped images load fine.
const (
	elfHeaderSize  = 64
	progHeaderSize = 56

	// ELF header and program header values the loader checks (System V
	// gABI, ELF-64).
	eiClass     = 4  // e_ident index of the class
	eiData      = 5  // e_ident index of the data encoding
	elfClass64  = 2  // ELFCLASS64
	elfData2LSB = 1  // ELFDATA2LSB: little endian
	evCurrent   = 1  // EV_CURRENT
	etExec      = 2  // ET_EXEC
	emX86_64    = 62 // EM_X86_64
	ptLoad      = 1  // PT_LOAD
	ptNote      = 4  // PT_NOTE
	// PageSize is the page size segment boundaries must be aligned to.
	PageSize = 4096
)

// SegmentFlags are an ELF program header's p_flags.
type SegmentFlags uint32

// The p_flags bits.
const (
	PF_X SegmentFlags = 1 << 0 // execute
	PF_W SegmentFlags = 1 << 1 // write
	PF_R SegmentFlags = 1 << 2 // read
)

// Segment is one loadable segment of an image: a PT_LOAD program header with
// a non-zero p_filesz. The loader ignores every other program header.
type Segment struct {
	Offset uint64       // p_offset: where the file bytes start
	Vaddr  uint64       // p_vaddr: the GPA the bytes are loaded at
	Filesz uint64       // p_filesz: bytes copied from the file
	Memsz  uint64       // p_memsz: bytes occupied in memory (tail zeroed)
	Align  uint64       // p_align
	Flags  SegmentFlags // p_flags

	phdr int // index in the program header table, for error messages
}

// Writable reports whether the segment asks for write access (PF_W).
func (s Segment) Writable() bool { return s.Flags&PF_W != 0 }

// Executable reports whether the segment asks for execute access (PF_X).
func (s Segment) Executable() bool { return s.Flags&PF_X != 0 }

// Readable reports whether the segment asks for read access (PF_R).
func (s Segment) Readable() bool { return s.Flags&PF_R != 0 }

// Image is an hvt executable whose ELF header and Solo5 notes have been
// checked by Parse. Its segments have not yet been checked against a memory
// size; Check and Load do that.
type Image struct {
	// Entry is e_entry, the guest's entry point.
	Entry uint64
	// ABI is the image's ABI1 note (already checked to be hvt, version 2).
	ABI ABINote
	// Manifest is the image's validated MFT1 manifest.
	Manifest *Manifest
	// Segments are the PT_LOAD headers with p_filesz != 0, in program
	// header order. Empty (p_filesz == 0) PT_LOADs, such as the linker's
	// empty TLS segment at vaddr 0 and BSS-only segments, are not listed:
	// the Solo5 loader skips them entirely.
	Segments []Segment
	// KernelEnd is the largest align_up(Vaddr+Memsz, Align) over Segments,
	// the value Solo5 reports to the guest as kernel_end. Segments whose
	// alignment is invalid or whose end overflows are left out; Check rejects
	// such images anyway.
	KernelEnd uint64
	// End is the highest p_vaddr+p_memsz over all PT_LOAD headers with
	// p_vaddr >= GuestMinBase, BSS-only ones included (overflowing ones
	// left out). It is informational: nothing is loaded or checked there.
	End uint64

	size  int64   // file size given to Parse
	notes []pNote // the note at the start of each PT_NOTE, read by Parse
}

// imageError is the error type of the loader. Its text follows the wording of
// the Solo5 tender's messages, and it unwraps to one of the package sentinels
// (and to the underlying I/O error, if any).
type imageError struct {
	kind  error
	cause error
	msg   string
}

func (e *imageError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *imageError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

func loadErr(kind error, format string, args ...any) error {
	return &imageError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

func ioErr(kind, cause error, format string, args ...any) error {
	return &imageError{kind: kind, cause: cause, msg: fmt.Sprintf(format, args...)}
}

// invExe prefixes the messages of rejected headers, as Solo5 does.
const invExe = "invalid executable"

// readFull reads exactly len(buf) bytes at off. The caller has checked that
// the range lies inside the file.
func readFull(r io.ReaderAt, buf []byte, off uint64) error {
	if len(buf) == 0 {
		return nil
	}
	n, err := r.ReadAt(buf, int64(off))
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// within reports whether [off, off+n) lies inside a file of size bytes,
// without overflowing.
func within(off, n uint64, size int64) bool {
	if size < 0 {
		return false
	}
	s := uint64(size)
	return off <= s && n <= s-off
}

// progHeader is one raw ELF64 program header.
type progHeader struct {
	typ    uint32
	flags  SegmentFlags
	offset uint64
	vaddr  uint64
	filesz uint64
	memsz  uint64
	align  uint64
}

// elfFile is what the loader keeps of the ELF header and program headers.
type elfFile struct {
	entry uint64
	progs []progHeader
}

// readELF reads and checks the ELF header and reads the program header table,
// with the checks of Solo5's ehdr_is_valid. The table must lie inside the
// file, so the allocation is bounded by size.
func readELF(r io.ReaderAt, size int64) (*elfFile, error) {
	if size < elfHeaderSize {
		return nil, loadErr(ErrBadELF, "%s: elf header does not match the expected size (file is %d bytes, need %d)",
			invExe, size, elfHeaderSize)
	}
	var h [elfHeaderSize]byte
	if err := readFull(r, h[:], 0); err != nil {
		return nil, ioErr(ErrBadELF, err, "%s: cannot read elf header", invExe)
	}
	le := binary.LittleEndian
	bad := func(why string) error {
		return loadErr(ErrBadELF, "invalid or unsupported executable (%s)", why)
	}
	switch {
	case h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F':
		return nil, bad("no ELF magic")
	case h[eiClass] != elfClass64:
		return nil, bad("not ELFCLASS64")
	case h[eiData] != elfData2LSB:
		return nil, bad("not little endian")
	case le.Uint32(h[20:]) != evCurrent:
		return nil, bad("e_version is not EV_CURRENT")
	case le.Uint16(h[52:]) != elfHeaderSize:
		return nil, bad("e_ehsize is not 64")
	case le.Uint16(h[56:]) < 1:
		return nil, bad("no program headers")
	case le.Uint16(h[54:]) != progHeaderSize:
		return nil, bad("e_phentsize is not 56")
	case le.Uint16(h[16:]) != etExec:
		return nil, bad("not ET_EXEC")
	case le.Uint16(h[18:]) != emX86_64:
		return nil, bad("not EM_X86_64")
	}
	phoff := le.Uint64(h[32:])
	phnum := uint64(le.Uint16(h[56:]))
	tableSize := phnum * progHeaderSize // at most 65535*56: no overflow
	if !within(phoff, tableSize, size) {
		return nil, loadErr(ErrBadELF, "%s: program header does not match the expected size (%d bytes at offset %d, file is %d bytes)",
			invExe, tableSize, phoff, size)
	}
	table := make([]byte, tableSize)
	if err := readFull(r, table, phoff); err != nil {
		return nil, ioErr(ErrBadELF, err, "%s: cannot read program headers", invExe)
	}
	f := &elfFile{entry: le.Uint64(h[24:]), progs: make([]progHeader, phnum)}
	for i := range f.progs {
		p := table[i*progHeaderSize:]
		f.progs[i] = progHeader{
			typ:    le.Uint32(p[0:]),
			flags:  SegmentFlags(le.Uint32(p[4:])),
			offset: le.Uint64(p[8:]),
			vaddr:  le.Uint64(p[16:]),
			filesz: le.Uint64(p[32:]),
			memsz:  le.Uint64(p[40:]),
			align:  le.Uint64(p[48:]),
		}
	}
	return f, nil
}

// alignUp rounds v up to align, a power of two; ok is false on overflow.
func alignUp(v, align uint64) (uint64, bool) {
	s := v + (align - 1)
	if s < v {
		return 0, false
	}
	return s &^ (align - 1), true
}

func isPow2(v uint64) bool { return v != 0 && v&(v-1) == 0 }

// Parse reads an hvt executable of size bytes from r and checks it the way
// solo5-hvt does before it looks at its command line: the ELF header
// (magic, ELFCLASS64, little endian, EV_CURRENT, e_ehsize 64, e_phnum >= 1,
// e_phentsize 56, ET_EXEC, EM_X86_64), then the ABI1 note (present, target
// hvt, version ABIVersion), then the MFT1 note (present, valid per
// ParseManifest). Only the ELF header, the program headers and the note at
// the start of each PT_NOTE are read; Parse keeps every such note, so that
// other owners' notes (uaaf's) are read from the Image (Note) without
// reading the file again.
//
// The returned error unwraps to ErrBadELF, ErrBadNote, ErrNoABINote,
// ErrWrongTarget, ErrABIVersion, ErrNoManifest or ErrBadManifest, and its text
// uses Solo5's wording. Rules that depend on the guest memory size are left to
// Check and Load. Parse allocates O(size) bytes for the headers plus at most
// 4 MiB of note descriptors, and never panics.
func Parse(r io.ReaderAt, size int64) (*Image, error) {
	f, err := readELF(r, size)
	if err != nil {
		return nil, err
	}
	img := &Image{Entry: f.entry, size: size, notes: collectNotes(r, size, f)}

	desc, err := img.Note(solo5Owner, NoteABI, ABINoteAlign, ABIMaxDesc)
	if errors.Is(err, ErrNoNote) {
		return nil, loadErr(ErrNoABINote, "No Solo5 ABI information found in executable")
	} else if err != nil {
		return nil, err
	}
	img.ABI = decodeABINote(desc)
	if img.ABI.Target != ABITargetHVT {
		return nil, loadErr(ErrWrongTarget, "Executable is not for the solo5-hvt target")
	}
	if img.ABI.Version != ABIVersion {
		return nil, loadErr(ErrABIVersion, "Executable requests unsupported ABI version %d", img.ABI.Version)
	}

	desc, err = img.Note(solo5Owner, NoteManifest, ManifestNoteAlign, ManifestMaxDesc)
	if errors.Is(err, ErrNoNote) {
		return nil, loadErr(ErrNoManifest, "No Solo5 manifest found in executable")
	} else if err != nil {
		return nil, err
	}
	if img.Manifest, err = ParseManifest(desc); err != nil {
		return nil, err
	}

	for i, p := range f.progs {
		if p.typ != ptLoad {
			continue
		}
		if p.vaddr >= GuestMinBase && p.vaddr+p.memsz >= p.vaddr {
			img.End = max(img.End, p.vaddr+p.memsz)
		}
		if p.filesz == 0 {
			continue
		}
		img.Segments = append(img.Segments, Segment{
			Offset: p.offset, Vaddr: p.vaddr, Filesz: p.filesz, Memsz: p.memsz,
			Align: p.align, Flags: p.flags, phdr: i,
		})
		if isPow2(p.align) && p.vaddr+p.memsz >= p.vaddr {
			if end, ok := alignUp(p.vaddr+p.memsz, p.align); ok {
				img.KernelEnd = max(img.KernelEnd, end)
			}
		}
	}
	return img, nil
}

// Check applies Solo5's elf_load rules for a guest of memSize bytes, in
// Solo5's order, without touching memory: GuestMinBase <= Entry < memSize;
// then for each segment: Vaddr >= GuestMinBase; Vaddr not below the previous
// segment's; Align a non-zero power of two; align_down(Vaddr) >= GuestMinBase
// and not below the previous segment's aligned end (no overlap);
// Vaddr < memSize; Vaddr+Filesz <= memSize (overflow-checked); Memsz >= Filesz;
// align_up(Vaddr+Memsz, Align) <= memSize (overflow-checked); the file bytes
// lie inside the file; start and aligned end are PageSize aligned; not both
// writable and executable. Errors unwrap to ErrBadSegment (ErrBadELF for the
// entry point).
func (img *Image) Check(memSize uint64) error {
	if img.Entry < GuestMinBase || img.Entry >= memSize {
		return loadErr(ErrBadELF, "%s: e_entry does not fall within the memory allocation range (%d < %d || %d >= %d)",
			invExe, img.Entry, GuestMinBase, img.Entry, memSize)
	}
	var last, kend uint64
	for _, s := range img.Segments {
		if err := s.check(memSize, img.size, &last, &kend); err != nil {
			return err
		}
	}
	return nil
}

// check is one iteration of Check; last and kend carry the previous p_vaddr
// and the highest aligned end so far.
func (s Segment) check(memSize uint64, fileSize int64, last, kend *uint64) error {
	i := s.phdr
	bad := func(format string, args ...any) error {
		return loadErr(ErrBadSegment, "%s: phdr[%d]"+format, append([]any{invExe, i}, args...)...)
	}
	if s.Vaddr < GuestMinBase {
		return bad(".p_vaddr outside of valid memory range (%d < %d)", s.Vaddr, GuestMinBase)
	}
	if s.Vaddr < *last {
		return bad(".p_vaddr is not in ascending order (%d < %d)", s.Vaddr, *last)
	}
	*last = s.Vaddr
	if !isPow2(s.Align) {
		return bad(".p_align is not a non-zero power of 2 (%d)", s.Align)
	}
	start := s.Vaddr &^ (s.Align - 1)
	if start < GuestMinBase {
		return bad(".p_vaddr_start is outside of memory range (%d < %d (p_min_loadaddr))", start, GuestMinBase)
	}
	if start < *kend {
		return bad(".p_vaddr_start is outside of memory range (%d < %d (e_end)): segments overlap", start, *kend)
	}
	if s.Vaddr >= memSize {
		return bad(" program file segment falls outside of valid range (%d >= %d (mem_size))", s.Vaddr, memSize)
	}
	fend := s.Vaddr + s.Filesz
	if fend < s.Vaddr {
		return bad(" program file segment falls outside of valid range (%d (p_vaddr) + %d (p_filesz) overflow)", s.Vaddr, s.Filesz)
	}
	if fend > memSize {
		return bad(" program file segment falls outside of valid range (%d (p_vaddr + p_filesz) > %d (mem_size))", fend, memSize)
	}
	if s.Memsz < s.Filesz {
		return bad(" program memory segment falls outside of valid range (%d (p_memsz) < %d (p_filesz))", s.Memsz, s.Filesz)
	}
	mend := s.Vaddr + s.Memsz
	if mend < s.Vaddr {
		return bad(" program memory segment falls outside of valid range (%d (p_vaddr) + %d (p_memsz) overflow)", s.Vaddr, s.Memsz)
	}
	end, ok := alignUp(mend, s.Align)
	if !ok {
		return bad(" program memory segment falls outside of valid range (align_up with %d (p_vaddr_end) and %d (p_align) failed)", mend, s.Align)
	}
	if end > memSize {
		return bad(" program memory segment falls outside of valid range (%d (p_vaddr + p_memsz) > %d (mem_size))", end, memSize)
	}
	*kend = max(*kend, end)
	if !within(s.Offset, s.Filesz, fileSize) {
		return bad(" host file segment mismatched (%d bytes at offset %d, file is %d bytes)", s.Filesz, s.Offset, fileSize)
	}
	if start%PageSize != 0 {
		return bad(" p_vaddr_start not aligned with architectural page size (%d & (%d - 1))", start, PageSize)
	}
	if end%PageSize != 0 {
		return bad(" p_vaddr_end not aligned with architectural page size (%d & (%d - 1))", end, PageSize)
	}
	if s.Writable() && s.Executable() {
		return bad(" requests WRITE and EXEC permissions")
	}
	return nil
}

// Load checks img against guest memory mem with Check(len(mem)), then copies
// each segment's Filesz bytes from r at Offset to mem[Vaddr:] and zeroes the
// rest of the segment up to Vaddr+Memsz. It writes nothing if a check fails,
// never writes outside mem, and writes nothing outside the segments. r should
// be the file Parse read; a short read is an error (ErrBadSegment).
func (img *Image) Load(r io.ReaderAt, mem []byte) error {
	if err := img.Check(uint64(len(mem))); err != nil {
		return err
	}
	for _, s := range img.Segments {
		// Check guarantees Vaddr+Memsz <= len(mem), so these fit in int.
		v, f, m := int(s.Vaddr), int(s.Filesz), int(s.Memsz)
		if err := readFull(r, mem[v:v+f:v+f], s.Offset); err != nil {
			return ioErr(ErrBadSegment, err, "phdr[%d] host file segment mismatched (reading %d bytes at offset %d)",
				s.phdr, s.Filesz, s.Offset)
		}
		clear(mem[v+f : v+m])
	}
	return nil
}
