package switcher

import (
	"os"
	"strings"
)

// Host says what kind of KVM backs /dev/kvm here, from the loaded kernel
// modules and the CPU's flags: "pvm" (kvm_pvm: guests run without VMX),
// "vmx" (Intel VT-x), "svm" (AMD-V) or "unknown".
func Host() string {
	has := func(m string) bool { _, err := os.Stat("/sys/module/" + m); return err == nil }
	switch {
	case has("kvm_pvm"):
		return "pvm"
	case has("kvm_intel"):
		return "vmx"
	case has("kvm_amd"):
		return "svm"
	}
	flags := CPUFlags()
	switch {
	case flags["vmx"]:
		return "vmx"
	case flags["svm"]:
		return "svm"
	}
	return "unknown"
}

// NoVMFUNC says why this host can never run the vmfunc backend, whatever
// module is loaded, or "" when it might (Intel VT-x: then the uaaf module
// decides).
func NoVMFUNC(host string) string {
	switch host {
	case "pvm":
		return "KVM here is PVM (kvm_pvm): guests run without VMX, so there is no EPT and no VMFUNC"
	case "svm":
		return "AMD SVM has no VMFUNC instruction"
	case "unknown":
		return "no VMX: /dev/kvm is not backed by Intel VT-x"
	}
	return ""
}

// CPUFlags reads the host CPU's feature flags from /proc/cpuinfo.
func CPUFlags() map[string]bool {
	flags := map[string]bool{}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return flags
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(k) != "flags" {
			continue
		}
		for _, f := range strings.Fields(v) {
			flags[f] = true
		}
		break
	}
	return flags
}
