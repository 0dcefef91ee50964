package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/switcher"
)

func probeCommand() *cli.Command {
	return &cli.Command{
		Name:  "probe",
		Usage: "report what this host's KVM offers uaaf, and whether VMFUNC switching could be used",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "kvm-device", Value: kvm.DefaultPath, Usage: "KVM device to probe"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of text"},
		},
		Action: func(c *cli.Context) error {
			r := probeHost(c.String("kvm-device"))
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printProbe(c.App.Writer, r)
			if r.KVMError != "" {
				return fmt.Errorf("KVM unavailable: %s", r.KVMError)
			}
			return nil
		},
	}
}

// probeReport is what `uaaf probe` prints.
type probeReport struct {
	KVMDevice    string         `json:"kvm_device"`
	KVMError     string         `json:"kvm_error,omitempty"`
	APIVersion   int            `json:"api_version,omitempty"`
	Backend      string         `json:"backend"`
	CPUFlags     []string       `json:"cpu_flags"`
	Capabilities map[string]int `json:"capabilities,omitempty"`
	VMFUNC       bool           `json:"vmfunc"`
	VMFUNCReason string         `json:"vmfunc_reason"`
	Switch       string         `json:"switch"`
	SwitchReason string         `json:"switch_reason"`
}

func probeHost(dev string) probeReport {
	r := probeReport{KVMDevice: dev, Capabilities: map[string]int{}}
	flags := cpuFlags()
	for _, f := range []string{"vmx", "svm", "hypervisor", "ept", "vpid"} {
		if flags[f] {
			r.CPUFlags = append(r.CPUFlags, f)
		}
	}
	r.Backend = kvmBackend(flags)
	sys, err := kvm.Open(dev)
	if err != nil {
		r.KVMError = err.Error()
	} else {
		defer sys.Close()
		r.APIVersion = kvm.APIVersion
		for _, c := range kvm.KnownCaps {
			if v, err := sys.CheckExtension(c); err == nil {
				r.Capabilities[c.String()] = v
			}
		}
	}
	r.VMFUNC, r.VMFUNCReason = vmfuncUsable(r.Backend)
	// What `uaaf run --switch=auto` would pick, and why.
	if sel, err := switcher.Select("auto", ""); err == nil {
		r.Switch, r.SwitchReason = string(sel.Backend), sel.Why
		sel.Close()
	}
	return r
}

// cpuFlags reads the host CPU's feature flags from /proc/cpuinfo.
func cpuFlags() map[string]bool {
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

// kvmBackend names the KVM implementation behind /dev/kvm from the loaded
// kernel modules (or built-in module directories) and CPU flags.
func kvmBackend(flags map[string]bool) string {
	has := func(m string) bool { _, err := os.Stat("/sys/module/" + m); return err == nil }
	switch {
	case has("kvm_pvm"):
		return "pvm"
	case has("kvm_intel"):
		return "vmx"
	case has("kvm_amd"):
		return "svm"
	case flags["vmx"]:
		return "vmx"
	case flags["svm"]:
		return "svm"
	}
	return "unknown"
}

// vmfuncUsable says whether the vmfunc switch backend could run here, and why
// not when it cannot.
func vmfuncUsable(backend string) (bool, string) {
	switch backend {
	case "pvm":
		return false, "KVM here is PVM (kvm_pvm): guests run without VMX, so there is no EPT and no VMFUNC"
	case "svm":
		return false, "AMD SVM has no VMFUNC instruction"
	case "unknown":
		return false, "no VMX: /dev/kvm is not backed by Intel VT-x"
	}
	if err := switcher.Probe(""); err != nil {
		return false, err.Error()
	}
	return true, "the uaaf module reports VMX with EPTP switching"
}

func printProbe(w io.Writer, r probeReport) {
	printf(w, "kvm device:  %s", r.KVMDevice)
	if r.KVMError != "" {
		printf(w, " (unavailable: %s)\n", r.KVMError)
	} else {
		printf(w, " (API %d)\n", r.APIVersion)
	}
	printf(w, "kvm backend: %s\n", r.Backend)
	printf(w, "cpu flags:   %s\n", strings.Join(r.CPUFlags, " "))
	if len(r.Capabilities) > 0 {
		printf(w, "capabilities:\n")
		for _, c := range kvm.KnownCaps {
			if v, ok := r.Capabilities[c.String()]; ok {
				printf(w, "  %-24s %d\n", c.String(), v)
			}
		}
	}
	if r.VMFUNC {
		printf(w, "vmfunc:      available\n")
	} else {
		printf(w, "vmfunc:      unavailable: %s\n", r.VMFUNCReason)
	}
	printf(w, "switch:      %s\n", r.SwitchReason)
}
