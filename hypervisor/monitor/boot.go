package monitor

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/x86"
)

// Low-memory layout written before boot: boot info, then the manifest copy,
// then the command line.
const (
	manifestGPA = hvt.BootInfoGPA + hvt.SizeBootInfo
)

// cmdline joins the guest arguments the way solo5-hvt does and checks the
// length limit. An argument with a NUL byte is refused: the guest reads a C
// string and would silently see the command line cut there (exec(2) cannot
// pass such an argument; the daemon's API can).
func (m *Monitor) cmdline() (string, error) {
	for i, a := range m.cfg.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return "", &Error{Kind: ErrUsage, Msg: fmt.Sprintf("guest argument %d contains a NUL byte", i+1)}
		}
	}
	s := strings.Join(m.cfg.Args, " ")
	if len(s) >= hvt.CmdlineSize {
		return "", &Error{Kind: ErrUsage, Msg: fmt.Sprintf("Guest command line too long (max=%d characters)", hvt.CmdlineSize-1)}
	}
	return s, nil
}

// writeBootState writes the boot GDT, page tables, boot info, manifest copy
// and command line into guest memory. The vCPU must exist: boot info carries
// its TSC frequency (a shell knows it already).
func (m *Monitor) writeBootState(cmdline string) error {
	khz := m.tscKHz
	if khz == 0 {
		var err error
		if khz, err = m.machine.VCPU.TSCKHz(); err != nil {
			return &Error{Kind: ErrHost, Msg: "KVM: host TSC is unstable, cannot run unikernel: " + err.Error(), Err: err}
		}
	}
	if m.cfg.Template == nil { // a template has them already
		x86.WriteBootGDT(m.ram)
		if err := x86.WriteBootPageTables(m.ram, m.cfg.MemSize); err != nil {
			return &Error{Kind: ErrConfig, Msg: err.Error(), Err: err}
		}
	}
	writeBootInfo(m.ram, m.cfg.MemSize, m.img.KernelEnd, khz, m.manifest.Encode(), cmdline)
	return nil
}

// writeBootInfo writes the boot info, the manifest copy mft and the command
// line into guest memory ram, each only where ram does not hold it already:
// a guest mapped copy-on-write from a template (whose shell wrote what a
// guest with no arguments and no device attached gets) then keeps sharing
// the pages — and, when its memory is already in its VM, spares KVM the
// invalidation a first write costs.
func writeBootInfo(ram []byte, memSize, kernelEnd, khz uint64, mft []byte, cmdline string) {
	store := func(gpa uint64, b []byte) {
		if dst := ram[gpa : gpa+uint64(len(b))]; !bytes.Equal(dst, b) {
			copy(dst, b)
		}
	}
	store(manifestGPA, mft)
	cmdGPA := manifestGPA + uint64(len(mft))
	store(cmdGPA, append([]byte(cmdline), 0))
	bi := hvt.BootInfo{
		MemSize:      memSize,
		KernelEnd:    kernelEnd,
		CPUCycleFreq: khz * 1000,
		Cmdline:      cmdGPA,
		Manifest:     manifestGPA,
	}
	var b [hvt.SizeBootInfo]byte
	bi.Encode(b[:])
	store(hvt.BootInfoGPA, b[:])
}

// initVCPU gives the vCPU the registers an hvt guest starts with (its CPUID
// was set when it was created), unless its shell did already. It runs on
// the vCPU thread.
func (m *Monitor) initVCPU() error {
	if m.regsSet {
		return nil
	}
	if err := bootRegisters(m.vcpu.K, m.img.Entry, m.cfg.MemSize); err != nil {
		return m.hostErr(err)
	}
	return nil
}

// bootRegisters gives vCPU k the registers an hvt guest of memSize bytes
// starts with: 64-bit long mode with the boot GDT and page tables, RIP at
// entry, RSP at the top of memory, RDI pointing at boot info.
func bootRegisters(k *kvm.VCPU, entry, memSize uint64) error {
	code := kvm.Segment{
		Limit: 0xffffffff, Selector: x86.SelectorCode, Type: 9,
		Present: 1, S: 1, L: 1, G: 1,
	}
	data := kvm.Segment{
		Limit: 0xffffffff, Selector: x86.SelectorData, Type: 3,
		Present: 1, S: 1, DB: 1, G: 1,
	}
	sregs := kvm.Sregs{
		CS: code, DS: data, ES: data, FS: data, GS: data, SS: data,
		TR:   kvm.Segment{Type: 11, Present: 1},
		LDT:  kvm.Segment{Unusable: 1},
		GDT:  kvm.DTable{Base: x86.GDTAddr, Limit: x86.GDTLimit},
		CR0:  x86.BootCR0,
		CR3:  x86.PML4Addr,
		CR4:  x86.BootCR4,
		EFER: x86.BootEFER,
	}
	if err := k.SetSregs(&sregs); err != nil {
		return err
	}
	regs := kvm.Regs{
		RIP:    entry,
		RSP:    memSize - 8,
		RDI:    hvt.BootInfoGPA,
		RFLAGS: x86.BootRFLAGS,
	}
	return k.SetRegs(&regs)
}
