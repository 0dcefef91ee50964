package hvt

import (
	"os"

	"golang.org/x/sys/unix"
)

// Open opens the image file at path for reading. Errors are *os.PathError, as
// from os.Open.
//
// Unlike os.Open it never registers the file with Go's network poller (a
// regular file cannot be polled anyway): that registration would set the
// poller up — an epoll instance, an eventfd and half a dozen more syscalls —
// and make every scheduling round poll it, costs a cold start should not pay.
// It opens without blocking (O_NONBLOCK), so that a FIFO or a device at path
// cannot wedge the caller in open(2): callers check that the file is a
// regular file, on which O_NONBLOCK changes nothing, before reading it.
func Open(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(fd), path), nil
}
