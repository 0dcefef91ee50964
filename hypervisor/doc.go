// Package hypervisor is the root of uaaf's machine layer: everything between
// the Linux KVM API and a running unikernel. It holds no code; its
// subpackages, by job:
//
//	kvm/       the thin KVM ioctl layer on golang.org/x/sys/unix (our own):
//	           device, VM, vCPU, struct mirrors, Machine (VM + vCPU 0)
//	guestmem/  guest RAM on the host: allocation, host-side read-only pages
//	vcpu/      a vCPU on a locked OS thread, stoppable from any goroutine
//	x86/       boot GDT, control registers, identity page tables (pure)
//	hvt/       the Solo5 hvt ABI: hypercall layouts, boot info, ELF, notes
//	           and manifest loader (pure)
//	uaafabi/   the UaaF ABI: window GPAs, call area, UAAF notes, trampoline
//	monitor/   the hvt monitor: one run loop for plain guests, sessions and
//	           library instances; boot, hypercalls, devices, dumpcore
//	switcher/  the view-switch backends (exit, vmfunc) and their selection
//	vmfunc/    the Go side of the kmod/ UAPI (/dev/uaaf)
//	kvmtrace/  eBPF counters of KVM tracepoints (exits, emulated instructions)
//	kvmtest/   test helpers: KVM and VMFUNC requirements, guest images
//	internal/ioctl/  the EINTR-retrying ioctl(2) the device layers share
//
// Guest memory map of an hvt guest (identity mapped, VA == GPA):
//
//	0x000000 ┌──────────────────────────┐
//	         │ unmapped (zero page,     │  boot GDT 0x1000, PML4 0x2000, PDPT 0x3000,
//	         │ boot GDT, page tables)   │  PDs 0x4000-0x7fff, PT0 0x8000
//	0x009000 ├──────────────────────────┤
//	         │ UaaF window (sessions    │  trampoline 0x9000, view data 0xA000,
//	         │ and libraries only)      │  call area 0xC000-0xFFFF
//	0x010000 ├──────────────────────────┤
//	         │ boot info, manifest copy,│  read-only to the guest
//	         │ command line             │
//	0x100000 ├──────────────────────────┤
//	         │ ELF segments             │  text/rodata read-only on the host too
//	         │ heap ↓ … stack ↑         │
//	mem-8    └──────────────────────────┘  initial RSP
package hypervisor
