package replay

import (
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uaaf/uaaf/tools/trace"
)

// DefaultImage is the session image every function runs unless a mapping
// file says otherwise: guest/build/replay.hvt, which calls its four
// libraries once and then stays running for the run time it is given.
const DefaultImage = "replay"

// Tenancy says whether apps share library functions or get their own.
type Tenancy int

const (
	// PerApp gives each app its own instances of the libraries its mapping
	// assigns it (see the package doc).
	PerApp Tenancy = iota
	// Shared binds every import to the shared library of its name.
	Shared
)

// ParseTenancy parses "per-app" or "shared".
func ParseTenancy(s string) (Tenancy, error) {
	switch s {
	case "per-app":
		return PerApp, nil
	case "shared":
		return Shared, nil
	}
	return 0, fmt.Errorf("%w: libraries %q: want per-app or shared", ErrUsage, s)
}

func (t Tenancy) String() string {
	if t == Shared {
		return "shared"
	}
	return "per-app"
}

// Options select what Load replays.
type Options struct {
	// TraceDir holds the trace files.
	TraceDir string
	// Day is the trace day (the files' dNN); 0 means the one day whose
	// invocations file is in TraceDir (an error if there are several).
	Day int
	// Window is the minutes to replay; zero: the whole day.
	Window trace.Window
	// Speedup is how many times faster than real time the trace runs,
	// 0.001 to 1e6; 0 means 1.
	Speedup float64
	// Seed, Spread and Sample are trace.ArrivalOptions'.
	Seed   uint64
	Spread trace.Spread
	Sample float64
	// MapFile is a tools/trace mapping file; "" means every function runs
	// DefaultImage and apps spread over the shipped libraries.
	MapFile string
	// Tenancy: per-app library instances (default) or shared ones.
	Tenancy Tenancy
	// MaxArrivals bounds the plan; 0: trace.DefaultMaxArrivals.
	MaxArrivals int
}

// Invocation is one invocation to replay.
type Invocation struct {
	// Seq numbers invocations in due order from 0.
	Seq int
	trace.Arrival
	// Due is when to send it, in real time from the replay's start.
	Due time.Duration
	// Run is its run time in real time (Arrival.RunTime / speed-up).
	Run time.Duration
	// Alias maps each library its app uses to the app's own instance
	// (PerApp); nil when Shared. Shared by the invocations of one app: do
	// not modify.
	Alias map[string]string
}

// Plan is a replay ready to run. It is read-only once made.
type Plan struct {
	Options Options
	// Day is the trace day read.
	Day int
	// Functions and Apps count the trace's functions and apps (all of
	// them, invoked in the window or not).
	Functions, Apps int
	// Invocations in due order.
	Invocations []Invocation
	// Images are the session images the invocations run, sorted.
	Images []string
	// Libraries are the library functions the mapping assigns, sorted.
	Libraries []string
	// Aliases maps each per-app library instance to the library it is a
	// copy of (PerApp only).
	Aliases map[string]string
}

// Duration is the window's length in trace time.
func (p *Plan) Duration() time.Duration {
	return p.Options.Window.End() - p.Options.Window.Start()
}

// WallDuration is the window's length in real time.
func (p *Plan) WallDuration() time.Duration { return scale(p.Duration(), 1/p.Options.Speedup) }

// RequestedRate is the invocations per second of real time the plan asks
// for, on average over its window.
func (p *Plan) RequestedRate() float64 {
	return float64(len(p.Invocations)) / p.WallDuration().Seconds()
}

// scale returns d×k rounded to the nanosecond.
func scale(d time.Duration, k float64) time.Duration {
	return time.Duration(math.Round(float64(d) * k))
}

var dayFile = regexp.MustCompile(`^invocations_per_function_md\.anon\.d(\d{2})\.csv$`)

// findDay returns the one day whose invocations file is in dir.
func findDay(dir string) (int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("%w: trace: %w", ErrUsage, err)
	}
	var days []int
	for _, e := range ents {
		if m := dayFile.FindStringSubmatch(e.Name()); m != nil {
			d, _ := strconv.Atoi(m[1])
			days = append(days, d)
		}
	}
	switch len(days) {
	case 0:
		return 0, fmt.Errorf("%w: no %s in %s", ErrUsage, strings.Replace(trace.InvocationsFile(1), "01", "NN", 1), dir)
	case 1:
		return days[0], nil
	}
	return 0, fmt.Errorf("%w: %s holds %d days of the trace (%v): choose one with --day", ErrUsage, dir, len(days), days)
}

