package runcmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// statsOut is where `uaaf run --stats` writes its JSON: stderr, or the
// FILE of --stats=FILE. It is opened, and whether it is a terminal
// decided, before the run's seccomp filter is installed (which allows
// neither open(2) nor a terminal's ioctl); writing it at the end needs only
// write(2).
type statsOut struct {
	w      io.Writer
	file   *os.File // --stats=FILE, closed by Close; nil for stderr
	path   string
	indent bool // the destination is a terminal: indented JSON for people
}

// openStats opens the destination of --stats: path created (truncated) if
// path is not "", else stderr.
func openStats(path string, stderr io.Writer) (*statsOut, error) {
	if path == "" {
		f, ok := stderr.(*os.File)
		return &statsOut{w: stderr, indent: ok && isTerminal(f)}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return nil, fmt.Errorf("--stats=%s: %w", path, err)
	}
	return &statsOut{w: f, file: f, path: path, indent: isTerminal(f)}, nil
}

// write writes v as one JSON object and a newline.
func (s *statsOut) write(v any) error {
	var b []byte
	var err error
	if s.indent {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return fmt.Errorf("--stats: %w", err)
	}
	if _, err := s.w.Write(append(b, '\n')); err != nil && s.file != nil {
		return fmt.Errorf("--stats=%s: %w", s.path, err)
	}
	return nil
}

// Close closes the --stats=FILE file, if any.
func (s *statsOut) Close() error {
	if s.file == nil {
		return nil
	}
	return s.file.Close()
}

// isTerminal reports whether f is a terminal (TCGETS succeeds on it).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
