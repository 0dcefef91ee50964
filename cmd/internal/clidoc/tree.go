package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/ctlapp"
	"github.com/uaaf/uaaf/cmd/internal/uaafapp"
)

// commandTree returns uaaf's application as users meet it: the uaaf
// binary's commands, with each it hands to uaaf-ctl replaced by uaaf-ctl's
// definition of it (the uaaf binary only knows their names). It panics if
// the two binaries disagree on which commands uaaf-ctl serves: that is a
// programming error, which the tests catch.
func commandTree() *cli.App {
	app := uaafapp.New()
	ctl := map[string]*cli.Command{}
	for _, c := range ctlapp.Commands() {
		ctl[c.Name] = c
	}
	for i, c := range app.Commands {
		if !uaafapp.IsCtlCommand(c.Name) {
			continue
		}
		real, ok := ctl[c.Name]
		if !ok {
			panic(fmt.Sprintf("clidoc: uaaf hands %q to uaaf-ctl, which has no such command", c.Name))
		}
		app.Commands[i] = real
		delete(ctl, c.Name)
	}
	for name := range ctl {
		panic(fmt.Sprintf("clidoc: uaaf-ctl serves %q, which uaaf does not hand to it", name))
	}
	app.Setup() // adds the help command and the --help and --version flags
	return app
}

// item is one completion candidate: a word and what it does.
type item struct{ word, usage string }

// node is what can follow one command path: its subcommands and options.
type node struct {
	path   string // "bench call"; "" for uaaf itself
	cmds   []item
	flags  []item   // option words as typed: "--json", "-n", "--mem=", "--block:"
	valued []string // the options whose value is the next word
	files  bool     // its operands are files (images)
}

// nodes flattens the tree into one node per command path, depth first.
func nodes(app *cli.App) []node {
	root := node{}
	for _, c := range app.VisibleCommands() {
		root.cmds = append(root.cmds, item{c.Name, c.Usage})
	}
	root.flags, root.valued = flagItems(app.VisibleFlags(), false)
	out := []node{root}
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			n := node{path: strings.TrimSpace(prefix + " " + c.Name)}
			for _, s := range c.Subcommands {
				if !s.Hidden {
					n.cmds = append(n.cmds, item{s.Name, s.Usage})
				}
			}
			if c.SkipFlagParsing && c.CustomHelpTemplate != "" {
				// Options urfave/cli does not parse (uaaf run's
				// solo5-hvt syntax): their one description is the help.
				n.flags, n.valued = usageOptions(c.CustomHelpTemplate)
			} else {
				n.flags, n.valued = flagItems(c.Flags, !c.HideHelp)
			}
			n.files = len(n.cmds) == 0 && c.ArgsUsage != ""
			if c.Name == "run" {
				n.files = true // KERNEL
			}
			out = append(out, n)
			walk(n.path, c.Subcommands)
		}
	}
	walk("", app.Commands)
	return out
}

// flagItems lists flags as completion words, with --help if help is set.
func flagItems(flags []cli.Flag, help bool) (items []item, valued []string) {
	seen := map[string]bool{}
	add := func(word, usage string, takesValue bool) {
		if seen[word] {
			return
		}
		seen[word] = true
		items = append(items, item{word, usage})
		if takesValue {
			valued = append(valued, word)
		}
	}
	for _, f := range flags {
		usage := ""
		if d, ok := f.(cli.DocGenerationFlag); ok {
			usage = d.GetUsage()
		}
		takesValue := false
		if d, ok := f.(cli.DocGenerationFlag); ok {
			takesValue = d.TakesValue()
		}
		if v, ok := f.(cli.VisibleFlag); ok && !v.IsVisible() {
			continue
		}
		for _, name := range f.Names() {
			add(dashed(name), usage, takesValue)
		}
	}
	if help {
		add("--help", "show help", false)
	}
	return items, valued
}

func dashed(name string) string {
	if len(name) == 1 {
		return "-" + name
	}
	return "--" + name
}

// optionLine matches an option in a hand-written usage text (uaaf run's):
// two spaces, an optional short form, the long form, how it takes its
// value, and the description from the next run of two or more spaces.
var optionLine = regexp.MustCompile(`^  (-[a-zA-Z], )?(--[a-z0-9-]+)(\S*(?: [^ ]\S*)?)(?:\s{2,}(.*))?$`)

// usageOptions reads the options out of a usage text, as completion words:
// "--mem=MiB" gives "--mem=" and "--block:NAME=PATH" "--block:" (the rest
// is typed on), "--lib NAME=PATH" gives "--lib" with its value the next
// word, "--stats[=FILE]" and "--eager" themselves; "-v, --verbose" both.
func usageOptions(text string) (items []item, valued []string) {
	seen := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		m := optionLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		short, long, rest, usage := strings.TrimSuffix(m[1], ", "), m[2], m[3], m[4]
		word, takesNext := long, false
		switch {
		case strings.HasPrefix(rest, "="), strings.HasPrefix(rest, ":"):
			word += rest[:1]
		case strings.HasPrefix(rest, " "):
			takesNext = true
		}
		for _, w := range []string{short, word} {
			if w == "" || seen[w] {
				continue
			}
			seen[w] = true
			items = append(items, item{w, usage})
			if takesNext {
				valued = append(valued, w)
			}
		}
	}
	return items, valued
}
