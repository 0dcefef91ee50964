package report

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// KVM kinds, the values of Machine.KVM.
const (
	KVMPVM     = "pvm"     // kvm_pvm: pagetable-based VM, ring-0 guest code emulated
	KVMVMX     = "vmx"     // kvm_intel, Intel VT-x
	KVMSVM     = "svm"     // kvm_amd, AMD-V
	KVMNone    = "none"    // no /dev/kvm
	KVMUnknown = "unknown" // /dev/kvm exists but nothing says which kind
)

// Machine describes the host a benchmark ran on.
type Machine struct {
	CPUModel    string `json:"cpu_model"`    // first "model name" of /proc/cpuinfo
	Cores       int    `json:"cores"`        // logical CPUs ("processor" entries)
	MemoryBytes uint64 `json:"memory_bytes"` // MemTotal of /proc/meminfo
	Kernel      string `json:"kernel"`       // uname -r
	KVM         string `json:"kvm"`          // one of the KVM* constants
	// KVMEvidence says where KVM was read from, e.g. "/sys/module/kvm_pvm".
	KVMEvidence string `json:"kvm_evidence"`
}

// DetectMachine describes the running host, reading / and uname(2). Whatever
// cannot be read stays empty (zero); it never fails.
func DetectMachine() Machine {
	var u unix.Utsname
	kernel := ""
	if unix.Uname(&u) == nil {
		kernel = unix.ByteSliceToString(u.Release[:])
	}
	return MachineFrom(os.DirFS("/"), kernel)
}

// MachineFrom describes the host whose root file system is root (paths
// without a leading slash: "proc/cpuinfo"), with kernel release kernel. The
// KVM kind is, in order: none without dev/kvm; pvm when sys/module/kvm_pvm
// exists or proc/modules lists kvm_pvm; vmx or svm for kvm_intel or
// kvm_amd likewise; else vmx or svm from the CPU flags; else unknown.
func MachineFrom(root fs.FS, kernel string) Machine {
	m := Machine{Kernel: kernel}
	cpuinfo, _ := fs.ReadFile(root, "proc/cpuinfo")
	var flags []string
	sc := bufio.NewScanner(bytes.NewReader(cpuinfo))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		switch key {
		case "processor":
			m.Cores++
		case "model name":
			if m.CPUModel == "" {
				m.CPUModel = val
			}
		case "flags":
			if flags == nil {
				flags = strings.Fields(val)
			}
		}
	}
	if mi, err := fs.ReadFile(root, "proc/meminfo"); err == nil {
		for line := range strings.Lines(string(mi)) {
			f := strings.Fields(line)
			if len(f) >= 2 && f[0] == "MemTotal:" {
				if kb, err := strconv.ParseUint(f[1], 10, 64); err == nil {
					m.MemoryBytes = kb * 1024
				}
			}
		}
	}
	m.KVM, m.KVMEvidence = kvmKind(root, flags)
	return m
}

func kvmKind(root fs.FS, flags []string) (kind, evidence string) {
	if _, err := fs.Stat(root, "dev/kvm"); err != nil {
		return KVMNone, "no /dev/kvm"
	}
	modules, _ := fs.ReadFile(root, "proc/modules")
	loaded := func(mod string) bool {
		for line := range strings.Lines(string(modules)) {
			if name, _, _ := strings.Cut(line, " "); name == mod {
				return true
			}
		}
		return false
	}
	for _, k := range []struct{ mod, kind string }{{"kvm_pvm", KVMPVM}, {"kvm_intel", KVMVMX}, {"kvm_amd", KVMSVM}} {
		if _, err := fs.Stat(root, "sys/module/"+k.mod); err == nil {
			return k.kind, "/sys/module/" + k.mod
		}
		if loaded(k.mod) {
			return k.kind, "/proc/modules: " + k.mod
		}
	}
	for _, f := range flags {
		switch f {
		case "vmx":
			return KVMVMX, "cpu flag vmx"
		case "svm":
			return KVMSVM, "cpu flag svm"
		}
	}
	return KVMUnknown, "/dev/kvm without kvm_pvm, kvm_intel, kvm_amd or vmx/svm flags"
}
