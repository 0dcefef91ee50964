package session

import (
	"fmt"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

// Image is an image prepared once for many sessions (the daemon's
// registered images): opened and parsed, its UaaF notes decoded and
// checked, and its memory — segments, page tables and, for a session, the
// UaaF window of backend — laid out in a template that every session maps
// copy-on-write (monitor.Template). A plain hvt image (no imports) is
// prepared too and runs as a plain guest. Safe for concurrent use.
type Image struct {
	// Path is the image file.
	Path string
	// Notes are its UaaF notes.
	Notes *uaafabi.Notes
	// Template is its laid-out memory.
	Template *monitor.Template
	// Backend is the switch backend whose trampoline the template holds.
	Backend uaafabi.Backend
}

// PrepareImage opens and lays out the image at path for sessions of memSize
// bytes (0: hvt's default) whose views switch with backend. Errors are
// those of `uaaf run` for the same image: solo5-hvt's loader messages,
// malformed UaaF notes, and ErrNotSession for a library image.
func PrepareImage(path string, memSize uint64, backend uaafabi.Backend) (*Image, error) {
	img, err := monitor.OpenImage(path)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	notes, err := uaafabi.NotesOf(img.Image)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if notes.IsLibrary() {
		return nil, fmt.Errorf("%w: %s exports functions; load it as a library", ErrNotSession, path)
	}
	if backend == "" {
		backend = uaafabi.BackendExit
	}
	var prepare func([]byte) ([]hvt.Range, error)
	if notes.IsSession() {
		prepare = func(ram []byte) ([]hvt.Range, error) {
			return windowRanges(ram, notes, img.Image, backend)
		}
	}
	t, err := monitor.NewTemplate(img, memSize, prepare)
	if err != nil {
		return nil, err
	}
	if backend == uaafabi.BackendVMFUNC {
		// The vmfunc backend maps library views as memslots 1… of the
		// session's VM, and the module wants each range of a view inside
		// one memslot: RAM stays memslot 0, text protected on the host.
		t.ProtectOnHost()
	}
	return &Image{Path: path, Notes: notes, Template: t, Backend: backend}, nil
}

// windowRanges checks the notes against the image and the memory, installs
// the UaaF window of backend in ram, and returns the page it makes
// read-only (the trampoline).
func windowRanges(ram []byte, notes *uaafabi.Notes, img *hvt.Image, backend uaafabi.Backend) ([]hvt.Range, error) {
	if err := notes.Check(img, uint64(len(ram))); err != nil {
		return nil, err
	}
	if err := uaafabi.InstallWindow(ram, backend, 0); err != nil {
		return nil, err
	}
	return []hvt.Range{{Start: uaafabi.TrampGPA, End: uaafabi.TrampGPA + guestmem.PageSize}}, nil
}

// Close releases the template once no session maps it.
func (i *Image) Close() error { return i.Template.Close() }
