package hvt

import (
	"bytes"
	"debug/elf"
	"errors"
	"strings"
	"testing"
)

func parseBytes(b []byte) (*Image, error) {
	return Parse(bytes.NewReader(b), int64(len(b)))
}

func TestParseGoodImage(t *testing.T) {
	img, err := parseBytes(buildImage(nil))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if img.Entry != tEntry {
		t.Errorf("Entry = %#x, want %#x", img.Entry, tEntry)
	}
	if img.ABI != (ABINote{Target: ABITargetHVT, Version: ABIVersion}) {
		t.Errorf("ABI = %+v", img.ABI)
	}
	// The empty TLS PT_LOAD and the BSS-only PT_LOAD are skipped.
	if len(img.Segments) != 2 {
		t.Fatalf("Segments = %+v, want text and data only", img.Segments)
	}
	text, data := img.Segments[0], img.Segments[1]
	if text.Vaddr != tTextVaddr || text.Filesz != tTextSize || !text.Executable() || text.Writable() {
		t.Errorf("text segment = %+v", text)
	}
	if data.Vaddr != tDataVaddr || data.Filesz != tDataFile || data.Memsz != tDataMem || !data.Writable() || data.Executable() {
		t.Errorf("data segment = %+v", data)
	}
	// KernelEnd excludes the BSS-only segment; End includes it.
	if img.KernelEnd != tDataVaddr+tDataMem {
		t.Errorf("KernelEnd = %#x, want %#x", img.KernelEnd, tDataVaddr+tDataMem)
	}
	if img.End != tBSSVaddr+tBSSMem {
		t.Errorf("End = %#x, want %#x", img.End, tBSSVaddr+tBSSMem)
	}
	m := img.Manifest
	if m == nil || m.Version != 1 || len(m.Entries) != 3 {
		t.Fatalf("Manifest = %+v", m)
	}
	if i, ok := m.Lookup("storage", DeviceBlock); !ok || i != 1 {
		t.Errorf("Lookup(storage) = %d, %v", i, ok)
	}
	if i, ok := m.Lookup("service0", DeviceNet); !ok || i != 2 {
		t.Errorf("Lookup(service0) = %d, %v", i, ok)
	}
}

