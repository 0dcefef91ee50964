package monitor

import (
	"cmp"
	"slices"
	"sync"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
)

// mapGuest installs mem as guest memory at gpa in vm, as memslots first,
// first+1, …, and returns the next free slot. The pages of ro (guest-physical
// ranges; those outside [gpa, gpa+len(mem)) are ignored) become read-only
// memslots (KVM_MEM_READONLY), the rest writable ones: a guest write to ro
// then exits as MMIO (Monitor.handleExit ends the guest), while the host
// mapping stays one writable mapping.
//
// That is the point: a host mprotect per read-only range would split the
// mapping into several (one VMA each), and in a process holding thousands of
// VMs each mprotect walks every VM's MMU notifier under the address space's
// write lock, and each new VM's notifier registration walks every VMA
// (docs/bench). With hostProtect, or where KVM lacks read-only memslots,
// the ranges are protected on the host instead and mem is one memslot.
//
// mem must come from mmap and stay mapped while the slots exist; ro must be
// page aligned. Call it before the vCPU first runs.
func mapGuest(vm *kvm.VM, first uint32, gpa uint64, mem []byte, ro []hvt.Range, hostProtect bool) (uint32, error) {
	end := gpa + uint64(len(mem))
	pieces := clipRanges(ro, gpa, end)
	slot := first
	if len(pieces) > 0 && (hostProtect || !readOnlySlots(vm)) {
		for _, r := range pieces {
			if err := guestmem.ProtectReadOnly(mem, r.Start-gpa, r.End-r.Start); err != nil {
				return slot, err
			}
		}
		pieces = nil
	}
	mapPiece := func(start, stop uint64, flags uint32) error {
		if start == stop {
			return nil
		}
		if err := vm.MapMemory(slot, start, mem[start-gpa:stop-gpa], flags); err != nil {
			return err
		}
		slot++
		return nil
	}
	cur := gpa
	for _, r := range pieces {
		if err := mapPiece(cur, r.Start, 0); err != nil {
			return slot, err
		}
		if err := mapPiece(r.Start, r.End, kvm.MemReadonly); err != nil {
			return slot, err
		}
		cur = r.End
	}
	if err := mapPiece(cur, end, 0); err != nil {
		return slot, err
	}
	return slot, nil
}

// clipRanges returns the parts of rs inside [start, end), sorted and with
// overlapping or touching ranges merged.
func clipRanges(rs []hvt.Range, start, end uint64) []hvt.Range {
	var out []hvt.Range
	for _, r := range rs {
		r.Start, r.End = max(r.Start, start), min(r.End, end)
		if r.Start < r.End {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b hvt.Range) int { return cmp.Compare(a.Start, b.Start) })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && r.Start <= merged[n-1].End {
			merged[n-1].End = max(merged[n-1].End, r.End)
			continue
		}
		merged = append(merged, r)
	}
	return merged
}

// readOnlySlots reports whether vm's KVM maps read-only memslots
// (KVM_CAP_READONLY_MEM); KVM answers the same for every VM of a host, so
// the first answer is kept. New asks for every guest, so the question is
// put before any seccomp filter is in place (mapRAMSlots).
func readOnlySlots(vm *kvm.VM) bool {
	roOnce.Do(func() {
		n, err := vm.CheckExtension(kvm.CapReadonlyMem)
		roSupported = err == nil && n > 0
	})
	return roSupported
}

// roOnce guards roSupported, set by the first readOnlySlots.
var (
	roOnce      sync.Once
	roSupported bool
)
