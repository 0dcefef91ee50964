package ctlapp

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
)

// sessionCommand is `uaaf session`: sessions one step at a time.
func sessionCommand() *cli.Command {
	idCmd := func(name, usage string, action cli.ActionFunc, extra ...cli.Flag) *cli.Command {
		return &cli.Command{Name: name, Usage: usage, ArgsUsage: "ID", Flags: clientFlags(extra...), Action: action}
	}
	return groupCommand("session", "sessions of the daemon, step by step: create, start, ls, get, wait, kill, rm, logs",
		&cli.Command{
			Name: "create", Usage: "create a session of a registered image (or an image path); prints its ID",
			ArgsUsage: "IMAGE [ARGS...]",
			Flags:     clientFlags(append(limitFlags(), &cli.BoolFlag{Name: "start", Usage: "start it at once"})...),
			Action:    sessionCreate,
		},
		idCmd("start", "start a created session", func(c *cli.Context) error {
			return sessionDo(c, func(cl *client.Client, id uint64) (api.Session, error) { return cl.StartSession(c.Context, id) })
		}),
		&cli.Command{Name: "ls", Usage: "list the sessions with their states and timings", Flags: clientFlags(), Action: sessionList},
		idCmd("get", "describe a session: state, timings, S-F row", sessionGet),
		idCmd("wait", "wait for a session to end", func(c *cli.Context) error {
			timeout := time.Duration(-1) // until it ends
			if c.IsSet("timeout") {
				if timeout = c.Duration("timeout"); timeout < 0 {
					return usageError(c, "--timeout %v is negative", timeout)
				}
			}
			return sessionDo(c, func(cl *client.Client, id uint64) (api.Session, error) { return cl.WaitSession(c.Context, id, timeout) })
		}, &cli.DurationFlag{Name: "timeout", Usage: "wait at most this long", DefaultText: "until it ends"}),
		idCmd("kill", "stop a session (a created one is released without running)", func(c *cli.Context) error {
			return sessionDo(c, func(cl *client.Client, id uint64) (api.Session, error) { return cl.KillSession(c.Context, id) })
		}),
		idCmd("rm", "delete a session (killing it if it runs)", sessionRemove),
		idCmd("logs", "print a session's console output", sessionLogs,
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing as the session writes, until it ends"}),
	)
}

// sessionID parses c's single argument, a session ID.
func sessionID(c *cli.Context) (uint64, error) {
	if err := wantArgs(c, 1, 1, "one session ID"); err != nil {
		return 0, err
	}
	id, err := strconv.ParseUint(c.Args().First(), 10, 64)
	if err != nil || id == 0 {
		return 0, usageError(c, "%q is not a session ID", c.Args().First())
	}
	return id, nil
}

func sessionCreate(c *cli.Context) error {
	if err := wantArgs(c, 1, -1, "an IMAGE (a registered name or a path)"); err != nil {
		return err
	}
	spec, err := sessionSpec(c)
	if err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	s, err := cl.CreateSession(c.Context, spec)
	if err != nil {
		return unknownImage(err, spec.Image)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, s)
	}
	printf(c.App.Writer, "%d\n", s.ID)
	return nil
}

// sessionSpec reads what create and invoke share: IMAGE [ARGS...] and the
// limit flags.
func sessionSpec(c *cli.Context) (api.SessionSpec, error) {
	lim, err := limits(c)
	if err != nil {
		return api.SessionSpec{}, err
	}
	in, err := readInput(c)
	if err != nil {
		return api.SessionSpec{}, err
	}
	img, err := imageRef(c.Args().First())
	if err != nil {
		return api.SessionSpec{}, err
	}
	return api.SessionSpec{Image: img, Args: c.Args().Tail(), MemMiB: c.Int("mem"), Input: in, Limits: lim, Start: c.Bool("start")}, nil
}

// sessionDo runs a call on the session c names and prints what it
// returns: one summary line, or JSON.
func sessionDo(c *cli.Context, call func(*client.Client, uint64) (api.Session, error)) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	s, err := call(cl, id)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, s)
	}
	printf(c.App.Writer, "%s\n", summary(s))
	return nil
}

// summary says in one line how a session stands.
func summary(s api.Session) string {
	switch {
	case s.State == api.StateExited && s.ExitStatus != nil:
		return fmt.Sprintf("session %d: exited with status %d (start %s, run %s)", s.ID, *s.ExitStatus, human(s.Timings.StartNs), human(s.Timings.RunNs))
	case s.Error != "" && s.Error != s.State:
		return fmt.Sprintf("session %d: %s: %s", s.ID, s.State, s.Error)
	}
	return fmt.Sprintf("session %d: %s", s.ID, s.State)
}

