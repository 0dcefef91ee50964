package procmem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// ErrRange: a page range that is not page aligned, or ends before it
// starts.
var ErrRange = errors.New("procmem: bad page range")

// PageEntry is one page's entry of /proc/PID/pagemap (the kernel's
// Documentation/admin-guide/mm/pagemap.rst).
type PageEntry uint64

// Present reports whether the page is in memory.
func (e PageEntry) Present() bool { return e&(1<<63) != 0 }

// File reports whether the page is a file page or shared anonymous memory
// (a memfd's page cache); false for a private (copy-on-write) copy.
func (e PageEntry) File() bool { return e&(1<<61) != 0 }

// Exclusive reports whether only this mapping maps the page.
func (e PageEntry) Exclusive() bool { return e&(1<<56) != 0 }

// PFN returns the page frame number of a present page: 0 unless the reader
// has CAP_SYS_ADMIN (the kernel hides it otherwise).
func (e PageEntry) PFN() uint64 {
	if !e.Present() {
		return 0
	}
	return uint64(e) & (1<<55 - 1)
}

// pageSize is the base page size pagemap is indexed by.
const pageSize = 4096

// PageMap returns the pagemap entries of process pid (Self for the caller)
// for the pages of [start, end), which must be page aligned.
func PageMap(pid int, start, end uint64) ([]PageEntry, error) {
	if start%pageSize != 0 || end%pageSize != 0 || end < start {
		return nil, fmt.Errorf("%w: [%#x, %#x) for pagemap", ErrRange, start, end)
	}
	f, err := os.Open(procFile(pid, "pagemap"))
	if err != nil {
		return nil, fmt.Errorf("procmem: %w", err)
	}
	defer f.Close()
	n := (end - start) / pageSize
	b := make([]byte, 8*n)
	if _, err := f.ReadAt(b, int64(start/pageSize*8)); err != nil {
		return nil, fmt.Errorf("procmem: pagemap of pid %d at %#x: %w", pid, start, err)
	}
	return decodePageMap(b), nil
}

// decodePageMap splits pagemap bytes into entries (a trailing partial entry
// is dropped).
func decodePageMap(b []byte) []PageEntry {
	out := make([]PageEntry, len(b)/8)
	for i := range out {
		out[i] = PageEntry(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return out
}
