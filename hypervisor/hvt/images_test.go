package hvt

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// imageGlobs are where the project's own built hvt images are: test guests,
// sessions and libraries (`make guest`). Solo5's test images are added when
// SOLO5_TESTS points at a Solo5 build's tests/ directory.
var imageGlobs = []string{
	"../../guest/build/*.hvt",
	"../../libfuncs/build/*.hvt",
}

// TestRealImages parses and loads every hvt image found, and cross-checks
// the program headers with debug/elf. Solo5's buggyelf.hvt must be rejected
// with Solo5's message.
func TestRealImages(t *testing.T) {
	globs := imageGlobs
	if dir := os.Getenv("SOLO5_TESTS"); dir != "" {
		globs = append(globs, filepath.Join(dir, "*", "*.hvt"))
	}
	var files []string
	for _, g := range globs {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) == 0 {
		// make test builds the images first: there, none is a failure.
		if kvmtest.Required() {
			t.Fatal("no built hvt images found: run `make guest`")
		}
		t.Skip("no built hvt images found: run `make guest`")
	}
	const memSize = 64 << 20
	mem := make([]byte, memSize)
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			fd, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer fd.Close()
			st, err := fd.Stat()
			if err != nil {
				t.Fatal(err)
			}
			img, err := Parse(fd, st.Size())
			if strings.Contains(path, "buggyelf") {
				if !errors.Is(err, ErrBadNote) || !strings.Contains(err.Error(), "note does not fall within valid size") {
					t.Fatalf("buggyelf: err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			clear(mem)
			if err := img.Load(fd, mem); err != nil {
				t.Fatalf("Load: %v", err)
			}
			t.Logf("entry %#x kernel_end %#x end %#x segments %d manifest entries %d",
				img.Entry, img.KernelEnd, img.End, len(img.Segments), len(img.Manifest.Entries))

			// Section headers are never read: garbage ones change nothing.
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			binary.LittleEndian.PutUint64(raw[40:], ^uint64(0)) // e_shoff
			binary.LittleEndian.PutUint16(raw[60:], 0xffff)     // e_shnum
			if img2, err := parseBytes(raw); err != nil || img2.KernelEnd != img.KernelEnd || len(img2.Segments) != len(img.Segments) {
				t.Errorf("with garbage section headers: %v", err)
			}

			ef, err := elf.NewFile(fd)
			if err != nil {
				t.Logf("debug/elf cannot read it (%v); skipping cross-check", err)
				return
			}
			if ef.Entry != img.Entry {
				t.Errorf("entry %#x, debug/elf %#x", img.Entry, ef.Entry)
			}
			var want []Segment
			for _, p := range ef.Progs {
				if p.Type == elf.PT_LOAD && p.Filesz != 0 {
					want = append(want, Segment{Offset: p.Off, Vaddr: p.Vaddr, Filesz: p.Filesz, Memsz: p.Memsz, Align: p.Align, Flags: SegmentFlags(p.Flags)})
				}
			}
			if len(want) != len(img.Segments) {
				t.Fatalf("segments %+v, debug/elf %+v", img.Segments, want)
			}
			for i := range want {
				got := img.Segments[i]
				got.phdr = 0
				if got != want[i] {
					t.Errorf("segment %d = %+v, debug/elf %+v", i, got, want[i])
				}
			}
		})
	}
}
