// Package hypervisor is the machine layer of uaaf, between the raw KVM ioctls
// (package kvm) and the hvt monitor (package monitor): guest RAM allocation
// and host-side protection, and vCPUs that run on a locked OS thread and can
// be stopped from any goroutine.
//
// Subpackages, by job:
//
//	kvm/      the thin KVM ioctl layer on golang.org/x/sys/unix (our own)
//	x86/      boot GDT, control registers, identity page tables (pure)
//	hvt/      the Solo5 hvt ABI: hypercall layouts, boot info, ELF/notes/manifest loader (pure)
//	monitor/  the hvt monitor: boots an image, serves its hypercalls, devices, dumpcore
//	vmfunc/   the Go side of the kmod/ UAPI (VMFUNC EPTP switching)
//
// Guest memory map of an hvt guest (identity mapped, VA == GPA):
//
//	0x000000 ┌──────────────────────────┐
//	         │ unmapped (zero page,     │  boot GDT 0x1000, PML4 0x2000, PDPT 0x3000,
//	         │ boot GDT, page tables)   │  PDs 0x4000-0x7fff, PT0 0x8000
//	0x010000 ├──────────────────────────┤
//	         │ boot info, manifest copy,│  read-only to the guest
//	         │ command line             │
//	0x100000 ├──────────────────────────┤
//	         │ ELF segments             │  text/rodata read-only on the host too
//	         │ heap ↓ … stack ↑         │
//	mem-8    └──────────────────────────┘  initial RSP
package hypervisor
