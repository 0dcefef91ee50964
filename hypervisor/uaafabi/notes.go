package uaafabi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/uaaf/uaaf/hypervisor/hvt"
)

// Note identification: owner "UAAF", 4-byte aligned descriptors.
const (
	NoteOwner                  = "UAAF"
	NoteExports   hvt.NoteType = 0x50584555 // "UEXP"
	NoteImports   hvt.NoteType = 0x504d4955 // "UIMP"
	NoteVersion                = 1
	noteAlign                  = 4
	noteHdrSize                = 16
	EntrySize                  = 64
	ExportNameMax              = 60 // NUL included
	LibNameMax                 = 32 // NUL included
	FnNameMax                  = 32 // NUL included
	MaxExports                 = 256
	MaxImports                 = 4096
	BindingSize                = 8 // struct uaaf_binding
)

// Export is one exported function of a library image.
type Export struct {
	Name string
	Addr uint64 // entry address in the library's view
}

// Import is one function a session image imports.
type Import struct {
	Lib, Fn string
}

// Notes are an image's UaaF notes. An image without them (any Solo5-built
// image) has none of either and runs as a plain hvt guest.
type Notes struct {
	Exports  []Export
	Imports  []Import
	Bindings uint64 // GPA of the session's binding array (imports only)
}

// IsLibrary reports whether the image exports functions.
func (n *Notes) IsLibrary() bool { return len(n.Exports) > 0 }

// IsSession reports whether the image imports functions.
func (n *Notes) IsSession() bool { return len(n.Imports) > 0 }

// NotesOf decodes and validates the UaaF notes of a parsed hvt image (the
// notes hvt.Parse collected: the file is not read again). Missing notes are
// not an error. An image may not both export and import. Errors wrap
// ErrBadNote.
func NotesOf(img *hvt.Image) (*Notes, error) {
	n := &Notes{}
	desc, err := img.Note(NoteOwner, NoteExports, noteAlign, noteHdrSize+EntrySize*MaxExports)
	switch {
	case errors.Is(err, hvt.ErrNoNote):
	case err != nil:
		return nil, fmt.Errorf("%w: exports: %w", ErrBadNote, err)
	default:
		if n.Exports, err = parseExports(desc); err != nil {
			return nil, err
		}
	}
	desc, err = img.Note(NoteOwner, NoteImports, noteAlign, noteHdrSize+EntrySize*MaxImports)
	switch {
	case errors.Is(err, hvt.ErrNoNote):
	case err != nil:
		return nil, fmt.Errorf("%w: imports: %w", ErrBadNote, err)
	default:
		if n.Imports, n.Bindings, err = parseImports(desc); err != nil {
			return nil, err
		}
	}
	if n.IsLibrary() && n.IsSession() {
		return nil, fmt.Errorf("%w: an image may export or import functions, not both", ErrBadNote)
	}
	return n, nil
}

// noteHeader checks a UaaF note descriptor's header and returns its count
// and the header's fourth word.
func noteHeader(desc []byte, what string, max int) (count int, word3 uint32, err error) {
	if len(desc) < noteHdrSize {
		return 0, 0, fmt.Errorf("%w: %s note: %d-byte descriptor", ErrBadNote, what, len(desc))
	}
	le := binary.LittleEndian
	version, cnt, esize := le.Uint32(desc[0:]), le.Uint32(desc[4:]), le.Uint32(desc[8:])
	if version != NoteVersion {
		return 0, 0, fmt.Errorf("%w: %s note: version %d, want %d", ErrBadNote, what, version, NoteVersion)
	}
	if esize != EntrySize {
		return 0, 0, fmt.Errorf("%w: %s note: entry size %d, want %d", ErrBadNote, what, esize, EntrySize)
	}
	if cnt > uint32(max) {
		return 0, 0, fmt.Errorf("%w: %s note: %d entries, at most %d", ErrBadNote, what, cnt, max)
	}
	if uint64(len(desc)) != noteHdrSize+uint64(cnt)*EntrySize {
		return 0, 0, fmt.Errorf("%w: %s note: %d entries do not fill a %d-byte descriptor", ErrBadNote, what, cnt, len(desc))
	}
	return int(cnt), le.Uint32(desc[12:]), nil
}

