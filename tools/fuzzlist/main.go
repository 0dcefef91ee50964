// Command fuzzlist finds every fuzz target (func FuzzXxx(*testing.F) in a
// _test.go file) of the module, for `make fuzz` and docs/fuzzing.md.
//
// Usage:
//
//	fuzzlist -targets            print "PACKAGE TARGET" lines
//	fuzzlist -write FILE         put the table of targets into FILE, between its markers
//	fuzzlist -check FILE         fail if FILE's table is not the current one
//
// -root DIR (default .) is the module's directory.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	root := flag.String("root", ".", "the module's directory")
	targets := flag.Bool("targets", false, `print "PACKAGE TARGET" lines`)
	write := flag.String("write", "", "write the table into `FILE`")
	check := flag.String("check", "", "check the table in `FILE`")
	flag.Parse()
	if err := run(*root, *targets, *write, *check); err != nil {
		fmt.Fprintf(os.Stderr, "fuzzlist: %v\n", err)
		os.Exit(1)
	}
}

func run(root string, targets bool, write, check string) error {
	mod, err := modulePath(filepath.Join(root, "go.mod"))
	if err != nil {
		return err
	}
	ts, err := find(root, mod)
	if err != nil {
		return err
	}
	if targets {
		for _, t := range ts {
			fmt.Printf("%s %s\n", t.Package, t.Name)
		}
	}
	table := Markdown(ts, mod)
	for _, path := range []string{write, check} {
		if path == "" {
			continue
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		doc, err := Splice(string(old), table)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if path == check && doc != string(old) {
			return fmt.Errorf("%s lists other fuzz targets than the code has: run `make fuzz-doc`", path)
		}
		if path == write {
			if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
