package runcmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/uaaf/uaaf/cmd/internal/datadir"
	"github.com/uaaf/uaaf/cmd/internal/prestart"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/seccomp"
	"github.com/uaaf/uaaf/hypervisor/switcher"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/libfuncs/libvm"
	"github.com/uaaf/uaaf/session"
)

// runner runs one `uaaf run`: a plain hvt guest on the monitor alone, or a
// session with its libraries.
type runner struct {
	args    *monitor.Args
	opts    *options
	img     *monitor.Image   // the image, opened and parsed once
	mon     *monitor.Monitor // plain guest
	sess    *session.Session // session
	reg     *libvm.Registry
	sel     *switcher.Selection
	kvm     *kvm.System // the library instances' device, opened before the filter
	preload time.Duration
	confine time.Duration // Install of the seccomp filter (0 with --seccomp=off)
}

// newRunner opens the image once, decides from its notes whether it is a
// session, and loads and binds what argv asked for.
func newRunner(ctx context.Context, args *monitor.Args, opts *options, stderr io.Writer) (r *runner, err error) {
	r = &runner{args: args, opts: opts}
	defer func() {
		if err != nil {
			r.Close()
			r = nil
		}
	}()
	if r.img, err = monitor.OpenImage(args.Config.Kernel); err != nil {
		return r, err
	}
	notes, err := uaafabi.NotesOf(r.img.Image)
	switch {
	case err != nil:
		return r, fmt.Errorf("%s: %w", r.img.Path, err)
	case notes.IsLibrary():
		return r, fmt.Errorf("%s exports functions: it is a library, not a session; load it with --lib NAME=%s and run a session that imports it", r.img.Path, r.img.Path)
	case !notes.IsSession() && len(opts.Libs) > 0:
		return r, fmt.Errorf("%s imports no functions; --lib is only for sessions", r.img.Path)
	}
	cfg := withPrestarted(args.Config)
	cfg.Image = r.img
	if !notes.IsSession() {
		// A plain guest is all a `uaaf run` process runs. (A session is
		// not: call timeouts need timers to fire while it runs.)
		cfg.SoleGuest = true
		r.mon, err = monitor.New(cfg)
		return r, err
	}
	// A session's call deadlines are timers, which start the Go runtime's
	// poller (an epoll instance and an eventfd): start it now, before the
	// libraries take file descriptors, so that running short of them is an
	// error here and not a fatal error of the runtime later.
	time.AfterFunc(time.Hour, func() {}).Stop()
	if r.sel, err = switcher.Select(opts.Switch, ""); err != nil {
		return r, err
	}
	if opts.Verbose {
		fmt.Fprintf(stderr, "uaaf: switch backend: %s\n", r.sel.Why)
	}
	paths := opts.LibPath
	if env := os.Getenv("UAAF_LIB_PATH"); env != "" {
		for _, d := range filepath.SplitList(env) {
			if d != "" {
				paths = append(paths, d)
			}
		}
	}
	if d, err := datadir.Find(); err == nil {
		paths = append(paths, d.Lib) // uaaf's own library images, last
	}
	// Library instances start at a session's first call, under the seccomp
	// filter, which allows no open(2): their KVM device is opened now.
	kvmPath := args.Config.KVMPath
	if kvmPath == "" {
		kvmPath = kvm.DefaultPath
	}
	if r.kvm, err = kvm.Open(kvmPath); err != nil {
		return r, fmt.Errorf("KVM: %w (is KVM enabled, and may this user open %s?)", err, kvmPath)
	}
	cpuid, err := r.kvm.SupportedCPUID()
	if err != nil {
		return r, fmt.Errorf("KVM: %w", err)
	}
	r.reg = libvm.NewRegistry(
		libvm.Config{KVMPath: args.Config.KVMPath, MemSize: opts.LibMemSize, Console: args.Config.Console, Context: ctx,
			Machines: func() (*kvm.Machine, error) { return r.kvm.NewMachine(cpuid) }},
		libfuncs.Config[*libvm.Library]{Paths: paths})
	start := time.Now()
	for _, l := range opts.Libs {
		if _, err := r.reg.Preload(l.Name, l.Path, true); err != nil {
			return r, err
		}
	}
	r.preload = time.Since(start)
	r.sess, err = session.New(session.Config{
		Monitor: cfg, Registry: r.reg, Table: session.NewTable(), Switch: r.sel,
		CallTimeout: opts.CallTimeout, Eager: opts.Eager,
	})
	return r, err
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

// confineProcess installs the seccomp filter (opts.Seccomp) on the whole process,
// after all set-up and before the guest's first instruction.
func (r *runner) confineProcess() error {
	p := seccomp.Runner
	if r.args.Config.DumpCoreDir != "" {
		p = seccomp.RunnerDumpCore
	}
	start := time.Now()
	err := seccomp.Install(r.opts.Seccomp, p)
	if r.opts.Seccomp != seccomp.Off {
		r.confine = time.Since(start)
	}
	if err != nil {
		return fmt.Errorf("%w (run with --seccomp=off to run without the filter)", err)
	}
	return nil
}

func (r *runner) Run(ctx context.Context) (int, error) {
	if err := r.confineProcess(); err != nil {
		return 0, err
	}
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
	if r.sel != nil {
		r.sel.Close()
	}
	if r.kvm != nil {
		r.kvm.Close()
	}
	r.img.Close()
}

// funcStats is one library in `uaaf run --stats`.
type funcStats struct {
	Name     string        `json:"name"`
	Path     string        `json:"path"`
	Refs     int           `json:"refs"`
	Pinned   bool          `json:"pinned"`
	Exports  []string      `json:"exports"`
	MemSize  uint64        `json:"mem_size"`
	Preload  time.Duration `json:"preload_ns"`
	Resident uint64        `json:"pristine_resident_bytes"`
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
	Functions  []funcStats        `json:"functions,omitempty"`
	Seccomp    string             `json:"seccomp"` // the filter in place: off, or "MODE (profile NAME)"
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// PrintStats writes the run's statistics to out as one JSON object, indented
// if out is a terminal.
func (r *runner) PrintStats(out *statsOut, total time.Duration, status int, runErr error) error {
	m := r.mon
	if r.sess != nil {
		m = r.sess.Monitor()
	}
	st := m.Stats()
	rs := runStats{
		Image: r.args.Config.Kernel, Status: status,
		PhasesMs: map[string]float64{
			"preload":           ms(r.preload),
			"load":              ms(st.Load),
			"first_instruction": ms(st.Boot),
			"run_to_halt":       ms(st.Run),
			"run_total":         ms(total),
			"seccomp":           ms(r.confine), // Install of the filter
		},
		VMExits:    st.Exits,
		Hypercalls: map[string]uint64{},
	}
	if runErr != nil {
		rs.Error = runErr.Error()
	}
	rs.Seccomp = "off"
	if mode, prof := seccomp.Installed(); mode != seccomp.Off {
		rs.Seccomp = fmt.Sprintf("%s (profile %s)", mode, prof)
	}
	for nr, n := range st.Hypercalls {
		if n > 0 {
			rs.Hypercalls[strings.ToLower(hvt.Hypercall(nr).String())] = n
		}
	}
	if r.sess != nil {
		rs.Switch = r.sel.Why
		cs := r.sess.SwitchStats()
		rs.Calls = &cs
		row := r.sess.Row()
		rs.Session = &row
		for _, in := range r.reg.List() {
			f := funcStats{Name: in.Name, Path: in.Path, Refs: in.Refs, Pinned: in.Pinned}
			if l := in.Lib; l != nil {
				f.Exports, f.MemSize, f.Preload, f.Resident = l.ExportNames(), l.MemSize(), l.PreloadTime(), l.Resident()
			}
			rs.Functions = append(rs.Functions, f)
		}
		rs.PhasesMs["bind"] = ms(r.sess.BindTime())
	}
	return out.write(rs)
}