func TestParseErrors(t *testing.T) {
	const noteSize = "note does not fall within valid size"
	const badExe = "invalid or unsupported executable"
	tests := []struct {
		name    string
		mut     func(*testImage)
		file    []byte // used instead of mut when non-nil
		want    error
		wantMsg string
	}{
		{name: "empty file", file: []byte{}, want: ErrBadELF},
		{name: "short header", file: buildImage(nil)[:63], want: ErrBadELF},
		{name: "bad magic", mut: func(ti *testImage) { ti.Ehdr.Ident[1] = 'e' }, want: ErrBadELF, wantMsg: badExe},
		{name: "ELFCLASS32", mut: func(ti *testImage) { ti.Ehdr.Ident[4] = 1 }, want: ErrBadELF, wantMsg: badExe},
		{name: "big endian", mut: func(ti *testImage) { ti.Ehdr.Ident[5] = 2 }, want: ErrBadELF, wantMsg: badExe},
		{name: "e_version 0", mut: func(ti *testImage) { ti.Ehdr.Version = 0 }, want: ErrBadELF, wantMsg: badExe},
		{name: "e_ehsize", mut: func(ti *testImage) { ti.Ehdr.Ehsize = 52 }, want: ErrBadELF, wantMsg: badExe},
		{name: "e_phentsize", mut: func(ti *testImage) { ti.Ehdr.Phentsize = 32 }, want: ErrBadELF, wantMsg: badExe},
		{name: "e_phnum 0", mut: func(ti *testImage) { ti.Ehdr.Phnum = 0 }, want: ErrBadELF, wantMsg: badExe},
		{name: "ET_DYN", mut: func(ti *testImage) { ti.Ehdr.Type = uint16(elf.ET_DYN) }, want: ErrBadELF, wantMsg: badExe},
		{name: "EM_AARCH64", mut: func(ti *testImage) { ti.Ehdr.Machine = uint16(elf.EM_AARCH64) }, want: ErrBadELF, wantMsg: badExe},
		{name: "phdrs past EOF", mut: func(ti *testImage) { ti.Ehdr.Phoff = 1 << 20 }, want: ErrBadELF},
		{name: "phoff overflow", mut: func(ti *testImage) { ti.Ehdr.Phoff = ^uint64(0) - 8 }, want: ErrBadELF},
		{name: "phnum past EOF", mut: func(ti *testImage) { ti.Ehdr.Phnum = 0xffff }, want: ErrBadELF},

		{name: "no ABI note", mut: func(ti *testImage) { ti.Phdrs[phABI].Type = elf.PT_NULL },
			want: ErrNoABINote, wantMsg: "No Solo5 ABI information found in executable"},
		{name: "ABI note wrong owner", mut: func(ti *testImage) {
			ti.Data[phABI] = noteBytes("Solo6", uint32(NoteABI), 0, abiDesc(1, 2))
		}, want: ErrNoABINote},
		{name: "ABI note owner namesz 5", mut: func(ti *testImage) {
			ti.Data[phABI] = noteBytes("Solo", uint32(NoteABI), 0, abiDesc(1, 2))
		}, want: ErrNoABINote},
		{name: "ABI note wrong type", mut: func(ti *testImage) {
			ti.Data[phABI] = noteBytes("Solo5", 0x32494241, 0, abiDesc(1, 2))
		}, want: ErrNoABINote},
		{name: "ABI note in short PT_NOTE is skipped", mut: func(ti *testImage) { ti.Phdrs[phABI].Filesz = 19 },
			want: ErrNoABINote},
		{name: "PT_NOTE shorter than Nhdr", mut: func(ti *testImage) { ti.Phdrs[phABI].Filesz = 11 },
			want: ErrBadNote, wantMsg: noteSize},
		{name: "PT_NOTE p_filesz < 12 rejects even a foreign note", mut: func(ti *testImage) {
			ti.Phdrs = append([]tPhdr{{Type: elf.PT_NOTE, Filesz: 4}}, ti.Phdrs...)
			ti.Data = append([][]byte{nil}, ti.Data...)
			ti.layout()
		}, want: ErrBadNote, wantMsg: noteSize},
		{name: "ABI descsz 0", mut: func(ti *testImage) { ti.Data[phABI] = noteBytes("Solo5", uint32(NoteABI), 0, nil) },
			want: ErrBadNote, wantMsg: noteSize},
		{name: "ABI descsz too big", mut: func(ti *testImage) {
			ti.Data[phABI] = noteBytes("Solo5", uint32(NoteABI), 0, make([]byte, 33))
			ti.layout()
		}, want: ErrBadNote, wantMsg: noteSize},
		{name: "ABI p_filesz < 20+descsz", mut: func(ti *testImage) { ti.Phdrs[phABI].Filesz-- },
			want: ErrBadNote, wantMsg: noteSize},
		{name: "ABI note header past EOF", mut: func(ti *testImage) { ti.Phdrs[phABI].Offset = 1 << 30 },
			want: ErrBadNote},
		{name: "ABI note offset overflow", mut: func(ti *testImage) { ti.Phdrs[phABI].Offset = ^uint64(0) - 4 },
			want: ErrBadNote},
		{name: "ABI wrong target", mut: func(ti *testImage) { ti.Data[phABI] = noteBytes("Solo5", uint32(NoteABI), 0, abiDesc(2, 2)) },
			want: ErrWrongTarget, wantMsg: "Executable is not for the solo5-hvt target"},
		{name: "ABI short descriptor", mut: func(ti *testImage) {
			ti.Data[phABI] = noteBytes("Solo5", uint32(NoteABI), 0, []byte{1})
			ti.layout()
		}, want: ErrABIVersion, wantMsg: "Executable requests unsupported ABI version 0"},
		{name: "ABI version 1", mut: func(ti *testImage) { ti.Data[phABI] = noteBytes("Solo5", uint32(NoteABI), 0, abiDesc(1, 1)) },
			want: ErrABIVersion, wantMsg: "Executable requests unsupported ABI version 1"},

		{name: "no manifest", mut: func(ti *testImage) { ti.Phdrs[phMFT].Type = elf.PT_LOAD; ti.Phdrs[phMFT].Vaddr = 0 },
			want: ErrNoManifest, wantMsg: "No Solo5 manifest found in executable"},
		{name: "manifest pad makes note_size 0", mut: func(ti *testImage) {
			ti.Data[phMFT] = noteBytes("Solo5", uint32(NoteManifest), 4, nil)
			ti.layout()
		}, want: ErrBadNote, wantMsg: noteSize},
		{name: "manifest descsz below pad", mut: func(ti *testImage) {
			ti.Data[phMFT] = noteBytes("Solo5", uint32(NoteManifest), 3, nil)
			ti.layout()
		}, want: ErrBadNote, wantMsg: noteSize},
		{name: "manifest descsz too big", mut: func(ti *testImage) {
			ti.Data[phMFT] = noteBytes("Solo5", uint32(NoteManifest), 4, make([]byte, ManifestMaxDesc-3))
			ti.layout()
		}, want: ErrBadNote, wantMsg: noteSize},
		{name: "manifest invalid", mut: func(ti *testImage) {
			d := stdMft()
			d[0] = 2
			ti.Data[phMFT] = noteBytes("Solo5", uint32(NoteManifest), 4, d)
		}, want: ErrBadManifest, wantMsg: "Solo5 manifest is invalid"},
		{name: "manifest without pad is invalid", mut: func(ti *testImage) {
			ti.Data[phMFT] = noteBytes("Solo5", uint32(NoteManifest), 0, stdMft())
		}, want: ErrBadManifest, wantMsg: "Solo5 manifest is invalid"},
		// Solo5's check order: the ABI note is judged before the manifest.
		{name: "ABI error wins over manifest error", mut: func(ti *testImage) {
			ti.Data[phABI] = noteBytes("Solo5", uint32(NoteABI), 0, abiDesc(3, 2))
			ti.Phdrs[phMFT].Type = elf.PT_NULL
		}, want: ErrWrongTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.file
			if file == nil {
				file = buildImage(tt.mut)
			}
			img, err := parseBytes(file)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse error = %v, want %v (image %+v)", err, tt.want, img)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

// TestParseIgnoresSections: section headers are never read, so garbage
// e_shoff/e_shnum (or a stripped file) does not matter.
func TestParseIgnoresSections(t *testing.T) {
	file := buildImage(func(ti *testImage) {
		ti.Ehdr.Shoff = ^uint64(0)
		ti.Ehdr.Shnum = 0xffff
		ti.Ehdr.Shentsize = 3
		ti.Ehdr.Ident[elf.EI_OSABI] = 0x61 // not checked either
	})
	if _, err := parseBytes(file); err != nil {
		t.Fatal(err)
	}
}

// TestParseForeignNotesSkipped: other notes (e.g. OpenBSD's) and a second
// note inside the same PT_NOTE are not looked at.
func TestParseForeignNotesSkipped(t *testing.T) {
	file := buildImage(func(ti *testImage) {
		foreign := noteBytes("OpenBSD", 1, 0, []byte{0, 0, 0, 0})
		ti.Phdrs = append([]tPhdr{{Type: elf.PT_NOTE, Align: 4}}, ti.Phdrs...)
		ti.Data = append([][]byte{foreign}, ti.Data...)
		ti.layout()
	})
	if _, err := parseBytes(file); err != nil {
		t.Fatal(err)
	}
	// An ABI note that is the second note of a PT_NOTE is not found.
	file = buildImage(func(ti *testImage) {
		ti.Data[phABI] = append(noteBytes("OpenBSD", 1, 0, []byte{0, 0, 0, 0}), ti.Data[phABI]...)
		ti.layout()
	})
	if _, err := parseBytes(file); !errors.Is(err, ErrNoABINote) {
		t.Fatalf("err = %v, want ErrNoABINote", err)
	}
}

func TestLoadErrors(t *testing.T) {
	const mem = testMemSmall
	tests := []struct {
		name    string
		mut     func(*testImage)
		mem     int
		want    error // nil: Load succeeds
		wantMsg string
	}{
		{name: "good"},
		{name: "good at exact memory end", mem: tDataVaddr + tDataMem},
		{name: "memsz past mem", mem: tDataVaddr + tDataMem - 0x1000, want: ErrBadSegment, wantMsg: "program memory segment falls outside"},
		{name: "entry below 1 MiB", mut: func(ti *testImage) { ti.Ehdr.Entry = GuestMinBase - 1 }, want: ErrBadELF, wantMsg: "e_entry does not fall within"},
		{name: "entry at mem", mut: func(ti *testImage) { ti.Ehdr.Entry = mem }, want: ErrBadELF, wantMsg: "e_entry does not fall within"},
		{name: "entry just below mem", mut: func(ti *testImage) { ti.Ehdr.Entry = mem - 1 }},
		{name: "segment below 1 MiB", mut: func(ti *testImage) { ti.Phdrs[phText].Vaddr = GuestMinBase - 0x1000 }, want: ErrBadSegment, wantMsg: "p_vaddr outside of valid memory range"},
		{name: "descending", mut: func(ti *testImage) { ti.Phdrs[phText].Vaddr = 0x108000 }, want: ErrBadSegment, wantMsg: "not in ascending order"},
		{name: "overlapping", mut: func(ti *testImage) { ti.Phdrs[phData].Vaddr = tTextVaddr }, want: ErrBadSegment, wantMsg: "e_end"},
		{name: "align 0", mut: func(ti *testImage) { ti.Phdrs[phText].Align = 0 }, want: ErrBadSegment},
		{name: "align not power of 2", mut: func(ti *testImage) { ti.Phdrs[phData].Align = 0x3000 }, want: ErrBadSegment},
		{name: "align_down below 1 MiB", mut: func(ti *testImage) { ti.Phdrs[phText].Align = 0x200000 }, want: ErrBadSegment, wantMsg: "p_min_loadaddr"},
		{name: "vaddr at mem", mut: func(ti *testImage) { ti.Phdrs[phData].Vaddr = mem }, want: ErrBadSegment, wantMsg: "program file segment falls outside"},
		{name: "filesz past mem", mut: func(ti *testImage) { ti.Phdrs[phData].Filesz = mem }, want: ErrBadSegment, wantMsg: "program file segment falls outside"},
		{name: "vaddr+filesz overflow", mut: func(ti *testImage) { ti.Phdrs[phData].Filesz = ^uint64(0) - 0x1000 }, want: ErrBadSegment, wantMsg: "overflow"},
		{name: "filesz > memsz", mut: func(ti *testImage) { ti.Phdrs[phData].Memsz = tDataFile - 1 }, want: ErrBadSegment, wantMsg: "p_memsz"},
		{name: "vaddr+memsz overflow", mut: func(ti *testImage) { ti.Phdrs[phData].Memsz = ^uint64(0) - 0x1000 }, want: ErrBadSegment, wantMsg: "overflow"},
		{name: "align_up overflow", mut: func(ti *testImage) { ti.Phdrs[phData].Memsz = ^uint64(0) - tDataVaddr - 2 }, want: ErrBadSegment, wantMsg: "align_up"},
		{name: "file bytes past EOF", mut: func(ti *testImage) { ti.Phdrs[phData].Offset = 1 << 24 }, want: ErrBadSegment, wantMsg: "host file segment mismatched"},
		{name: "file offset overflow", mut: func(ti *testImage) { ti.Phdrs[phData].Offset = ^uint64(0) - 10 }, want: ErrBadSegment},
		{name: "start not page aligned", mut: func(ti *testImage) {
			ti.Phdrs[phData].Vaddr += 0x10
			ti.Phdrs[phData].Align = 0x10
		}, want: ErrBadSegment, wantMsg: "p_vaddr_start not aligned"},
		{name: "end not page aligned", mut: func(ti *testImage) { ti.Phdrs[phData].Memsz = 0x1010; ti.Phdrs[phData].Align = 0x10 },
			want: ErrBadSegment, wantMsg: "p_vaddr_end not aligned"},
		{name: "W+X", mut: func(ti *testImage) { ti.Phdrs[phText].Flags |= elf.PF_W }, want: ErrBadSegment, wantMsg: "requests WRITE and EXEC permissions"},
		{name: "W+X without R", mut: func(ti *testImage) { ti.Phdrs[phData].Flags = elf.PF_W | elf.PF_X }, want: ErrBadSegment, wantMsg: "WRITE and EXEC"},
		// Empty PT_LOADs are skipped entirely, wherever they are.
		{name: "empty PT_LOAD anywhere", mut: func(ti *testImage) {
			ti.Phdrs[phTData] = tPhdr{Type: elf.PT_LOAD, Flags: elf.PF_W | elf.PF_X, Vaddr: ^uint64(0), Memsz: ^uint64(0)}
		}},
		{name: "BSS-only past mem", mut: func(ti *testImage) { ti.Phdrs[phBSS].Vaddr = 1 << 40 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := buildImage(tt.mut)
			img, err := parseBytes(file)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			size := tt.mem
			if size == 0 {
				size = mem
			}
			m := newGuardedMem(size)
			err = img.Load(bytes.NewReader(file), m.mem)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				m.checkLoaded(t, img, file)
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Load error = %v, want %v", err, tt.want)
			}
			if tt.wantMsg != "" && !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if !strings.HasPrefix(err.Error(), "invalid executable") {
				t.Errorf("error %q lacks Solo5's prefix", err)
			}
			m.checkUntouched(t)
			if cerr := img.Check(uint64(size)); cerr == nil || cerr.Error() != err.Error() {
				t.Errorf("Check = %v, Load = %v", cerr, err)
			}
		})
	}
}

// TestLoadShortRead: a reader shorter than the file Parse saw fails Load
// with ErrBadSegment.
func TestLoadShortRead(t *testing.T) {
	file := buildImage(nil)
	img, err := parseBytes(file)
	if err != nil {
		t.Fatal(err)
	}
	m := newGuardedMem(testMemSmall)
	err = img.Load(bytes.NewReader(file[:len(file)-1]), m.mem)
	if !errors.Is(err, ErrBadSegment) {
		t.Fatalf("err = %v", err)
	}
}

// guardedMem is guest memory with guard bytes on both sides, prefilled with
// a marker, so tests can see every byte Load wrote.
type guardedMem struct {
	all    []byte // guard, mem, guard
	mem    []byte
	marker []byte // len(all) marker bytes
	// skipLow skips checking mem[:GuestMinBase-PageSize], where no segment
	// can be; the fuzz target sets it on most iterations for speed.
	skipLow bool
}

const (
	guardSize = 4096
	memMarker = 0xa5
)

func newGuardedMem(size int) *guardedMem {
	all := bytes.Repeat([]byte{memMarker}, size+2*guardSize)
	return &guardedMem{
		all:    all,
		mem:    all[guardSize : guardSize+size : guardSize+size],
		marker: bytes.Repeat([]byte{memMarker}, len(all)),
	}
}

// firstChange reports the first byte of all[from:to] that is not the marker.
func (g *guardedMem) firstChange(t *testing.T, from, to int) {
	t.Helper()
	const lowEnd = guardSize + GuestMinBase - PageSize
	if g.skipLow && from < lowEnd && to > guardSize {
		if from < guardSize {
			g.compare(t, from, guardSize)
		}
		from = max(from, lowEnd)
		if from >= to {
			return
		}
	}
	g.compare(t, from, to)
}

func (g *guardedMem) compare(t *testing.T, from, to int) {
	t.Helper()
	if bytes.Equal(g.all[from:to], g.marker[from:to]) {
		return
	}
	for j := from; j < to; j++ {
		if g.all[j] != memMarker {
			t.Fatalf("byte at GPA %#x changed to %#x", j-guardSize, g.all[j])
		}
	}
}

// checkUntouched verifies that nothing, guards included, was written.
func (g *guardedMem) checkUntouched(t *testing.T) {
	t.Helper()
	g.firstChange(t, 0, len(g.all))
}

// checkLoaded verifies that memory holds the file bytes in each segment,
// zeroes in the segment tails, and the marker everywhere else. Load
// succeeded, so the segments are ascending, disjoint and inside mem.
// It then restores the marker, so g can be reused.
func (g *guardedMem) checkLoaded(t *testing.T, img *Image, file []byte) {
	t.Helper()
	prev := 0
	for _, s := range img.Segments {
		v := guardSize + int(s.Vaddr)
		f, m := v+int(s.Filesz), v+int(s.Memsz)
		g.firstChange(t, prev, v)
		if !bytes.Equal(g.all[v:f], file[s.Offset:s.Offset+s.Filesz]) {
			t.Fatalf("segment at %#x: file bytes not copied", s.Vaddr)
		}
		for j := f; j < m; j++ {
			if g.all[j] != 0 {
				t.Fatalf("segment at %#x: tail byte at GPA %#x = %#x, want 0", s.Vaddr, j-guardSize, g.all[j])
			}
		}
		copy(g.all[v:m], g.marker)
		prev = m
	}
	g.firstChange(t, prev, len(g.all))
}

func TestLoadCopiesAndZeroes(t *testing.T) {
	file := buildImage(nil)
	img, err := parseBytes(file)
	if err != nil {
		t.Fatal(err)
	}
	m := newGuardedMem(testMemSmall)
	if err := img.Load(bytes.NewReader(file), m.mem); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(m.mem[tTextVaddr:tTextVaddr+tTextSize], pattern(tTextSize, 1)) {
		t.Error("text not copied")
	}
	if !bytes.Equal(m.mem[tDataVaddr+tDataFile:tDataVaddr+tDataMem], make([]byte, tDataMem-tDataFile)) {
		t.Error("data tail not zeroed")
	}
	m.checkLoaded(t, img, file)
	// The BSS-only segment is not touched (guest RAM is zero-filled anyway).
	if m.mem[tBSSVaddr] != memMarker {
		t.Error("BSS-only segment written")
	}
}

// TestSegmentFlags checks the p_flags predicates, with debug/elf's values
// as the reference for ours.
func TestSegmentFlags(t *testing.T) {
	for _, tt := range []struct {
		f       elf.ProgFlag
		r, w, x bool
	}{
		{0, false, false, false},
		{elf.PF_R, true, false, false},
		{elf.PF_W, false, true, false},
		{elf.PF_X, false, false, true},
		{elf.PF_R | elf.PF_W | elf.PF_X, true, true, true},
	} {
		s := Segment{Flags: SegmentFlags(tt.f)}
		if s.Readable() != tt.r || s.Writable() != tt.w || s.Executable() != tt.x {
			t.Errorf("%v: Readable=%v Writable=%v Executable=%v", tt.f, s.Readable(), s.Writable(), s.Executable())
		}
	}
}
