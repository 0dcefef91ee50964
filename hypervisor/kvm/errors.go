package kvm

import "errors"

// Sentinel errors of package kvm.
var (
	// ErrNoKVM: /dev/kvm cannot be opened (absent, or no permission).
	ErrNoKVM = errors.New("kvm: device unavailable")
	// ErrAPIVersion: the kernel speaks a KVM API version other than 12.
	ErrAPIVersion = errors.New("kvm: unsupported KVM API version")
	// ErrMissingCap: a capability uaaf requires is absent.
	ErrMissingCap = errors.New("kvm: required capability missing")
	// ErrClosed: the object was used after Close.
	ErrClosed = errors.New("kvm: use after close")
)
