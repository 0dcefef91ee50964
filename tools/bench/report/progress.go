package report

import (
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/sys/unix"
)

// Progress is a progress bar over a known number of steps, drawn on stderr
// only when stderr is a terminal and silent otherwise (pipes, files, CI).
// A nil *Progress is valid and silent. Its methods may be called from any
// goroutine (the bar locks itself).
type Progress struct {
	bar *progressbar.ProgressBar
}

// NewProgress returns a Progress of total steps described by description,
// drawing on os.Stderr when it is a terminal.
func NewProgress(total int, description string) *Progress {
	return newProgress(os.Stderr, IsTerminal(os.Stderr), total, description)
}

// IsTerminal reports whether f is a terminal (TCGETS succeeds on it).
func IsTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// newProgress draws on w when tty is set; otherwise it returns a silent
// Progress that writes nothing anywhere.
func newProgress(w io.Writer, tty bool, total int, description string) *Progress {
	if !tty {
		return &Progress{}
	}
	return &Progress{bar: progressbar.NewOptions(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(description),
		progressbar.OptionShowCount(),
		progressbar.OptionSetWidth(30),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)}
}

// Add advances the bar by n steps.
func (p *Progress) Add(n int) {
	if p == nil || p.bar == nil {
		return
	}
	_ = p.bar.Add(n) // a failed write to stderr is not worth failing a benchmark for
}

// Describe changes the text shown before the bar (e.g. the current system).
func (p *Progress) Describe(description string) {
	if p == nil || p.bar == nil {
		return
	}
	p.bar.Describe(description)
}

// Finish completes the bar and clears it from the terminal.
func (p *Progress) Finish() {
	if p == nil || p.bar == nil {
		return
	}
	_ = p.bar.Finish()
}
