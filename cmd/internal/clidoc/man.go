package main

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/datadir"
)

// manPage renders app as a section-1 man page with urfave/cli's generator,
// after giving each command what that generator leaves out (its
// description, its arguments, uaaf run's own option list), and appends the
// sections it has no place for: exit status, environment, files.
// It changes app.
func manPage(app *cli.App) (string, error) {
	var prepare func(prefix string, cmds []*cli.Command)
	prepare = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			path := prefix + " " + c.Name
			switch {
			case c.CustomHelpTemplate != "" && !strings.Contains(c.CustomHelpTemplate, "{{"):
				c.UsageText = c.CustomHelpTemplate // uaaf run: its whole option list
			case c.UsageText == "":
				c.UsageText = path
				if len(c.Subcommands) > 0 {
					c.UsageText += " COMMAND"
				}
				if len(c.VisibleFlags()) > 0 {
					c.UsageText += " [OPTIONS]"
				}
				if c.ArgsUsage != "" {
					c.UsageText += " " + c.ArgsUsage
				}
			}
			c.Usage = mdEscape(c.Usage)
			if c.Description != "" {
				c.Usage += ".\n\n" + mdEscape(strings.Join(strings.Fields(c.Description), " "))
			}
			escapeFlags(c.Flags)
			prepare(path, c.Subcommands)
		}
	}
	prepare(app.Name, app.Commands)
	app.UsageText = app.Name + " COMMAND [OPTIONS] [ARGUMENTS...]"
	page, err := app.ToManWithSection(1)
	if err != nil {
		return "", fmt.Errorf("man page: %w", err)
	}
	return asciiRoff(page + extraSections), nil
}

// asciiRoff spells the non-ASCII characters of a roff text as groff's
// \[uXXXX] escapes, so that no input encoding has to be guessed.
func asciiRoff(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, `\[u%04X]`, r)
		}
	}
	return b.String()
}

// mdEscape escapes what urfave/cli's Markdown would take for markup in a
// usage text: "rate[,min=…] (overrides …)" is no link.
func mdEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, "*", `\*`).Replace(s)
}

// escapeFlags applies mdEscape to each flag's Usage (a field of every
// urfave/cli flag type, which the Flag interface does not expose).
func escapeFlags(flags []cli.Flag) {
	for _, f := range flags {
		v := reflect.ValueOf(f)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		if u := v.Elem().FieldByName("Usage"); u.IsValid() && u.Kind() == reflect.String && u.CanSet() {
			u.SetString(mdEscape(u.String()))
		}
	}
}

// extraSections are the man page's sections the command definitions do not
// hold, in roff.
var extraSections = `.SH EXIT STATUS
.PP
\fBuaaf run\fP exits with the guest's exit status (0\-255; 255 when the guest
aborted or trapped), \fBuaaf invoke\fP with its session's.
Any error of uaaf's own \- a wrong option, a missing or malformed image, an
unresolved import, a guest breaking the ABI \- prints one line
\fBuaaf: ...\fP on standard error and exits 1.
.SH ENVIRONMENT
.TP
\fB` + datadir.Env + `\fP
uaaf's data directory (library images in \fIlib/\fP, guest images in
\fIguest/\fP), instead of the one found next to the binary.
.TP
\fBUAAF_LIB_PATH\fP
Directories, separated by colons, searched for \fINAME\fP.hvt when a session
imports library \fINAME\fP and no \-\-lib gave it (after \-\-lib\-path).
.TP
\fBUAAF_SOCKET\fP
The unix socket of \fBuaaf serve\fP and its client commands (\-\-socket).
.TP
\fBUAAF_CTL\fP
The uaaf\-ctl binary that runs the daemon, benchmark and client commands,
instead of the one next to uaaf.
.SH FILES
.TP
\fIPREFIX/` + datadir.ShareDir + `/lib/\fP
The library\-function images, searched last for a session's imports
(\fBuaaf inspect\fP lists a library's exports).
.TP
\fIPREFIX/` + datadir.ShareDir + `/guest/\fP
Guest images: plain unikernels (hello, blk), the demo session and the
benchmark sessions.
.TP
\fIPREFIX/` + datadir.ShareDir + `/sdk/\fP
The guest SDK: \fIsdk.mk\fP, headers, linker script and runtime, for building
unikernels, library functions and sessions (see its README.md).
`
