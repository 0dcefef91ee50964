package ctlapp

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
)

// invokeCommand is `uaaf invoke`: one session, created, run to its end and
// deleted by the daemon.
func invokeCommand() *cli.Command {
	return &cli.Command{
		Name:      "invoke",
		Usage:     "run a session on the daemon to its end: its console on stdout, its exit status as uaaf's",
		ArgsUsage: "IMAGE|NAME [ARGS...]",
		Description: `uaaf invoke asks the daemon to create a session of IMAGE (a registered name, or
an image path), run it to its end and delete it. The console output goes to
standard output and uaaf exits with the session's exit status; a session that
failed or was killed (its --timeout, say) exits 255 with one line on stderr
saying why. With --json it prints the daemon's answer instead — state,
exit_status, output, timings in ns (queued, bind, boot, start, run, total, cpu)
and the S-F row — and exits 0 whenever there is an answer.`,
		Flags:  clientFlags(limitFlags()...),
		Action: invoke,
	}
}

func invoke(c *cli.Context) error {
	if err := wantArgs(c, 1, -1, "an IMAGE or NAME"); err != nil {
		return err
	}
	spec, err := sessionSpec(c)
	if err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	r, err := cl.Invoke(c.Context, api.Invoke{Image: spec.Image, Args: spec.Args, MemMiB: spec.MemMiB, Input: spec.Input, Limits: spec.Limits})
	if err != nil {
		return unknownImage(err, spec.Image)
	}
	if c.Bool("json") {
		return printJSON(c.App.Writer, r)
	}
	c.App.Writer.Write(r.ConsoleBytes())
	if r.Truncated {
		printf(c.App.ErrWriter, "uaaf: note: console output beyond %s was dropped (--max-console)\n", humanBytes(r.Console))
	}
	if r.State == api.StateExited && r.ExitStatus != nil {
		if *r.ExitStatus == 0 {
			return nil
		}
		return &command.ExitError{Code: *r.ExitStatus}
	}
	printf(c.App.ErrWriter, "uaaf: session %d %s: %s\n", r.ID, r.State, orDash(r.Error))
	return &command.ExitError{Code: 255}
}

// eventsCommand is `uaaf events`: the daemon's event stream.
func eventsCommand() *cli.Command {
	return &cli.Command{
		Name:  "events",
		Usage: "follow the daemon's events (sessions created, started, exited …; libraries loaded, instantiated, unloaded)",
		Description: `uaaf events prints the events the daemon kept (its last 1024) with a sequence
number above --since, then each new one as it happens, one per line (NDJSON
with --json), until the daemon stops or uaaf is interrupted.`,
		Flags:  clientFlags(&cli.Uint64Flag{Name: "since", Usage: "only events after sequence number `N`"}),
		Action: events,
	}
}

func events(c *cli.Context) error {
	if err := wantArgs(c, 0, 0, "no arguments"); err != nil {
		return err
	}
	cl := dial(c)
	defer cl.Close()
	since := c.Uint64("since")
	for {
		es, err := cl.Events(c.Context, since)
		if err != nil {
			return err
		}
		for es.Next() {
			if err := writeEvent(c, es.Event()); err != nil {
				es.Close()
				return err
			}
		}
		err = es.Err()
		es.Close()
		if errors.Is(err, client.ErrEventsLost) {
			// Too slow for the daemon: pick up where we were, from the
			// events it kept.
			since = es.Last()
			continue
		}
		return err // nil: the daemon ended the stream
	}
}

// writeEvent prints one event: a line of text, or of JSON.
func writeEvent(c *cli.Context, ev api.Event) error {
	if c.Bool("json") {
		return printJSONLine(c.App.Writer, ev)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", ev.Seq, ev.Time.Local().Format("2006-01-02T15:04:05.000000Z07:00"), ev.Type)
	if ev.Session != 0 {
		fmt.Fprintf(&b, " session=%d", ev.Session)
	}
	if ev.Image != "" {
		fmt.Fprintf(&b, " image=%s", quoteIfNeeded(ev.Image))
	}
	if ev.Library != "" {
		fmt.Fprintf(&b, " library=%s", ev.Library)
	}
	if ev.Status != nil {
		fmt.Fprintf(&b, " status=%d", *ev.Status)
	}
	if ev.Detail != "" {
		fmt.Fprintf(&b, " detail=%s", quoteIfNeeded(ev.Detail))
	}
	b.WriteByte('\n')
	_, err := io.WriteString(c.App.Writer, b.String())
	return err
}

// quoteIfNeeded quotes s if it has spaces, quotes or control characters.
func quoteIfNeeded(s string) string {
	if s == "" || strings.ContainsAny(s, " \t\"\\=") || strconv.Quote(s) != `"`+s+`"` {
		return strconv.Quote(s)
	}
	return s
}
