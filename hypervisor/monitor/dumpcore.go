package monitor

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
)

// ELF core layout: header, two program headers (PT_NOTE, PT_LOAD), one
// NT_PRSTATUS note, then guest memory from file offset coreMemOffset.
const (
	coreEhdrSize     = 64
	corePhdrSize     = 56
	coreNoteNameSize = 8   // "CORE\0" padded to 4-byte alignment
	corePrstatusSize = 336 // struct elf_prstatus on x86-64
	coreNoteSize     = 12 + coreNoteNameSize + corePrstatusSize
	coreNoteOffset   = coreEhdrSize + 2*corePhdrSize
	coreMemOffset    = coreNoteOffset + coreNoteSize
	prRegOffset      = 112 // pr_reg inside elf_prstatus
	ntPrstatus       = 1
)

// dumpCore writes an ELF core of the guest to the dumpcore directory, named
// core.solo5-hvt.PID as solo5-hvt names it so that tools looking for Solo5
// cores find it. frame is the guest's trap frame (the halt cookie), or nil.
// Only resident guest pages are written; the rest of the file is a hole.
// It runs on the vCPU thread.
func (m *Monitor) dumpCore(frame []byte) error {
	path := filepath.Join(m.cfg.DumpCoreDir, fmt.Sprintf("core.solo5-hvt.%d", os.Getpid()))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	logf(m.log, "dumpcore: dumping guest core to: %s", path)

	regs, err := m.vcpu.K.GetRegs()
	if err != nil {
		return err
	}
	sregs, err := m.vcpu.K.GetSregs()
	if err != nil {
		return err
	}
	hdr := make([]byte, coreMemOffset)
	writeCoreHeaders(hdr, uint64(len(m.mem)))
	writePrstatus(hdr[coreNoteOffset+12+coreNoteNameSize:], &regs, &sregs, frame)
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return err
	}

	// Write the pages the host has resident; the others read back as zero.
	vec, err := guestmem.Resident(m.ram)
	if err != nil {
		return err
	}
	pages := len(vec)
	written := 0
	for i := 0; i < pages; i++ {
		if vec[i]&1 == 0 {
			continue
		}
		if _, err := f.WriteAt(m.mem[i*4096:(i+1)*4096], int64(coreMemOffset+i*4096)); err != nil {
			return err
		}
		written++
	}
	if err := f.Truncate(int64(coreMemOffset + len(m.mem))); err != nil {
		return err
	}
	logf(m.log, "dumpcore: dumped %d pages of total %d pages", written, pages)
	return nil
}

func writeCoreHeaders(b []byte, memSize uint64) {
	le := binary.LittleEndian
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1 // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
	b[7] = 0xff                // ELFOSABI_STANDALONE
	le.PutUint16(b[16:], 4)    // ET_CORE
	le.PutUint16(b[18:], 62)   // EM_X86_64
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[32:], coreEhdrSize) // e_phoff
	le.PutUint16(b[52:], coreEhdrSize)
	le.PutUint16(b[54:], corePhdrSize)
	le.PutUint16(b[56:], 2)

	note := b[coreEhdrSize:]
	le.PutUint32(note[0:], 4) // PT_NOTE
	le.PutUint64(note[8:], coreNoteOffset)
	le.PutUint64(note[32:], coreNoteSize)
	le.PutUint64(note[48:], 4)

	load := b[coreEhdrSize+corePhdrSize:]
	le.PutUint32(load[0:], 1)     // PT_LOAD
	le.PutUint32(load[4:], 4|2|1) // RWX: it is a memory image, not a program
	le.PutUint64(load[8:], coreMemOffset)
	le.PutUint64(load[32:], memSize)
	le.PutUint64(load[40:], memSize)
	le.PutUint64(load[48:], 4096)

	n := b[coreNoteOffset:]
	le.PutUint32(n[0:], 5) // namesz "CORE\0"
	le.PutUint32(n[4:], corePrstatusSize)
	le.PutUint32(n[8:], ntPrstatus)
	copy(n[12:], "CORE")
}

// writePrstatus fills struct elf_prstatus: pid and the register set in
// user_regs_struct order. When the guest trapped, its trap frame holds the
// registers at the trap, which are more useful than those at the halt.
func writePrstatus(b []byte, r *kvm.Regs, s *kvm.Sregs, frame []byte) {
	le := binary.LittleEndian
	le.PutUint32(b[32:], uint32(os.Getpid()))
	rip, cs, rflags, rsp, ss := r.RIP, uint64(s.CS.Selector), r.RFLAGS, r.RSP, uint64(s.SS.Selector)
	if len(frame) >= hvt.SizeTrapFrame {
		t := hvt.DecodeTrapFrame(frame)
		rip, cs, rflags, rsp, ss = t.RIP, t.CS, t.RFLAGS, t.RSP, t.SS
	}
	regs := []uint64{
		r.R15, r.R14, r.R13, r.R12, r.RBP, r.RBX, r.R11, r.R10, r.R9, r.R8,
		r.RAX, r.RCX, r.RDX, r.RSI, r.RDI, r.RAX, // orig_rax
		rip, cs, rflags, rsp, ss,
		s.FS.Base, s.GS.Base,
		uint64(s.DS.Selector), uint64(s.ES.Selector), uint64(s.FS.Selector), uint64(s.GS.Selector),
	}
	for i, v := range regs {
		le.PutUint64(b[prRegOffset+8*i:], v)
	}
}
