package hvt

import (
	"encoding/binary"
	"fmt"
	"io"
)

// NoteType is the n_type of a Solo5 ELF note.
type NoteType uint32

// The Solo5 note types the loader reads.
const (
	// NoteABI ("ABI1") carries an ABINote.
	NoteABI NoteType = 0x31494241
	// NoteManifest ("MFT1") carries the device manifest.
	NoteManifest NoteType = 0x3154464d
)

// String returns "ABI1", "MFT1" or the type in hex.
func (t NoteType) String() string {
	switch t {
	case NoteABI:
		return "ABI1"
	case NoteManifest:
		return "MFT1"
	}
	return fmt.Sprintf("note type 0x%x", uint32(t))
}

// Note layout and limits, as the Solo5 tender applies them.
const (
	// ABINoteAlign is the alignment of the ABI1 descriptor (no padding).
	ABINoteAlign = 4
	// ABIMaxDesc is the largest n_descsz accepted for an ABI1 note.
	ABIMaxDesc = 32
	// ManifestNoteAlign is the alignment of the MFT1 descriptor: the
	// manifest starts 4 pad bytes after the 20-byte note header.
	ManifestNoteAlign = 8
	// ManifestMaxDesc is the largest n_descsz accepted for an MFT1 note:
	// 4 pad bytes plus a manifest of MaxManifestEntries entries.
	ManifestMaxDesc = 4 + manifestHeaderSize + MaxManifestEntries*ManifestEntrySize

	noteHeaderSize = 12 // n_namesz, n_descsz, n_type
	solo5NoteHead  = 20 // header plus the 8-byte name field "Solo5\0\0\0"
	noteMaxAlign   = 1 << 12
)

// ABINote is the descriptor of the ABI1 note: the Solo5 target the image was
// built for and the ABI version it requests.
type ABINote struct {
	Target  uint32 // abi_target: ABITargetHVT for hvt images
	Version uint32 // abi_version: ABIVersion
}

// decodeABINote decodes an ABI1 descriptor. A descriptor shorter than the two
// fields reads the missing bytes as zero (Solo5 would read past its buffer).
func decodeABINote(desc []byte) ABINote {
	var b [8]byte
	copy(b[:], desc)
	return ABINote{
		Target:  binary.LittleEndian.Uint32(b[0:]),
		Version: binary.LittleEndian.Uint32(b[4:]),
	}
}

// ReadNote returns the descriptor of the first Solo5 note of type t in the
// ELF executable of size bytes read from r, checked as Solo5's elf_load_note
// checks it. The ELF header must pass Parse's checks (else ErrBadELF). Each
// PT_NOTE holds at most one note that is looked at, at its start:
//   - p_filesz < 12 rejects the executable (ErrBadNote);
//   - p_filesz < 20 skips the PT_NOTE;
//   - the note is skipped unless n_namesz == 6, the name is "Solo5" and
//     n_type == t;
//   - n_descsz must be in [1, maxDesc] and p_filesz >= 20+n_descsz;
//   - the descriptor starts at align_up(20, descAlign) from the note start
//     and is n_descsz minus that padding long, which must be > 0
//     ("note does not fall within valid size").
//
// Malformed notes give ErrBadNote; no matching note gives ErrNoNote. descAlign
// must be a power of two no larger than 4096. The returned slice has at most
// min(maxDesc, size) bytes. An image already parsed answers the same
// question without reading the file again: Image.Note.
func ReadNote(r io.ReaderAt, size int64, t NoteType, descAlign, maxDesc int) ([]byte, error) {
	return ReadOwnerNote(r, size, solo5Owner, t, descAlign, maxDesc)
}

// solo5Owner is the note name of Solo5's notes.
const solo5Owner = "Solo5"

// ReadOwnerNote is ReadNote for notes of another owner (n_name), such as
// uaaf's "UAAF" notes. The owner's name, NUL included, must pad to 8 bytes
// like Solo5's (a name of 4 to 7 characters), so the same layout rules apply.
func ReadOwnerNote(r io.ReaderAt, size int64, owner string, t NoteType, descAlign, maxDesc int) ([]byte, error) {
	f, err := readELF(r, size)
	if err != nil {
		return nil, err
	}
	return lookupNote(collectNotes(r, size, f), owner, t, descAlign, maxDesc)
}

// Note returns the descriptor of the image's first note of owner and type
// t, with ReadOwnerNote's rules (owner "Solo5" for Solo5's own notes), from
// what Parse collected: the file is not read again.
func (img *Image) Note(owner string, t NoteType, descAlign, maxDesc int) ([]byte, error) {
	return lookupNote(img.notes, owner, t, descAlign, maxDesc)
}

// Limits on what collectNotes keeps, so a hostile image cannot make Parse
// allocate much more than its notes: a descriptor longer than
// maxCollectedDesc, or one beyond maxCollectedBytes in all, is not read, and
// asking for it is an error. Every note uaaf or Solo5 defines is far
// smaller (the largest, UaaF's imports, is 256 KiB + 16).
const (
	maxCollectedDesc  = 1 << 20
	maxCollectedBytes = 4 << 20
)