func parseExports(desc []byte) ([]Export, error) {
	count, _, err := noteHeader(desc, "exports", MaxExports)
	if err != nil {
		return nil, err
	}
	out := make([]Export, 0, count)
	seen := map[string]bool{}
	for i := 0; i < count; i++ {
		e := desc[noteHdrSize+i*EntrySize:][:EntrySize]
		name, err := cName(e[:ExportNameMax], "export", i)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("%w: export %q listed twice", ErrBadNote, name)
		}
		seen[name] = true
		out = append(out, Export{Name: name, Addr: uint64(binary.LittleEndian.Uint32(e[ExportNameMax:]))})
	}
	return out, nil
}

func parseImports(desc []byte) ([]Import, uint64, error) {
	count, bindings, err := noteHeader(desc, "imports", MaxImports)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Import, 0, count)
	for i := 0; i < count; i++ {
		e := desc[noteHdrSize+i*EntrySize:][:EntrySize]
		lib, err := cName(e[:LibNameMax], "import library", i)
		if err != nil {
			return nil, 0, err
		}
		fn, err := cName(e[LibNameMax:], "import function", i)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, Import{Lib: lib, Fn: fn})
	}
	if count > 0 && bindings == 0 {
		return nil, 0, fmt.Errorf("%w: imports note has no binding array", ErrBadNote)
	}
	return out, uint64(bindings), nil
}

// cName decodes a NUL-terminated identifier ([A-Za-z0-9_], non-empty) from a
// fixed-size field.
func cName(field []byte, what string, i int) (string, error) {
	n := bytes.IndexByte(field, 0)
	if n <= 0 {
		return "", fmt.Errorf("%w: %s %d: name empty or not NUL-terminated", ErrBadNote, what, i)
	}
	name := string(field[:n])
	if !ValidName(name) {
		return "", fmt.Errorf("%w: %s %d: name %q is not an identifier", ErrBadNote, what, i, name)
	}
	return name, nil
}

// ValidName reports whether s can name a library or function: ASCII letters,
// digits and underscores, not starting with a digit.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Check validates the notes against the image's segments and the guest
// memory size: every export must point into an executable segment, and the
// binding array must lie in writable image memory, above hvt.GuestMinBase
// and inside guest memory.
func (n *Notes) Check(img *hvt.Image, memSize uint64) error {
	inSeg := func(addr, size uint64, want func(hvt.Segment) bool) bool {
		for _, s := range img.Segments {
			end := addr + size
			if want(s) && addr >= s.Vaddr && end >= addr && end <= s.Vaddr+s.Memsz {
				return true
			}
		}
		// BSS-only segments are not in Segments; accept the image's writable
		// tail up to End for the binding array.
		return false
	}
	for _, e := range n.Exports {
		if !inSeg(e.Addr, 1, hvt.Segment.Executable) {
			return fmt.Errorf("%w: export %q at %#x is not in an executable segment", ErrBadNote, e.Name, e.Addr)
		}
	}
	if len(n.Imports) > 0 {
		size := uint64(len(n.Imports)) * BindingSize
		end := n.Bindings + size
		ok := inSeg(n.Bindings, size, hvt.Segment.Writable)
		if !ok && n.Bindings >= img.KernelEnd && end <= img.End && end > n.Bindings {
			ok = true // in .bss, past the last segment with file contents
		}
		if ok && (n.Bindings < hvt.GuestMinBase || end < n.Bindings || end > memSize) {
			ok = false // img.End counts BSS-only segments nothing checked against memory
		}
		if !ok {
			return fmt.Errorf("%w: binding array at %#x (%d bytes) is not in writable image memory", ErrBadNote, n.Bindings, size)
		}
	}
	return nil
}

// ErrBadNote: a UaaF note is malformed or inconsistent with the image.
var ErrBadNote = errors.New("uaafabi: invalid UaaF note")
