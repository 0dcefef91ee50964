// Package kvm is uaaf's thin layer over the Linux KVM API (/dev/kvm), written
// directly on golang.org/x/sys/unix. It holds no policy: it opens the system,
// VM and vCPU file descriptors, issues the ioctls uaaf uses, and mirrors the
// kernel structures those ioctls take, byte for byte (layout_test.go proves the
// sizes and offsets against <linux/kvm.h> with cgo).
//
// Errors from ioctls are returned wrapped with the ioctl's name and keep the
// raw unix.Errno, so callers can test errors.Is(err, unix.EINTR) and the like.
// Ioctls other than KVM_RUN are retried on EINTR; KVM_RUN is not, because its
// EINTR is how a vCPU is stopped (see VCPU.Run, and vcpu.Runner.Stop, which
// signals the vCPU's thread after VCPU.RequestImmediateExit). The retrying
// itself is hypervisor/internal/ioctl's.
//
// Threads: a VM and its memory may be used from any goroutine. A VCPU's
// KVM_RUN and register ioctls must be issued from the OS thread that runs it;
// callers lock that thread with runtime.LockOSThread (package vcpu does
// this). Only RequestImmediateExit may be called from other threads.
//
// unsafe is confined to run_unsafe.go (the mmapped struct kvm_run) and
// ioctl_unsafe.go (passing struct pointers to ioctl).
package kvm
