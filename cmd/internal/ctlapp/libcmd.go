package ctlapp

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/session/api"
)

// libCommand is `uaaf lib`: the daemon's library functions.
func libCommand() *cli.Command {
	return groupCommand("lib", "library functions of the daemon: load, ls, pin, unpin, unload",
		&cli.Command{
			Name: "load", Usage: "load library images into the daemon, once, for its sessions to share",
			ArgsUsage: "NAME=PATH...",
			Flags:     clientFlags(&cli.BoolFlag{Name: "pin", Usage: "keep them loaded while no session references them"}),
			Action:    libLoad,
		},
		&cli.Command{Name: "ls", Usage: "list the loaded libraries", Flags: clientFlags(), Action: libList},
		&cli.Command{Name: "pin", Usage: "keep a library loaded while unreferenced", ArgsUsage: "NAME", Flags: clientFlags(),
			Action: func(c *cli.Context) error { return libPin(c, true) }},
		&cli.Command{Name: "unpin", Usage: "let a library follow the keep-alive policy again", ArgsUsage: "NAME", Flags: clientFlags(),
			Action: func(c *cli.Context) error { return libPin(c, false) }},
		&cli.Command{Name: "unload", Usage: "destroy a library (refused while sessions reference it)", ArgsUsage: "NAME", Flags: clientFlags(),
			Action: libUnload},
	)
}

func libLoad(c *cli.Context) error {
	if err := wantArgs(c, 1, -1, "NAME=PATH..."); err != nil {
		return err
	}
	var reqs []api.LoadLibrary
	for _, a := range c.Args().Slice() {
		name, path, err := splitAssign(c, a)
		if err != nil {
			return err
		}
		reqs = append(reqs, api.LoadLibrary{Name: name, Path: path, Pin: c.Bool("pin")})
	}
	cl := dial(c)
	defer cl.Close()
	var done []api.Library
	for _, r := range reqs {
		l, err := cl.LoadLibrary(c.Context, r)
		if err != nil {
			if len(done) > 0 { // say what did happen before the error
				printLibraries(c, done)
			}
			return fmt.Errorf("library %s: %w", r.Name, err)
		}
		done = append(done, l)
	}
	return printLibraries(c, done)
}

func libList(c *cli.Context) error {
	if err := wantArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	ls, err := cl.Libraries(c.Context)
	if err != nil {
		return err
	}
	return printLibraries(c, ls)
}

// printLibraries prints ls as a table, or JSON.
func printLibraries(c *cli.Context, ls []api.Library) error {
	if c.Bool("json") {
		return printJSON(c.App.Writer, ls)
	}
	writeLibraries(c.App.Writer, ls)
	return nil
}

func writeLibraries(out io.Writer, ls []api.Library) {
	w := table(out)
	row(w, "NAME", "REFS", "PINNED", "RESIDENT", "INSTANCES", "MEMORY", "LOAD", "LOADS", "EXPORTS", "PATH")
	for _, l := range ls {
		row(w, l.Name, l.Refs, yesNo(l.Pinned), yesNo(l.Resident), l.Instances, humanBytes(l.Memory), human(l.LoadNs), l.Loads,
			orDash(strings.Join(l.Exports, ",")), l.Path)
	}
	w.Flush()
}

func libPin(c *cli.Context, pin bool) error {
	if err := wantArgs(c, 1, 1, "one library NAME"); err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	name := c.Args().First()
	var l api.Library
	var err error
	if pin {
		l, err = cl.PinLibrary(c.Context, name)
	} else {
		l, err = cl.UnpinLibrary(c.Context, name)
	}
	switch {
	case err != nil:
		return err
	case c.Bool("json"):
		return printJSON(c.App.Writer, l)
	case pin:
		printf(c.App.Writer, "pinned %s\n", name)
	case l.Path == "": // the keep-alive policy destroyed it at once
		printf(c.App.Writer, "unpinned %s (unloaded: the keep-alive policy keeps nothing unreferenced)\n", name)
	default:
		printf(c.App.Writer, "unpinned %s\n", name)
	}
	return nil
}

func libUnload(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "one library NAME"); err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	if err := cl.UnloadLibrary(c.Context, c.Args().First()); err != nil {
		return err
	}
	if !c.Bool("json") {
		printf(c.App.Writer, "unloaded %s\n", c.Args().First())
	}
	return nil
}