// Load reads the trace and the mapping and plans the replay. Every file is
// read and checked here: a malformed one fails Load with an error naming
// it (and the line, for the trace's CSV files).
func Load(opts Options) (*Plan, error) {
	if opts.Speedup == 0 {
		opts.Speedup = 1
	}
	if !(opts.Speedup >= 1e-3 && opts.Speedup <= 1e6) {
		return nil, fmt.Errorf("%w: speed-up %v not in [0.001, 1e6]", ErrUsage, opts.Speedup)
	}
	if opts.Window == (trace.Window{}) {
		opts.Window = trace.FullDay
	}
	day := opts.Day
	if day == 0 {
		var err error
		if day, err = findDay(opts.TraceDir); err != nil {
			return nil, err
		}
	}
	tr, err := trace.Load(opts.TraceDir, day)
	if err != nil {
		return nil, err
	}
	mp, err := loadMapping(opts.MapFile)
	if err != nil {
		return nil, err
	}
	arr, err := trace.Arrivals(tr, trace.ArrivalOptions{Window: opts.Window, Spread: opts.Spread, Seed: opts.Seed,
		Sample: opts.Sample, MaxArrivals: opts.MaxArrivals, Mapping: mp})
	if err != nil {
		return nil, err
	}
	p := &Plan{Options: opts, Day: day, Functions: len(tr.Functions), Invocations: make([]Invocation, len(arr))}
	apps := map[trace.AppKey]map[string]string{}
	images, libs := map[string]bool{}, map[string]bool{}
	if opts.Tenancy == PerApp {
		p.Aliases = map[string]string{}
	}
	for _, f := range tr.Functions {
		apps[f.Key.AppKey()] = nil
	}
	p.Apps = len(apps)
	for i, a := range arr {
		inv := &p.Invocations[i]
		inv.Seq, inv.Arrival = i, a
		inv.Due = scale(a.Offset-opts.Window.Start(), 1/opts.Speedup)
		inv.Run = scale(a.RunTime, 1/opts.Speedup)
		images[a.Image] = true
		for _, l := range a.Libraries {
			libs[l] = true
		}
		if opts.Tenancy != PerApp {
			continue
		}
		key := a.Func.Key.AppKey()
		alias := apps[key]
		if alias == nil {
			alias = make(map[string]string, len(a.Libraries))
			for _, l := range a.Libraries {
				name, err := AliasName(key, l)
				if err != nil {
					return nil, err
				}
				if prev, dup := p.Aliases[name]; dup {
					return nil, fmt.Errorf("%w: apps collide on the library alias %s (%s); use --libraries shared", ErrSetup, name, prev)
				}
				alias[l] = name
				p.Aliases[name] = l
			}
			apps[key] = alias
		}
		inv.Alias = alias
	}
	p.Images = slices.Sorted(maps.Keys(images))
	p.Libraries = slices.Sorted(maps.Keys(libs))
	return p, nil
}

// loadMapping reads path, or makes the default mapping.
func loadMapping(path string) (*trace.Mapping, error) {
	if path == "" {
		return trace.ParseMapping("the default mapping", strings.NewReader(`{"image": "`+DefaultImage+`"}`))
	}
	return trace.LoadMapping(path)
}

// libNameMax is the longest library name the daemon takes (31 bytes).
const libNameMax = 31

// AliasName names app's own instance of library lib: "a", the first 48
// bits of FNV-1a-64 of the app's owner and app hashes in hex, "_", lib
// ("a3f09c1b2d4e5_sha256"). Stable across runs and machines; an error if
// the result is longer than a library name may be.
func AliasName(app trace.AppKey, lib string) (string, error) {
	h := fnv.New64a()
	h.Write([]byte(app.Owner + "\x00" + app.App))
	name := fmt.Sprintf("a%012x_%s", h.Sum64()>>16, lib)
	if len(name) > libNameMax {
		return "", fmt.Errorf("%w: library %q: a per-app instance's name %s would be longer than %d bytes (use a shorter library name or --libraries shared)",
			ErrUsage, lib, name, libNameMax)
	}
	return name, nil
}

// findFile returns the first dir/name in dirs that is a regular file.
func findFile(dirs []string, name string) (string, error) {
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return filepath.Abs(p)
		}
	}
	return "", fmt.Errorf("%s not found in %s", name, strings.Join(dirs, ":"))
}

// ResolveImages returns the file IMAGE.hvt of each of p's images, found
// in dirs.
func (p *Plan) ResolveImages(dirs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, im := range p.Images {
		path, err := findFile(dirs, im+".hvt")
		if err != nil {
			return nil, fmt.Errorf("%w: image %s: %w", ErrSetup, im, err)
		}
		out[im] = path
	}
	return out, nil
}

// WriteAliases makes dir hold, for each per-app library instance, a
// symbolic link ALIAS.hvt to its library's file found in libDirs; a
// daemon searching dir then loads each instance on its own. It does
// nothing for a Shared plan.
func (p *Plan) WriteAliases(dir string, libDirs []string) error {
	if len(p.Aliases) == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("%w: %w", ErrSetup, err)
	}
	files := map[string]string{}
	for _, l := range p.Libraries {
		path, err := findFile(libDirs, l+".hvt")
		if err != nil {
			return fmt.Errorf("%w: library %s: %w", ErrSetup, l, err)
		}
		files[l] = path
	}
	for alias, lib := range p.Aliases {
		link := filepath.Join(dir, alias+".hvt")
		if cur, err := os.Readlink(link); err == nil && cur == files[lib] {
			continue
		}
		os.Remove(link)
		if err := os.Symlink(files[lib], link); err != nil {
			return fmt.Errorf("%w: %w", ErrSetup, err)
		}
	}
	return nil
}
