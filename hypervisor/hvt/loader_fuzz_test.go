package hvt

import (
	"bytes"
	"debug/elf"
	"errors"
	"testing"
)

// loaderSentinels are the errors Parse, Check and Load may return.
var loaderSentinels = []error{
	ErrBadELF, ErrBadNote, ErrNoABINote, ErrWrongTarget, ErrABIVersion,
	ErrNoManifest, ErrBadManifest, ErrBadSegment,
}

func isOneOf(err error, sentinels ...error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// seedImages are builder-made images for the fuzz corpora: the good image
// and a few near misses that keep the notes intact.
func seedImages() [][]byte {
	return [][]byte{
		buildImage(nil),
		buildImage(func(ti *testImage) { ti.Phdrs[phData].Filesz = tDataMem }),
		buildImage(func(ti *testImage) { ti.Phdrs[phText].Flags |= elf.PF_W }),
		buildImage(func(ti *testImage) { ti.Phdrs[phData].Vaddr = tTextVaddr }),
		buildImage(func(ti *testImage) { ti.Phdrs[phData].Align = 0x10; ti.Phdrs[phData].Memsz = 0x1010 }),
		buildImage(func(ti *testImage) { ti.Data[phMFT] = noteBytes("Solo5", uint32(NoteManifest), 4, nil); ti.layout() }),
		buildImage(func(ti *testImage) { ti.Phdrs[phABI].Filesz = 11 }),
	}
}

// fuzzMem is reused across fuzz iterations (they run sequentially);
// fuzzMemDirty says an iteration failed and left it unrestored.
// Only every fuzzFullCheck-th iteration checks the low MiB of fuzzMem.
var (
	fuzzMem      *guardedMem
	fuzzMemDirty bool
	fuzzIter     int
)

const fuzzFullCheck = 64

// FuzzParse: Parse never panics on any file; its errors wrap a loader sentinel;
// an accepted image is an hvt image whose Load writes only its segments into
// guarded guest memory.
func FuzzParse(f *testing.F) {
	for _, s := range seedImages() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := parseBytes(data)
		if err != nil {
			if !isOneOf(err, loaderSentinels...) {
				t.Fatalf("Parse error %v wraps no sentinel", err)
			}
			return
		}
		if img.Manifest == nil || img.ABI.Target != ABITargetHVT || img.ABI.Version != ABIVersion {
			t.Fatalf("Parse accepted %+v", img)
		}
		for _, s := range img.Segments {
			if s.Filesz == 0 {
				t.Fatalf("empty segment listed: %+v", s)
			}
		}
		for _, size := range []uint64{0, GuestMinBase, 1 << 21, MaxMemory, ^uint64(0)} {
			if err := img.Check(size); err != nil && !isOneOf(err, ErrBadELF, ErrBadSegment) {
				t.Fatalf("Check(%#x) error %v wraps no sentinel", size, err)
			}
		}
		if fuzzMem == nil || fuzzMemDirty {
			fuzzMem = newGuardedMem(testMemSmall)
		}
		m := fuzzMem // checkLoaded leaves it all marker again
		fuzzMemDirty = true
		fuzzIter++
		m.skipLow = fuzzIter%fuzzFullCheck != 0
		defer func() { fuzzMemDirty = t.Failed() }()
		err = img.Load(bytes.NewReader(data), m.mem)
		if err != nil {
			if !isOneOf(err, ErrBadELF, ErrBadSegment) {
				t.Fatalf("Load error %v wraps no sentinel", err)
			}
			m.checkUntouched(t)
			return
		}
		if img.KernelEnd > uint64(len(m.mem)) || img.Entry >= uint64(len(m.mem)) || img.Entry < GuestMinBase {
			t.Fatalf("Load accepted KernelEnd %#x Entry %#x", img.KernelEnd, img.Entry)
		}
		m.checkLoaded(t, img, data)
	})
}

// FuzzReadNote: ReadNote never panics; it returns a sentinel error or a
// descriptor of 1..maxDesc bytes taken from the file.
func FuzzReadNote(f *testing.F) {
	for _, s := range seedImages() {
		f.Add(s, uint32(NoteABI), uint16(ABINoteAlign), uint16(ABIMaxDesc))
		f.Add(s, uint32(NoteManifest), uint16(ManifestNoteAlign), uint16(ManifestMaxDesc))
	}
	f.Fuzz(func(t *testing.T, data []byte, typ uint32, align, maxDesc uint16) {
		desc, err := ReadNote(bytes.NewReader(data), int64(len(data)), NoteType(typ), int(align), int(maxDesc))
		if err != nil {
			if !isOneOf(err, ErrBadELF, ErrBadNote, ErrNoNote) {
				t.Fatalf("ReadNote error %v wraps no sentinel", err)
			}
			return
		}
		if len(desc) < 1 || len(desc) > int(maxDesc) || len(desc) > len(data) {
			t.Fatalf("ReadNote returned %d bytes (maxDesc %d, file %d)", len(desc), maxDesc, len(data))
		}
		if !bytes.Contains(data, desc) {
			t.Fatalf("descriptor is not from the file")
		}
	})
}

// FuzzParseManifest: ParseManifest never panics; what it accepts re-encodes
// to the same bytes, with valid entries that Lookup finds, also after the
// host fields are filled.
func FuzzParseManifest(f *testing.F) {
	f.Add(stdMft())
	f.Add(mftDesc(tMftEntry{"", 0x40000000}))
	f.Add(mftDesc(tMftEntry{"", 0x40000000}, tMftEntry{"a", 1}, tMftEntry{"a", 2}, tMftEntry{"b", 7}))
	f.Add(stdMft()[:100])
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(data)
		if err != nil {
			if !errors.Is(err, ErrBadManifest) {
				t.Fatalf("error %v is not ErrBadManifest", err)
			}
			return
		}
		n := len(m.Entries)
		if n < 1 || n > MaxManifestEntries || m.Entries[0].Type != DeviceReservedFirst || m.Entries[0].Name != "" {
			t.Fatalf("accepted %v", m)
		}
		if enc := m.Encode(); !bytes.Equal(enc, data) {
			t.Fatalf("Encode(ParseManifest(x)) != x\n got %x\nwant %x", enc, data)
		}
		for i, e := range m.Entries {
			if e.Attached || len(e.Name) > ManifestNameMax {
				t.Fatalf("entry %d = %+v", i, e)
			}
			if j, ok := m.Lookup(e.Name, e.Type); !ok || j > i || m.Entries[j].Name != e.Name {
				t.Fatalf("Lookup(%q, %v) = %d, %v", e.Name, e.Type, j, ok)
			}
		}
		// Filling the host fields survives an encode/decode.
		for i := range m.Entries {
			e := &m.Entries[i]
			e.HostFD, e.Attached = int32(i), true
			switch e.Type {
			case DeviceBlock:
				e.Capacity, e.BlockSize = uint64(i)<<20, 512
			case DeviceNet:
				e.MAC, e.MTU = [6]byte{2, byte(i)}, 1500
			}
		}
		enc := m.Encode()
		if len(enc) != len(data) {
			t.Fatalf("Encode length %d != %d", len(enc), len(data))
		}
		for i, want := range m.Entries {
			if got := decodeEntry(enc[8+i*ManifestEntrySize:][:ManifestEntrySize]); got != want {
				t.Fatalf("entry %d decodes as %+v, want %+v", i, got, want)
			}
		}
	})
}
