// Package ioctl issues the ioctl(2) calls of uaaf's device layers (kvm,
// vmfunc): one place that retries an interrupted call and reports the raw
// errno, so each layer only names its requests.
//
// KVM_RUN does not go through here: its EINTR is how a vCPU is stopped, so
// package kvm issues it itself.
package ioctl

import "golang.org/x/sys/unix"

// Int issues ioctl(fd, req, arg) with an integer argument, retrying while it
// fails with EINTR, and returns the call's non-negative result or its errno
// (a unix.Errno).
func Int(fd int, req, arg uintptr) (int, error) {
	for {
		r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, arg)
		switch e {
		case 0:
			return int(r), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}