// pNote is what Parse keeps of one PT_NOTE: the program header and the note
// at its start, read once.
type pNote struct {
	phdr   int
	offset uint64 // p_offset
	filesz uint64 // p_filesz
	size   int64  // the file's size, for messages
	head   [solo5NoteHead]byte
	// headErr says why the head could not be read, descErr why the
	// descriptor was not; desc is n_descsz bytes from the end of the head.
	headErr, descErr error
	desc             []byte
}

// collectNotes reads the note at the start of every PT_NOTE of f: its
// 20-byte head and, when it lies inside the file and within the limits
// above, its descriptor. Nothing is judged yet: lookupNote applies the
// rules, in program-header order, to the notes a caller asks for.
func collectNotes(r io.ReaderAt, size int64, f *elfFile) []pNote {
	var notes []pNote
	total := 0
	for i, p := range f.progs {
		if p.typ != ptNote {
			continue
		}
		n := pNote{phdr: i, offset: p.offset, filesz: p.filesz, size: size}
		if p.filesz >= solo5NoteHead {
			n.readHead(r)
		}
		if n.headErr == nil && p.filesz >= solo5NoteHead {
			descsz := uint64(binary.LittleEndian.Uint32(n.head[4:]))
			start := p.offset + solo5NoteHead // p.offset+20 cannot wrap: the head is in the file
			switch {
			case descsz == 0 || p.filesz < solo5NoteHead+descsz || !within(start, descsz, size):
				// lookupNote rejects it before it needs the bytes.
			case descsz > maxCollectedDesc || total+int(descsz) > maxCollectedBytes:
				n.descErr = loadErr(ErrBadNote, "%s: phdr[%d] note of %d bytes is beyond the %d bytes of notes uaaf reads",
					invExe, i, descsz, maxCollectedBytes)
			default:
				n.desc = make([]byte, descsz)
				if err := readFull(r, n.desc, start); err != nil {
					n.desc, n.descErr = nil, ioErr(ErrBadNote, err, "phdr[%d] cannot read note descriptor", i)
				}
				total += int(descsz)
			}
		}
		notes = append(notes, n)
	}
	return notes
}

// readHead reads the note header at the start of the PT_NOTE.
func (n *pNote) readHead(r io.ReaderAt) {
	if !within(n.offset, solo5NoteHead, n.size) {
		n.headErr = loadErr(ErrBadNote, "%s: phdr[%d] note header at offset %d is outside the file (%d bytes)",
			invExe, n.phdr, n.offset, n.size)
		return
	}
	if err := readFull(r, n.head[:], n.offset); err != nil {
		n.headErr = ioErr(ErrBadNote, err, "phdr[%d] cannot read note header", n.phdr)
	}
}

// lookupNote applies Solo5's note rules (see ReadNote) to the collected
// notes, in program-header order, for the first note of owner and type t.
func lookupNote(notes []pNote, owner string, t NoteType, descAlign, maxDesc int) ([]byte, error) {
	if len(owner) < 4 || len(owner) > 7 {
		return nil, loadErr(ErrBadNote, "note owner %q must be 4 to 7 bytes long", owner)
	}
	if descAlign <= 0 || descAlign > noteMaxAlign || descAlign&(descAlign-1) != 0 {
		return nil, loadErr(ErrBadNote, "note alignment %d is not a power of 2 <= %d", descAlign, noteMaxAlign)
	}
	le := binary.LittleEndian
	for _, n := range notes {
		i := n.phdr
		if n.filesz < noteHeaderSize {
			return nil, loadErr(ErrBadNote, "%s: phdr[%d].p_filesz note does not fall within valid size (%d < %d)",
				invExe, i, n.filesz, noteHeaderSize)
		}
		if n.filesz < solo5NoteHead {
			continue
		}
		if n.headErr != nil {
			return nil, n.headErr
		}
		h := n.head
		namesz, descsz, typ := le.Uint32(h[0:]), le.Uint32(h[4:]), NoteType(le.Uint32(h[8:]))
		if namesz != uint32(len(owner)+1) || string(h[12:12+len(owner)+1]) != owner+"\x00" || typ != t {
			continue
		}
		if descsz < 1 || maxDesc < 1 || uint64(descsz) > uint64(maxDesc) {
			return nil, loadErr(ErrBadNote, "%s: phdr[%d] note does not fall within valid size (%d < 1 || %d > %d)",
				invExe, i, descsz, descsz, maxDesc)
		}
		if n.filesz < solo5NoteHead+uint64(descsz) {
			return nil, loadErr(ErrBadNote, "%s: phdr[%d] note does not fall within valid size (%d < %d)",
				invExe, i, n.filesz, solo5NoteHead+uint64(descsz))
		}
		off, _ := alignUp(solo5NoteHead, uint64(descAlign)) // cannot overflow
		pad := off - solo5NoteHead
		if uint64(descsz) <= pad {
			return nil, loadErr(ErrBadNote, "%s: phdr[%d] note does not fall within valid size (%d bytes of padding in a %d-byte descriptor)",
				invExe, i, pad, descsz)
		}
		if n.descErr != nil {
			return nil, n.descErr
		}
		if n.desc == nil {
			return nil, loadErr(ErrBadNote, "%s: phdr[%d] note does not fall within the file (%d bytes at offset %d+%d, file is %d bytes)",
				invExe, i, uint64(descsz)-pad, n.offset, off, n.size)
		}
		return n.desc[pad:], nil
	}
	return nil, loadErr(ErrNoNote, "no %s %v note found in executable", owner, t)
}
