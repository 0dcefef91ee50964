package hvt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func readNoteBytes(b []byte, typ NoteType, align, maxDesc int) ([]byte, error) {
	return ReadNote(bytes.NewReader(b), int64(len(b)), typ, align, maxDesc)
}

func TestReadNote(t *testing.T) {
	file := buildImage(nil)
	desc, err := readNoteBytes(file, NoteABI, ABINoteAlign, ABIMaxDesc)
	if err != nil || !bytes.Equal(desc, abiDesc(1, 2)) {
		t.Fatalf("ABI1 = %x, %v", desc, err)
	}
	desc, err = readNoteBytes(file, NoteManifest, ManifestNoteAlign, ManifestMaxDesc)
	if err != nil || !bytes.Equal(desc, stdMft()) {
		t.Fatalf("MFT1 = %x, %v", desc, err)
	}
	if _, err := readNoteBytes(file, 0x12345678, 4, 32); !errors.Is(err, ErrNoNote) {
		t.Errorf("missing note: %v", err)
	}
	// Alignment 1 and 4 give no padding: the descriptor starts at 20.
	desc, err = readNoteBytes(file, NoteManifest, 1, ManifestMaxDesc)
	if err != nil || len(desc) != len(stdMft())+4 || !bytes.Equal(desc[4:], stdMft()) {
		t.Errorf("MFT1 align 1 = %d bytes, %v", len(desc), err)
	}
	// maxDesc is enforced.
	if _, err := readNoteBytes(file, NoteABI, 4, 15); !errors.Is(err, ErrBadNote) ||
		!strings.Contains(err.Error(), "note does not fall within valid size") {
		t.Errorf("maxDesc 15: %v", err)
	}
	for _, align := range []int{0, -4, 3, 12, 1 << 13} {
		if _, err := readNoteBytes(file, NoteABI, align, 32); !errors.Is(err, ErrBadNote) {
			t.Errorf("align %d: %v", align, err)
		}
	}
	for _, maxDesc := range []int{0, -1} {
		if _, err := readNoteBytes(file, NoteABI, 4, maxDesc); !errors.Is(err, ErrBadNote) {
			t.Errorf("maxDesc %d: %v", maxDesc, err)
		}
	}
	if _, err := readNoteBytes(file[:40], NoteABI, 4, 32); !errors.Is(err, ErrBadELF) {
		t.Errorf("truncated ELF: %v", err)
	}
	// The first matching PT_NOTE wins; a later one is not looked at.
	two := buildImage(func(ti *testImage) {
		ti.Data[phMFT] = noteBytes("Solo5", uint32(NoteABI), 0, abiDesc(1, 9))
	})
	if desc, err := readNoteBytes(two, NoteABI, 4, 32); err != nil || !bytes.Equal(desc, abiDesc(1, 2)) {
		t.Errorf("first note: %x, %v", desc, err)
	}
}

// TestReadNoteTruncatedDescriptor: the note header is in the file but its
// descriptor is not.
func TestReadNoteTruncatedDescriptor(t *testing.T) {
	ti := goodImage()
	ti.Phdrs = ti.Phdrs[:phABI+1]
	ti.Data = ti.Data[:phABI+1]
	ti.layout()
	b := ti.bytes()
	b = b[:len(b)-4] // the ABI note is the last thing in the file
	if _, err := readNoteBytes(b, NoteABI, 4, 32); !errors.Is(err, ErrBadNote) {
		t.Errorf("err = %v, want ErrBadNote", err)
	}
}
