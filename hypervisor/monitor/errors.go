package monitor

import "errors"

// Sentinel errors of package monitor.
var (
	// ErrUsage: the command line is malformed; the message says how.
	ErrUsage = errors.New("monitor: usage")
	// ErrConfig: the configuration cannot be honoured (device, memory, image).
	ErrConfig = errors.New("monitor: configuration")
	// ErrGuest: the guest broke the hvt ABI or faulted; see GuestError.
	ErrGuest = errors.New("monitor: guest fault")
	// ErrHost: a host resource failed (KVM, I/O on a device backend).
	ErrHost = errors.New("monitor: host failure")
)

// GuestError ends a guest that broke the ABI or faulted. Its text is the one
// line solo5-hvt prints for the same condition, without a program prefix.
type GuestError struct{ Msg string }

func (e *GuestError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, ErrGuest) true.
func (e *GuestError) Unwrap() error { return ErrGuest }

// Error wraps a sentinel with a message that is shown to the user as is: its
// Error() is msg alone, while errors.Is still finds the sentinel.
type Error struct {
	Kind error // one of the sentinels above
	Msg  string
	Err  error // underlying cause, if any
}

func (e *Error) Error() string { return e.Msg }

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Err != nil {
		return []error{e.Kind, e.Err}
	}
	return []error{e.Kind}
}
