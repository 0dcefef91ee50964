package uaafapp

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/seccomp"
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
			if c.NArg() > 0 {
				return fmt.Errorf("probe takes no arguments (got %q; see uaaf probe --help)", c.Args().First())
			}
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
	Seccomp      bool           `json:"seccomp"` // the kernel can filter system calls (uaaf run and serve do by default)
}

func probeHost(dev string) probeReport {
	r := probeReport{KVMDevice: dev, Capabilities: map[string]int{}}
	flags := switcher.CPUFlags()
	for _, f := range []string{"vmx", "svm", "hypervisor", "ept", "vpid"} {
		if flags[f] {
			r.CPUFlags = append(r.CPUFlags, f)
		}
	}
	r.Backend = switcher.Host()
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
	r.Seccomp = seccomp.Available()
	if sel, err := switcher.Select("auto", ""); err == nil {
		r.Switch, r.SwitchReason = string(sel.Backend), sel.Why
		sel.Close()
	}
	return r
}

// vmfuncUsable says whether the vmfunc switch backend could run here, and why
// not when it cannot.
func vmfuncUsable(host string) (bool, string) {
	if why := switcher.NoVMFUNC(host); why != "" {
		return false, why
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
	if r.Seccomp {
		printf(w, "seccomp:     available (uaaf run and uaaf serve filter system calls unless --seccomp=off)\n")
	} else {
		printf(w, "seccomp:     unavailable: this kernel cannot filter system calls (run with --seccomp=off)\n")
	}
}
