// Package vmfunc is the Go client of /dev/uaaf, the uaaf companion kernel
// module (kmod/ in this repository) that gives one KVM vCPU an EPTP list so
// the guest can switch EPT views with VMFUNC leaf 0 and no VM exit.
//
// uapi.go mirrors kmod/uaaf_uapi.h byte for byte: the ioctl numbers and the
// Raw* structs. internal/uapicheck proves the mirror against the C header
// with cgo in a test; this package itself is pure Go and builds with
// CGO_ENABLED=0.
//
// Typical use, by the vmfunc switch backend:
//
//	dev, err := vmfunc.Open(vmfunc.DefaultPath) // ErrNoDevice: module not loaded
//	caps, err := dev.Caps()                      // caps.Err() wraps ErrNotSupported
//	err = dev.Attach(vmFD, vcpuID)
//	err = dev.DefineSessionView([]vmfunc.Range{vmfunc.IdentityRange(0x1000, mem-0x1000, vmfunc.PermRWX)})
//	err = dev.DefineView(1, []vmfunc.Range{      // library 1: its RAM from a high memslot ...
//		{GPA: 0x1000, SrcGPA: lib1 + 0x1000, Size: 0x8000, Perms: vmfunc.PermR | vmfunc.PermW},
//		vmfunc.IdentityRange(0x9000, 0x1000, vmfunc.PermR|vmfunc.PermX), // ... the session's trampoline
//		vmfunc.IdentityRange(0xC000, 0x4000, vmfunc.PermR|vmfunc.PermW), // ... and call area
//		/* ... */})
//	err = dev.Enable()                           // ErrNotSupported on AMD / PVM; ErrNoSessionView
//	st, err := dev.Status()                      // after KVM_EXIT_SHUTDOWN: the view fault
//	err = dev.Close()                            // detaches and frees everything
//
// A Device is safe for concurrent use; its methods serialise on a mutex.
// Errors wrap the sentinels of errors.go and keep the raw unix.Errno.
//
// unsafe is confined to ioctl_unsafe.go.
package vmfunc
