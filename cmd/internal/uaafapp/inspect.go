package uaafapp

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

func inspectCommand() *cli.Command {
	return &cli.Command{
		Name:      "inspect",
		Usage:     "show an hvt image's ABI, manifest devices, segments, entry point, and UaaF exports/imports",
		ArgsUsage: "IMAGE",
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "json", Usage: "print JSON instead of text"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() != 1 {
				return fmt.Errorf("inspect takes exactly one IMAGE (see uaaf inspect --help)")
			}
			return inspect(c.App.Writer, c.Args().First(), c.Bool("json"))
		},
	}
}

// imageReport is what `uaaf inspect` prints.
type imageReport struct {
	Path       string          `json:"path"`
	ABITarget  uint32          `json:"abi_target"`
	ABIVersion uint32          `json:"abi_version"`
	Entry      uint64          `json:"entry"`
	KernelEnd  uint64          `json:"kernel_end"`
	End        uint64          `json:"end"`
	Segments   []segmentReport `json:"segments"`
	Devices    []deviceReport  `json:"devices"`
	Role       string          `json:"role"` // hvt, library or session
	Exports    []exportReport  `json:"exports,omitempty"`
	Imports    []importReport  `json:"imports,omitempty"`
}

type exportReport struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Addr  uint64 `json:"addr"`
}

type importReport struct {
	Index    int    `json:"index"`
	Library  string `json:"library"`
	Function string `json:"function"`
}

type segmentReport struct {
	Vaddr  uint64 `json:"vaddr"`
	Filesz uint64 `json:"filesz"`
	Memsz  uint64 `json:"memsz"`
	Flags  string `json:"flags"`
}

type deviceReport struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Type  string `json:"type"`
}

func inspect(w io.Writer, path string, asJSON bool) error {
	img, err := monitor.OpenImage(path)
	if err != nil {
		return err
	}
	defer img.Close()
	r := imageReport{
		Path: path, ABITarget: img.ABI.Target, ABIVersion: img.ABI.Version,
		Entry: img.Entry, KernelEnd: img.KernelEnd, End: img.End,
	}
	for _, s := range img.Segments {
		flags := []byte("---")
		if s.Readable() {
			flags[0] = 'r'
		}
		if s.Writable() {
			flags[1] = 'w'
		}
		if s.Executable() {
			flags[2] = 'x'
		}
		r.Segments = append(r.Segments, segmentReport{s.Vaddr, s.Filesz, s.Memsz, string(flags)})
	}
	for i, e := range img.Manifest.Entries {
		if i == 0 {
			continue
		}
		r.Devices = append(r.Devices, deviceReport{i, e.Name, e.Type.String()})
	}
	notes, err := uaafabi.NotesOf(img.Image)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r.Role = "hvt"
	switch {
	case notes.IsLibrary():
		r.Role = "library"
	case notes.IsSession():
		r.Role = "session"
	}
	for i, e := range notes.Exports {
		r.Exports = append(r.Exports, exportReport{i, e.Name, e.Addr})
	}
	for i, im := range notes.Imports {
		r.Imports = append(r.Imports, importReport{i, im.Lib, im.Fn})
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "image:\t%s\n", r.Path)
	fmt.Fprintf(tw, "abi:\tsolo5 target %d (hvt), version %d\n", r.ABITarget, r.ABIVersion)
	fmt.Fprintf(tw, "entry:\t%#x\n", r.Entry)
	fmt.Fprintf(tw, "kernel end:\t%#x (image end incl. bss %#x)\n", r.KernelEnd, r.End)
	tw.Flush()
	fmt.Fprintf(w, "segments:\n")
	for _, s := range r.Segments {
		fmt.Fprintf(w, "  %#010x  filesz %#8x  memsz %#8x  %s\n", s.Vaddr, s.Filesz, s.Memsz, s.Flags)
	}
	fmt.Fprintf(w, "devices (manifest):")
	if len(r.Devices) == 0 {
		fmt.Fprintf(w, " none\n")
	} else {
		fmt.Fprintln(w)
	}
	for _, d := range r.Devices {
		fmt.Fprintf(w, "  %2d  %-12s %s\n", d.Index, d.Type, d.Name)
	}
	fmt.Fprintf(w, "role:        %s\n", r.Role)
	if len(r.Exports) > 0 {
		fmt.Fprintf(w, "exports:\n")
		for _, e := range r.Exports {
			fmt.Fprintf(w, "  %3d  %-24s %#x\n", e.Index, e.Name, e.Addr)
		}
	}
	if len(r.Imports) > 0 {
		fmt.Fprintf(w, "imports:\n")
		for _, im := range r.Imports {
			fmt.Fprintf(w, "  %3d  %s.%s\n", im.Index, im.Library, im.Function)
		}
	}
	return nil
}
