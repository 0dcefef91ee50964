package report

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

const cpuinfo2 = `processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Processor
flags		: fpu vme de pse hypervisor

processor	: 1
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Processor
flags		: fpu vme de pse hypervisor
`

const meminfo = "MemTotal:       24624600 kB\nMemFree:        20000000 kB\n"

func TestMachineFrom(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	dir := &fstest.MapFile{Mode: 0o755 | 1<<31} // fs.ModeDir
	tests := []struct {
		name     string
		fs       fstest.MapFS
		kind     string
		evidence string
	}{
		{"pvm via sysfs", fstest.MapFS{"dev/kvm": file(""), "sys/module/kvm_pvm": dir}, KVMPVM, "/sys/module/kvm_pvm"},
		{"pvm via proc/modules", fstest.MapFS{"dev/kvm": file(""), "proc/modules": file("kvm 1 0 - Live\nkvm_pvm 2 0 - Live\n")}, KVMPVM, "/proc/modules: kvm_pvm"},
		{"pvm preferred over vmx", fstest.MapFS{"dev/kvm": file(""), "sys/module/kvm_pvm": dir, "sys/module/kvm_intel": dir}, KVMPVM, "/sys/module/kvm_pvm"},
		{"intel", fstest.MapFS{"dev/kvm": file(""), "sys/module/kvm_intel": dir}, KVMVMX, "/sys/module/kvm_intel"},
		{"amd module", fstest.MapFS{"dev/kvm": file(""), "proc/modules": file("kvm_amd 3 0 - Live\n")}, KVMSVM, "/proc/modules: kvm_amd"},
		{"vmx flag, built-in module", fstest.MapFS{"dev/kvm": file(""), "proc/cpuinfo": file(strings.ReplaceAll(cpuinfo2, "hypervisor", "vmx"))}, KVMVMX, "cpu flag vmx"},
		{"no /dev/kvm", fstest.MapFS{"sys/module/kvm_pvm": dir}, KVMNone, "no /dev/kvm"},
		{"unknown", fstest.MapFS{"dev/kvm": file(""), "proc/cpuinfo": file(cpuinfo2)}, KVMUnknown, ""},
		{"module name prefix is not a match", fstest.MapFS{"dev/kvm": file(""), "proc/modules": file("kvm_pvmx 1 0 - Live\n")}, KVMUnknown, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := MachineFrom(tc.fs, "6.1.0")
			if m.KVM != tc.kind || (tc.evidence != "" && m.KVMEvidence != tc.evidence) {
				t.Errorf("KVM = %q (%q), want %q (%q)", m.KVM, m.KVMEvidence, tc.kind, tc.evidence)
			}
			if m.Kernel != "6.1.0" {
				t.Errorf("kernel = %q", m.Kernel)
			}
		})
	}
}

func TestMachineFromCPUAndMemory(t *testing.T) {
	m := MachineFrom(fstest.MapFS{
		"proc/cpuinfo": {Data: []byte(cpuinfo2)},
		"proc/meminfo": {Data: []byte(meminfo)},
	}, "")
	if m.CPUModel != "Intel(R) Xeon(R) Processor" || m.Cores != 2 || m.MemoryBytes != 24624600*1024 {
		t.Errorf("machine = %+v", m)
	}
	if empty := MachineFrom(fstest.MapFS{}, ""); empty.Cores != 0 || empty.CPUModel != "" || empty.KVM != KVMNone {
		t.Errorf("empty root gave %+v", empty)
	}
}

// DetectMachine on this host agrees with what the host says of itself.
func TestDetectMachine(t *testing.T) {
	m := DetectMachine()
	if m.Kernel == "" || m.Cores < 1 {
		t.Errorf("DetectMachine() = %+v: no kernel release or CPUs", m)
	}
	if _, err := os.Stat("/sys/module/kvm_pvm"); err == nil {
		if _, err := os.Stat("/dev/kvm"); err == nil && m.KVM != KVMPVM {
			t.Errorf("host has kvm_pvm and /dev/kvm but KVM = %q", m.KVM)
		}
	}
}

// FuzzMachineFrom: any /proc contents give a machine description without
// panicking, with no more cores than "processor" lines.
func FuzzMachineFrom(f *testing.F) {
	f.Add([]byte(cpuinfo2), []byte(meminfo), []byte("kvm_pvm 1 0 - Live\n"))
	f.Add([]byte("processor:\nmodel name:\n"), []byte("MemTotal: x kB"), []byte(""))
	f.Add([]byte(":::\n\n"), []byte("MemTotal:"), []byte(" \n"))
	f.Fuzz(func(t *testing.T, cpu, mem, mods []byte) {
		m := MachineFrom(fstest.MapFS{
			"dev/kvm":      {},
			"proc/cpuinfo": {Data: cpu},
			"proc/meminfo": {Data: mem},
			"proc/modules": {Data: mods},
		}, "k")
		if m.Cores < 0 || m.KVM == "" || m.KVM == KVMNone {
			t.Errorf("MachineFrom = %+v", m)
		}
		if m.Cores > bytes.Count(cpu, []byte("processor")) {
			t.Errorf("%d cores from %d 'processor' strings", m.Cores, bytes.Count(cpu, []byte("processor")))
		}
	})
}
