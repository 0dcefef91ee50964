package runcmd

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/seccomp"
)

// Usage is `uaaf run --help` (and `uaaf help run`): solo5-hvt's options,
// then uaaf's own.
var Usage = monitor.Usage + `
UaaF options (sessions that import library functions):
  --lib NAME=PATH                 preload library-function image PATH as NAME
                                  (repeatable; also --lib=NAME=PATH)
  --lib-path DIR[:DIR...]         where to look for NAME.hvt for imports not
                                  given with --lib (also $UAAF_LIB_PATH; uaaf's
                                  own library images are searched last)
  --lib-mem=MiB                   guest memory of each library view (default 4)
  --switch auto|exit|vmfunc       view-switch backend (default auto: vmfunc
                                  where the uaaf module supports it, else exit)
  --call-timeout=DURATION         deadline of one library call (default 10s)
  --eager                         start library instances at bind time, not
                                  at their first call
  --stats[=FILE]                  JSON run statistics at exit: on stderr (indented
                                  when it is a terminal), or written to FILE
  -v, --verbose                   say which view-switch backend was chosen, and why
  --seccomp=kill|log|off          confine uaaf to its allowlist of system calls
                                  before the guest's first instruction: a call
                                  outside it kills uaaf (kill, the default), is
                                  logged by the kernel (log), or no filter (off)
`

// options are the `uaaf run` options for sessions and library functions,
// beside solo5-hvt's (monitor.Args).
type options struct {
	Libs        []libSpec
	LibPath     []string
	LibMemSize  uint64 // bytes; 0 = default
	Switch      string // "", auto, exit, vmfunc
	CallTimeout time.Duration
	Eager       bool
	Stats       bool
	StatsFile   string // --stats=FILE; "" for stderr
	Verbose     bool
	Seccomp     seccomp.Mode
}

// libSpec is one --lib NAME=PATH.
type libSpec struct{ Name, Path string }

// valueOptions take a value, either as --opt=value or as the next word.
var valueOptions = map[string]bool{
	"--lib": true, "--lib-path": true, "--switch": true, "--call-timeout": true, "--lib-mem": true,
	"--seccomp": true,
}

// parseArgs parses a `uaaf run` command line: uaaf's own options, wherever
// they stand before KERNEL, and solo5-hvt's, which monitor.ParseArgs parses
// from what is left. Errors wrap monitor.ErrUsage.
func parseArgs(argv []string) (*monitor.Args, *options, error) {
	o := &options{Seccomp: seccomp.Kill}
	var rest []string
	for i := 0; i < len(argv); i++ {
		w := argv[i]
		if w == "--" || !strings.HasPrefix(w, "-") {
			rest = append(rest, argv[i:]...) // KERNEL and the guest's arguments
			break
		}
		key, val, hasVal := strings.Cut(w, "=")
		switch {
		case w == "--stats":
			o.Stats = true
		case key == "--stats":
			// --stats=FILE only: "--stats KERNEL" must stay --stats alone.
			if val == "" {
				return nil, nil, usageErr("--stats=FILE wants a file name (or --stats alone, for stderr)")
			}
			o.Stats, o.StatsFile = true, val
		case w == "--eager":
			o.Eager = true
		case w == "--verbose" || w == "-v":
			o.Verbose = true
		case valueOptions[key]:
			if !hasVal {
				if i+1 >= len(argv) || argv[i+1] == "--" {
					return nil, nil, usageErr(fmt.Sprintf("%s needs a value (see uaaf run --help)", key))
				}
				i++
				val = argv[i]
			}
			if err := o.set(key, val); err != nil {
				return nil, nil, err
			}
		default:
			rest = append(rest, w)
		}
	}
	args, err := monitor.ParseArgs(rest)
	if err != nil {
		return nil, nil, err
	}
	return args, o, nil
}

// set applies one UaaF option with its value.
func (o *options) set(key, val string) error {
	switch key {
	case "--lib":
		name, path, ok := strings.Cut(val, "=")
		if !ok || name == "" || path == "" {
			return usageErr(fmt.Sprintf("--lib wants NAME=PATH, got %q", val))
		}
		for _, l := range o.Libs {
			if l.Name == name {
				return usageErr(fmt.Sprintf("library '%s' given more than once", name))
			}
		}
		o.Libs = append(o.Libs, libSpec{Name: name, Path: path})
	case "--lib-path":
		for _, d := range strings.Split(val, ":") {
			if d != "" {
				o.LibPath = append(o.LibPath, d)
			}
		}
	case "--lib-mem":
		mib, err := strconv.ParseInt(val, 10, 64)
		if err != nil || mib < 2 || mib > 4096 {
			return usageErr("--lib-mem wants MiB from 2 to 4096, got " + val)
		}
		o.LibMemSize = uint64(mib) << 20 &^ (2<<20 - 1)
	case "--switch":
		switch val {
		case "auto", "exit", "vmfunc":
			o.Switch = val
		default:
			return usageErr(fmt.Sprintf("--switch wants auto, exit or vmfunc, got %q", val))
		}
	case "--seccomp":
		m, err := seccomp.ParseMode(val)
		if err != nil {
			return usageErr(fmt.Sprintf("--seccomp wants kill, log or off, got %q", val))
		}
		o.Seccomp = m
	case "--call-timeout":
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return usageErr(fmt.Sprintf("--call-timeout wants a positive duration such as 500ms or 10s, got %q", val))
		}
		o.CallTimeout = d
	}
	return nil
}

func usageErr(msg string) error { return &monitor.Error{Kind: monitor.ErrUsage, Msg: msg} }
