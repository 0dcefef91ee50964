// Command clidoc writes uaaf's man page and its bash and zsh completion
// scripts from the command-line definitions the binaries run (packages
// uaafapp and ctlapp), so the three cannot drift from the commands:
//
//	go run ./cmd/internal/clidoc -o DIR
//
// writes DIR/uaaf.1 (man section 1), DIR/uaaf.bash (bash completion, to be
// installed as bash-completion's completions/uaaf) and DIR/_uaaf (zsh,
// for a directory in $fpath). `make docs` runs it; `make install`
// installs the results.
//
// The uaaf binaries are built without urfave/cli's documentation code
// (-tags urfave_cli_no_docs, for their cold start); this tool is built
// with it and reads the same definitions (it lives under cmd/ because
// they are internal to it).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("o", ".", "directory to write uaaf.1, uaaf.bash and _uaaf into")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "clidoc: no arguments expected (got %q); usage: clidoc [-o DIR]\n", flag.Arg(0))
		os.Exit(2)
	}
	if err := write(*out); err != nil {
		fmt.Fprintf(os.Stderr, "clidoc: %v\n", err)
		os.Exit(1)
	}
}

// write generates the three files into dir.
func write(dir string) error {
	man, err := manPage(commandTree())
	if err != nil {
		return err
	}
	ns := nodes(commandTree())
	files := map[string]string{
		"uaaf.1":    man,
		"uaaf.bash": bashScript(ns),
		"_uaaf":     zshScript(ns),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			return err
		}
	}
	return nil
}
