// Command mftgen turns a Solo5-style manifest (JSON) into a C source file
// that defines the image's MFT1 ELF note, for guests built with the uaaf
// guest SDK (guest/).
//
// Usage:
//
//	mftgen [-o out.c] manifest.json
//
// The input looks like
//
//	{"type":"solo5.manifest","version":1,
//	 "devices":[{"name":"storage","type":"BLOCK_BASIC"},
//	            {"name":"service0","type":"NET_BASIC"}]}
//
// Device names match [A-Za-z0-9]{1,67} and are unique; at most 63 devices
// are allowed (manifest entry 0 is reserved). The generated file places the
// note in section .note.solo5.manifest, which the SDK's linker script puts
// in its own PT_NOTE. The ABI1 note comes from the SDK runtime.
//
// On any error mftgen prints one line to stderr and exits with status 1.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it parses args, does the work and
// returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mftgen", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	out := fs.String("o", "", "write the C source to `file` instead of stdout")
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mftgen: "+format+"\n", a...)
		return 1
	}
	if err := fs.Parse(args); err != nil {
		return fail("%v (usage: mftgen [-o out.c] manifest.json)", err)
	}
	if fs.NArg() != 1 {
		return fail("expected one manifest file (usage: mftgen [-o out.c] manifest.json)")
	}
	in := fs.Arg(0)
	data, err := os.ReadFile(in)
	if err != nil {
		return fail("%v", err)
	}
	m, err := ParseJSON(data)
	if err != nil {
		return fail("%s: %v", in, err)
	}
	src := GenerateC(m, in)
	if *out == "" {
		if _, err := stdout.Write(src); err != nil {
			return fail("%v", err)
		}
		return 0
	}
	if err := writeFileAtomic(*out, src); err != nil {
		return fail("%v", err)
	}
	return 0
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it into place, so make never sees a half-written output.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
