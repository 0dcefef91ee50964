package trace

import (
	"errors"
	"fmt"
)

// Sentinel errors of package trace.
var (
	// ErrMalformed: a trace or mapping file does not follow its format.
	ErrMalformed = errors.New("trace: malformed file")
	// ErrTooLarge: a file, or the arrivals asked for, exceed a size limit.
	ErrTooLarge = errors.New("trace: too large")
)

// FileError locates a problem in a file. Its message is
// "FILE:LINE: column "NAME": MSG", without the parts that are unknown
// (Line 0, Column ""). It wraps ErrMalformed or ErrTooLarge.
type FileError struct {
	File   string // the name the reader was given
	Line   int    // 1-based; 0 for the file as a whole
	Column string // the column's header name; "" if not about one column
	Msg    string
	Err    error // ErrMalformed or ErrTooLarge
}

func (e *FileError) Error() string {
	switch {
	case e.Line == 0:
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	case e.Column == "":
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s:%d: column %q: %s", e.File, e.Line, e.Column, e.Msg)
}

// Unwrap returns ErrMalformed or ErrTooLarge.
func (e *FileError) Unwrap() error { return e.Err }
