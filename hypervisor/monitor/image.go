package monitor

import (
	"errors"
	"fmt"
	"os"

	"github.com/uaaf/uaaf/hypervisor/hvt"
)

// Image is an hvt image file, opened and parsed once: what New loads, and
// what a caller reads the image's other notes (uaafabi.NotesOf) from before
// it decides how to run it. Close it once every New given it has returned.
type Image struct {
	// Path is the file's path, as given to OpenImage.
	Path string
	// Image is the parsed ELF header, Solo5 notes and segments.
	*hvt.Image

	f *os.File
}

// OpenImage opens the hvt image at path and parses it, with solo5-hvt's
// checks, order and messages ("PATH: Could not open: REASON", "PATH: not a
// regular file", "PATH: <loader message>"). Errors are *Error of kind
// ErrConfig. The file is opened without Go's network poller (hvt.Open).
func OpenImage(path string) (*Image, error) {
	f, err := hvt.Open(path)
	if err != nil {
		return nil, CouldNotOpen(path, err)
	}
	img, err := parseImage(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return img, nil
}

func parseImage(path string, f *os.File) (*Image, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: %v", path, err), Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: not a regular file", path)}
	}
	img, err := hvt.Parse(f, fi.Size())
	if err != nil {
		return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: %v", path, err), Err: err}
	}
	return &Image{Path: path, Image: img, f: f}, nil
}

// load copies the image's segments into mem (hvt.Image.Load's checks).
func (i *Image) load(mem []byte) error {
	if err := i.Load(i.f, mem); err != nil {
		return &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: %v", i.Path, err), Err: err}
	}
	return nil
}

// Close closes the image file.
func (i *Image) Close() error {
	if i == nil || i.f == nil {
		return nil
	}
	err := i.f.Close()
	i.f = nil
	return err
}

// CouldNotOpen is the error for an image that cannot be opened, worded as
// solo5-hvt words it: "PATH: Could not open: REASON". It wraps ErrConfig and
// err.
func CouldNotOpen(path string, err error) *Error {
	return &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: Could not open: %v", path, pathReason(err)), Err: err}
}

// pathReason is err without the *os.PathError wrapping (the caller names the
// path itself).
func pathReason(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
