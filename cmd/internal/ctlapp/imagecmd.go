package ctlapp

import (
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/session/api"
)

// imageCommand is `uaaf image`: the daemon's registered session images.
func imageCommand() *cli.Command {
	return groupCommand("image", "session images registered with the daemon: add, ls, rm",
		&cli.Command{
			Name: "add", Usage: "register a session image under a name: parsed and laid out once", ArgsUsage: "NAME=PATH",
			Flags:  clientFlags(&cli.IntFlag{Name: "mem", Usage: "guest memory of its sessions, `MiB`", DefaultText: "the daemon's"}),
			Action: imageAdd,
		},
		&cli.Command{Name: "ls", Usage: "list the registered images", Flags: clientFlags(), Action: imageList},
		&cli.Command{Name: "rm", Usage: "forget a registered image (its running sessions run on)", ArgsUsage: "NAME", Flags: clientFlags(),
			Action: imageRemove},
	)
}

func imageAdd(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "one NAME=PATH"); err != nil {
		return err
	}
	name, path, err := splitAssign(c, c.Args().First())
	if err != nil {
		return err
	}
	if c.Int("mem") < 0 {
		return usageError(c, "--mem %d is negative", c.Int("mem"))
	}
	cl := dial(c)
	defer cl.Close()
	im, err := cl.AddImage(c.Context, api.AddImage{Name: name, Path: path, MemMiB: c.Int("mem")})
	if err != nil {
		return err
	}
	return printImages(c, []api.Image{im}, true)
}

func imageList(c *cli.Context) error {
	if err := wantArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	ims, err := cl.Images(c.Context)
	if err != nil {
		return err
	}
	return printImages(c, ims, false)
}

// printImages prints ims as a table, or as JSON (one object if one).
func printImages(c *cli.Context, ims []api.Image, one bool) error {
	if c.Bool("json") {
		if one {
			return printJSON(c.App.Writer, ims[0])
		}
		return printJSON(c.App.Writer, ims)
	}
	writeImages(c.App.Writer, ims)
	return nil
}

func writeImages(out io.Writer, ims []api.Image) {
	w := table(out)
	row(w, "NAME", "KIND", "MEM", "SESSIONS", "TEMPLATE", "SHELLS", "INPUT", "IMPORTS", "PATH")
	for _, im := range ims {
		// SHELLS: guests made ahead of need, ready now; "cool" once the
		// image keep-alive dropped them.
		shells := strconv.Itoa(im.Shells)
		if im.Cool {
			shells = "cool"
		}
		row(w, im.Name, im.Kind, humanBytes(int64(im.MemMiB)<<20), im.Sessions, humanBytes(im.Memory), shells, yesNo(im.Input),
			orDash(strings.Join(im.Imports, ",")), im.Path)
	}
	w.Flush()
}

func imageRemove(c *cli.Context) error {
	if err := wantArgs(c, 1, 1, "one image NAME"); err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	if err := cl.RemoveImage(c.Context, c.Args().First()); err != nil {
		return err
	}
	if !c.Bool("json") {
		printf(c.App.Writer, "removed %s\n", c.Args().First())
	}
	return nil
}
