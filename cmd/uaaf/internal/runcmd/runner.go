package runcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uaaf/uaaf/cmd/uaaf/internal/prestart"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/switcher"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/session"
)

// runner runs one `uaaf run`: a plain hvt guest on the monitor alone, or a
// session with its libraries.
type runner struct {
	args    *monitor.Args
	mon     *monitor.Monitor // plain guest
	sess    *session.Session // session
	reg     *libfuncs.Registry
	backend string // switch backend and why
	preload time.Duration
}

// newRunner loads and binds what argv asked for.
func newRunner(args *monitor.Args, stderr io.Writer) (*runner, error) {
	r := &runner{args: args}
	isSession, err := wantsSession(args)
	if err != nil {
		return nil, err
	}
	if !isSession {
		// A plain guest is all a `uaaf run` process runs. (A session is
		// not: call timeouts need timers to fire while it runs.)
		cfg := withPrestarted(args.Config)
		cfg.SoleGuest = true
		if r.mon, err = monitor.New(cfg); err != nil {
			return nil, err
		}
		return r, nil
	}
	backend, why, err := switcher.Select(args.UaaF.Switch)
	if err != nil {
		return nil, err
	}
	r.backend = why
	if args.UaaF.Switch == "" || args.UaaF.Switch == "auto" {
		fmt.Fprintf(stderr, "uaaf: switch backend: %s\n", why)
	}
	paths := args.UaaF.LibPath
	if env := os.Getenv("UAAF_LIB_PATH"); env != "" {
		for _, d := range filepath.SplitList(env) {
			if d != "" {
				paths = append(paths, d)
			}
		}
	}
	r.reg, err = libfuncs.NewRegistry(libfuncs.Config{
		KVMPath: args.Config.KVMPath, MemSize: args.UaaF.LibMemSize,
		Paths: paths, Console: args.Config.Console,
	})
	if err != nil {
		return nil, err
	}
	start := time.Now()
	for _, l := range args.UaaF.Libs {
		if _, err := r.reg.Preload(l.Name, l.Path, true); err != nil {
			r.Close()
			return nil, err
		}
	}
	r.preload = time.Since(start)
	r.sess, err = session.New(session.Config{
		Monitor: withPrestarted(args.Config), Registry: r.reg, Table: session.NewTable(), Backend: backend,
		CallTimeout: args.UaaF.CallTimeout, Eager: args.UaaF.Eager,
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// withPrestarted gives cfg the KVM machine package prestart began creating
// for this process, if any. Only the monitor.New (or session.New) it is
// passed to may use the result: New takes the machine over even when it
// fails.
func withPrestarted(cfg monitor.Config) monitor.Config {
	if cfg.KVMPath == "" {
		cfg.Machine = prestart.Take()
	}
	return cfg
}

// wantsSession reports whether the image imports functions (or libraries
// were given, which only a session can use).
func wantsSession(args *monitor.Args) (bool, error) {
	f, err := hvt.Open(args.Config.Kernel)
	if err != nil {
		return false, monitor.CouldNotOpen(args.Config.Kernel, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return false, nil // let the monitor report it
	}
	notes, err := uaafabi.ReadNotes(f, fi.Size())
	if err != nil {
		return false, nil // let the monitor's loader report what is wrong first
	}
	if notes.IsLibrary() {
		return false, fmt.Errorf("%s exports functions: it is a library, not a session; load it with --lib NAME=%s and run a session that imports it", args.Config.Kernel, args.Config.Kernel)
	}
	if !notes.IsSession() && len(args.UaaF.Libs) > 0 {
		return false, fmt.Errorf("%s imports no functions; --lib is only for sessions", args.Config.Kernel)
	}
	return notes.IsSession(), nil
}

func (r *runner) Run(ctx context.Context) (int, error) {
	if r.sess != nil {
		return r.sess.Run(ctx)
	}
	return r.mon.Run(ctx)
}

func (r *runner) Close() {
	if r.sess != nil {
		r.sess.Close()
	}
	if r.mon != nil {
		r.mon.Close()
	}
	if r.reg != nil {
		r.reg.Close()
	}
}

// runStats is the JSON `uaaf run --stats` prints to stderr.
type runStats struct {
	Image      string             `json:"image"`
	Status     int                `json:"exit_status"`
	Error      string             `json:"error,omitempty"`
	Switch     string             `json:"switch,omitempty"`
	PhasesMs   map[string]float64 `json:"phases_ms"`
	VMExits    uint64             `json:"vm_exits"`
	Hypercalls map[string]uint64  `json:"hypercalls"`
	Calls      *switcher.Stats    `json:"calls,omitempty"`
	Session    *session.Row       `json:"session,omitempty"`
	Functions  []libfuncs.Info    `json:"functions,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// PrintStats writes the run's statistics as one JSON object.
func (r *runner) PrintStats(w io.Writer, total time.Duration, status int, runErr error) {
	m := r.mon
	if r.sess != nil {
		m = r.sess.Monitor()
	}
	st := m.Stats()
	out := runStats{
		Image: r.args.Config.Kernel, Status: status,
		PhasesMs: map[string]float64{
			"preload":           ms(r.preload),
			"load":              ms(st.Load),
			"first_instruction": ms(st.Boot),
			"run_to_halt":       ms(st.Run),
			"run_total":         ms(total),
		},
		VMExits:    st.Exits,
		Hypercalls: map[string]uint64{},
	}
	if runErr != nil {
		out.Error = runErr.Error()
	}
	for nr, n := range st.Hypercalls {
		if n > 0 {
			out.Hypercalls[strings.ToLower(hvt.Hypercall(nr).String())] = n
		}
	}
	if r.sess != nil {
		out.Switch = r.backend
		cs := r.sess.SwitchStats()
		out.Calls = &cs
		row := r.sess.Row()
		out.Session = &row
		out.Functions = r.reg.List()
		out.PhasesMs["bind"] = ms(r.sess.BindTime())
	}
	b, _ := json.Marshal(out)
	fmt.Fprintf(w, "%s\n", b)
}
