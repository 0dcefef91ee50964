// Command ocitar packs a uaaf session image (.hvt) into an OCI image layout
// tarball for `ctr image import` (see tools/oci and docs/containerd.md).
//
// Usage:
//
//	ocitar -o OUT.tar -name REF [-path /IN/IMAGE.hvt] [-libs a,b] IMAGE.hvt [ARGS...]
//
// ARGS become the session's default arguments (the image config's Cmd). It
// prints the manifest digest; on any error it prints one line to stderr and
// exits with status 1.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/uaaf/uaaf/tools/oci"
)

func main() {
	out := flag.String("o", "", "output tarball (required)")
	name := flag.String("name", "", "image reference, e.g. uaaf.local/hello:latest (required)")
	inPath := flag.String("path", "", "path of the .hvt inside the image (default /BASENAME)")
	libs := flag.String("libs", "", "comma-separated library names the session needs")
	flag.Parse()
	if *out == "" || *name == "" || flag.NArg() < 1 {
		fmt.Fprintln(os.Stderr, "usage: ocitar -o OUT.tar -name REF [-path P] [-libs a,b] IMAGE.hvt [ARGS...]")
		os.Exit(1)
	}
	opts := oci.Options{Name: *name, Path: *inPath, Args: flag.Args()[1:]}
	if *libs != "" {
		opts.Libs = strings.Split(*libs, ",")
	}
	img, err := oci.BuildFile(*out, flag.Arg(0), opts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ocitar: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("%s %s\n", img.Name, img.Manifest.Digest)
}
