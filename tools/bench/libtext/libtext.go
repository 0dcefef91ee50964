// Package libtext measures the library text uaaf's processes hold: the
// pages of a library image's read-only segments (text, rodata) in every
// mapping of its memfd ("memfd:uaaf-lib-NAME", from guest address 0), read
// from /proc/PID/maps and /proc/PID/pagemap. Shared text is one set of
// page frames however many instances map it; a private copy is frames of
// its own. It needs no help from the processes measured, only the right to
// read their pagemap (root, for the frame numbers that tell copies apart).
package libtext

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/tools/bench/procmem"
)

// ErrLibrary: a library image whose read-only segments cannot be read.
var ErrLibrary = errors.New("libtext: library image")

// pageSize is the page size of guest memory and of pagemap.
const pageSize = 4096

// Ranges returns the guest-physical page ranges of the read-only segments
// of the library image at path.
func Ranges(path string) ([]hvt.Range, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLibrary, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrLibrary, err)
	}
	img, err := hvt.Parse(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrLibrary, path, err)
	}
	var out []hvt.Range
	for _, s := range img.Segments {
		if s.Writable() || s.Memsz == 0 {
			continue
		}
		start := s.Vaddr &^ (pageSize - 1)
		end := (s.Vaddr + s.Memsz + pageSize - 1) &^ (pageSize - 1)
		out = append(out, hvt.Range{Start: start, End: end})
	}
	return out, nil
}

// Usage is library text in memory, in bytes.
type Usage struct {
	// Once counts each distinct page frame once: what the text costs.
	Once uint64
	// Mapped sums the resident text pages of every mapping: what it would
	// cost if nothing were shared.
	Mapped uint64
	// Private is text pages that are copies of their own (not the memfd's
	// page cache): 0 when the text is shared.
	Private uint64
	// Frames reports whether frame numbers were readable; without them
	// (not root) Once is the largest mapping's resident text per library
	// and process, a lower bound.
	Frames bool
}

// Measure reads the library text resident in processes pids; text maps a
// library name (NAME of its memfd) to its read-only ranges (Ranges).
// Mappings of libraries not in text are ignored.
func Measure(pids []int, text map[string][]hvt.Range) (Usage, error) {
	var (
		u     Usage
		lower uint64 // Once without frame numbers
	)
	frames := map[uint64]bool{}
	for _, pid := range pids {
		ms, err := procmem.Mappings(pid, func(m *procmem.Mapping) bool {
			return m.Offset == 0 && strings.Contains(m.Name, "memfd:uaaf-lib-")
		})
		if err != nil {
			return Usage{}, fmt.Errorf("pid %d: %w", pid, err)
		}
		largest := map[string]uint64{}
		for _, m := range ms {
			name := libName(m.Name)
			var resident uint64
			for _, r := range text[name] {
				start, end := m.Start+r.Start, min(m.Start+r.End, m.End)
				if start >= end {
					continue
				}
				es, err := procmem.PageMap(pid, start, end)
				if err != nil {
					return Usage{}, fmt.Errorf("pid %d: %w", pid, err)
				}
				for _, e := range es {
					if !e.Present() {
						continue
					}
					resident += pageSize
					if !e.File() {
						u.Private += pageSize
					}
					if pfn := e.PFN(); pfn != 0 {
						frames[pfn] = true
					}
				}
			}
			u.Mapped += resident
			largest[name] = max(largest[name], resident)
		}
		for _, v := range largest {
			lower += v
		}
	}
	u.Once = lower
	if len(frames) > 0 {
		u.Once, u.Frames = uint64(len(frames))*pageSize, true
	}
	return u, nil
}

// libName is NAME of "/memfd:uaaf-lib-NAME (deleted)".
func libName(mapping string) string {
	_, name, _ := strings.Cut(mapping, "memfd:uaaf-lib-")
	name, _, _ = strings.Cut(name, " ")
	return name
}