// status is a session's exit status, or "-".
func status(s api.Session) string {
	if s.ExitStatus == nil {
		return "-"
	}
	return strconv.Itoa(*s.ExitStatus)
}

func sessionList(c *cli.Context) error {
	return listSessions(c, []any{"ID", "IMAGE", "STATE", "STATUS", "START", "RUN", "TOTAL", "CPU", "CONSOLE"},
		func(s api.Session) []any {
			return []any{s.ID, s.Image, s.State, status(s), human(s.Timings.StartNs), human(s.Timings.RunNs), human(s.Timings.TotalNs),
				human(s.Timings.CPUNs), humanBytes(s.Console)}
		})
}

// listSessions prints the daemon's sessions: the API's list with --json,
// else a table of header and one line per session.
func listSessions(c *cli.Context, header []any, line func(api.Session) []any) error {
	if err := wantArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	ss, err := cl.Sessions(c.Context)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, ss)
	}
	w := table(c.App.Writer)
	row(w, header...)
	for _, s := range ss {
		row(w, line(s)...)
	}
	return w.Flush()
}

func sessionGet(c *cli.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	s, err := cl.Session(c.Context, id)
	if err != nil {
		return err
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, s)
	}
	writeSession(c.App.Writer, s)
	return nil
}

// writeSession describes s on several lines, "KEY: value".
func writeSession(out io.Writer, s api.Session) {
	w := table(out)
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.Local().Format("2006-01-02 15:04:05.000000")
	}
	state := s.State
	switch {
	case s.ExitStatus != nil:
		state += fmt.Sprintf(", status %d", *s.ExitStatus)
	case s.Error != "" && s.Error != s.State:
		state += ": " + s.Error
	}
	image := s.Image
	if s.Path != s.Image {
		image += " (" + s.Path + ")"
	}
	t := s.Timings
	pool := "pool miss"
	if t.PoolHit {
		pool = "pool hit"
	}
	console := humanBytes(s.Console)
	if s.Truncated {
		console += " (truncated)"
	}
	row(w, "ID:", s.ID)
	row(w, "IMAGE:", image)
	row(w, "STATE:", state)
	row(w, "SWITCH:", s.Switch)
	row(w, "CREATED:", at(s.Created))
	row(w, "STARTED:", at(s.Started))
	row(w, "ENDED:", at(s.Ended))
	row(w, "START:", fmt.Sprintf("%s = queued %s + bind %s + boot %s (%s)", human(t.StartNs), human(t.QueuedNs), human(t.BindNs), human(t.BootNs), pool))
	row(w, "RUN:", fmt.Sprintf("%s (vCPU time %s, %d VM exits), total %s", human(t.RunNs), human(t.CPUNs), t.VMExits, human(t.TotalNs)))
	row(w, "CONSOLE:", console)
	row(w, "VIEWS:", views(s.Views))
	w.Flush()
}

// views writes a session's S-F row as lib#index(refs, calls) cells.
func views(vs []api.View) string {
	if len(vs) == 0 {
		return "-"
	}
	cells := make([]string, len(vs))
	for i, v := range vs {
		cells[i] = fmt.Sprintf("%s#%d(%d, %d)", v.Library, v.Index, v.Refs, v.Calls)
	}
	return strings.Join(cells, " ")
}

func sessionRemove(c *cli.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	if err := cl.DeleteSession(c.Context, id); err != nil {
		return err
	}
	if !c.Bool("json") {
		printf(c.App.Writer, "deleted session %d\n", id)
	}
	return nil
}

func sessionLogs(c *cli.Context) error {
	id, err := sessionID(c)
	if err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	rc, err := cl.Console(c.Context, id, 0, c.Bool("follow"))
	if err != nil {
		return err
	}
	defer rc.Close()
	if _, err := io.Copy(c.App.Writer, rc); err != nil {
		return fmt.Errorf("session %d console: %w", id, err)
	}
	return nil
}

// psCommand is `uaaf ps`: the S-F table.
func psCommand() *cli.Command {
	return &cli.Command{
		Name:  "ps",
		Usage: "the S-F table: each session with its EPTP list, as lib#index(refs, calls)",
		Flags: clientFlags(),
		Action: func(c *cli.Context) error {
			return listSessions(c, []any{"ID", "IMAGE", "STATE", "VIEWS lib#index(refs, calls)"},
				func(s api.Session) []any { return []any{s.ID, s.Image, s.State, views(s.Views)} })
		},
	}
}
