package replay

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/tools/trace"
)

// genTrace writes a small synthetic day into a fresh directory.
func genTrace(t *testing.T, functions int, active string) string {
	t.Helper()
	dir := t.TempDir()
	o := trace.DefaultGenOptions()
	o.Functions, o.Apps, o.Owners = functions, max(functions/3, 1), max(functions/6, 1)
	w, err := trace.ParseWindow(active)
	if err != nil {
		t.Fatal(err)
	}
	o.Active, o.PeakPerMinute = w, 30
	if err := trace.Generate(dir, o); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoad(t *testing.T) {
	dir := genTrace(t, 30, "1-10")
	p, err := Load(Options{TraceDir: dir, Window: trace.Window{From: 3, To: 7}, Speedup: 10, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if p.Day != 1 || p.Functions != 30 || len(p.Invocations) == 0 || !slices.Equal(p.Images, []string{DefaultImage}) {
		t.Fatalf("plan: day %d, %d functions, %d invocations, images %v", p.Day, p.Functions, len(p.Invocations), p.Images)
	}
	if p.Duration() != 5*time.Minute || p.WallDuration() != 30*time.Second {
		t.Errorf("durations %v, %v", p.Duration(), p.WallDuration())
	}
	funcs := map[*trace.Function]bool{}
	for _, inv := range p.Invocations {
		funcs[inv.Func] = true
	}
	if info := p.Info(); info.Invoked != len(funcs) || info.Invocations != len(p.Invocations) || info.Functions != 30 {
		t.Errorf("Info: %d functions invoked, %d invocations, %d functions; want %d, %d, 30",
			info.Invoked, info.Invocations, info.Functions, len(funcs), len(p.Invocations))
	}
	alias := regexp.MustCompile(`^a[0-9a-f]{12}_[a-z0-9]+$`)
	byApp := map[trace.AppKey]map[string]string{}
	prev := time.Duration(-1)
	for i, inv := range p.Invocations {
		if inv.Seq != i || inv.Due < prev || inv.Due < 0 || inv.Due >= p.WallDuration() {
			t.Fatalf("invocation %d: seq %d due %v after %v", i, inv.Seq, inv.Due, prev)
		}
		prev = inv.Due
		if want := (inv.Offset - 2*time.Minute) / 10; inv.Due-want > time.Nanosecond || want-inv.Due > time.Nanosecond {
			t.Fatalf("invocation %d: due %v, offset %v", i, inv.Due, inv.Offset)
		}
		if want := inv.RunTime / 10; inv.Run-want > time.Nanosecond || want-inv.Run > time.Nanosecond {
			t.Fatalf("invocation %d: run %v, trace run %v", i, inv.Run, inv.RunTime)
		}
		if len(inv.Alias) != len(inv.Libraries) || len(inv.Libraries) == 0 {
			t.Fatalf("invocation %d: alias %v for libraries %v", i, inv.Alias, inv.Libraries)
		}
		for _, l := range inv.Libraries {
			a := inv.Alias[l]
			if !alias.MatchString(a) || !strings.HasSuffix(a, "_"+l) || p.Aliases[a] != l {
				t.Fatalf("alias %q of %s (plan: %q)", a, l, p.Aliases[a])
			}
		}
		app := inv.Func.Key.AppKey()
		if m, ok := byApp[app]; ok && !mapsEqual(m, inv.Alias) {
			t.Fatalf("app %v has aliases %v and %v", app, m, inv.Alias)
		}
		byApp[app] = inv.Alias
	}
	// Apps never share an alias.
	owner := map[string]trace.AppKey{}
	for app, m := range byApp {
		for _, a := range m {
			if o, ok := owner[a]; ok && o != app {
				t.Fatalf("alias %s of apps %v and %v", a, o, app)
			}
			owner[a] = app
		}
	}
	if got := p.RequestedRate(); got != float64(len(p.Invocations))/30 {
		t.Errorf("requested rate %v", got)
	}

	// The same options give the same plan; Shared has no aliases.
	q, err := Load(Options{TraceDir: dir, Window: trace.Window{From: 3, To: 7}, Speedup: 10, Seed: 7, Tenancy: Shared})
	if err != nil {
		t.Fatal(err)
	}
	if len(q.Invocations) != len(p.Invocations) || q.Invocations[5].Due != p.Invocations[5].Due || q.Aliases != nil || q.Invocations[0].Alias != nil {
		t.Errorf("shared plan differs beyond its aliases")
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestLoadMalformed: a malformed row anywhere fails Load with the file and
// line; so do bad options, a missing day and a bad mapping.
func TestLoadMalformed(t *testing.T) {
	dir := genTrace(t, 10, "1-5")
	inv := filepath.Join(dir, trace.InvocationsFile(1))
	b, err := os.ReadFile(inv)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	fields := strings.Split(lines[6], ",")
	fields[4+10] = "12x" // minute 11 of line 7
	lines[6] = strings.Join(fields, ",")
	if err := os.WriteFile(inv, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(Options{TraceDir: dir, Window: trace.Window{From: 1, To: 5}})
	var fe *trace.FileError
	if !errors.As(err, &fe) || fe.Line != 7 || !strings.Contains(err.Error(), inv+`:7: column "11": "12x" is not a count`) {
		t.Fatalf("err = %v, want the file, line 7 and column 11", err)
	}

	good := genTrace(t, 10, "1-5")
	badMap := filepath.Join(t.TempDir(), "map.json")
	os.WriteFile(badMap, []byte(`{"imagez": "x"}`), 0o644)
	two := genTrace(t, 5, "1-2")
	o := trace.DefaultGenOptions()
	o.Functions, o.Apps, o.Owners, o.Day = 5, 2, 1, 2
	if err := trace.Generate(two, o); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"speedup", Options{TraceDir: good, Speedup: -1}, "speed-up -1"},
		{"no trace", Options{TraceDir: t.TempDir()}, "no invocations_per_function_md.anon.dNN.csv in"},
		{"two days", Options{TraceDir: two}, "holds 2 days of the trace ([1 2]): choose one with --day"},
		{"missing day", Options{TraceDir: good, Day: 3}, trace.InvocationsFile(3)},
		{"mapping", Options{TraceDir: good, MapFile: badMap}, `unknown field "imagez"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Load(tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if p, err := Load(Options{TraceDir: two, Day: 2}); err != nil || p.Day != 2 {
		t.Errorf("--day 2: %v", err)
	}
}

func TestAliasName(t *testing.T) {
	a := trace.AppKey{Owner: "o", App: "x"}
	n1, err := AliasName(a, "sha256")
	n2, _ := AliasName(a, "sha256")
	n3, _ := AliasName(trace.AppKey{Owner: "o", App: "y"}, "sha256")
	if err != nil || n1 != n2 || n1 == n3 || len(n1) != 20 || !strings.HasPrefix(n1, "a") || !strings.HasSuffix(n1, "_sha256") {
		t.Errorf("AliasName: %q %q %q %v", n1, n2, n3, err)
	}
	if _, err := AliasName(a, strings.Repeat("l", 18)); !errors.Is(err, ErrUsage) {
		t.Errorf("long library name: %v", err)
	}
	if n, err := AliasName(a, strings.Repeat("l", 17)); err != nil || len(n) != 31 {
		t.Errorf("longest library name: %q %v", n, err)
	}
}

// TestWriteAliases: one symbolic link per alias, to the library's file;
// a library not found is an error naming it.
func TestWriteAliases(t *testing.T) {
	libs := t.TempDir()
	for _, l := range trace.ShippedLibraries {
		os.WriteFile(filepath.Join(libs, l+".hvt"), []byte(l), 0o644)
	}
	p, err := Load(Options{TraceDir: genTrace(t, 12, "1-3")})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "lib")
	for range 2 { // twice: the second finds them made
		if err := p.WriteAliases(dir, []string{t.TempDir(), libs}); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != len(p.Aliases) || len(ents) == 0 {
		t.Fatalf("%d links for %d aliases", len(ents), len(p.Aliases))
	}
	for a, l := range p.Aliases {
		b, err := os.ReadFile(filepath.Join(dir, a+".hvt"))
		if err != nil || string(b) != l {
			t.Errorf("%s.hvt reads %q, %v; want %s's file", a, b, err, l)
		}
	}
	os.Remove(filepath.Join(libs, "sort.hvt"))
	if slices.Contains(p.Libraries, "sort") {
		if err := p.WriteAliases(t.TempDir(), []string{libs}); !errors.Is(err, ErrSetup) || !strings.Contains(err.Error(), "sort.hvt not found") {
			t.Errorf("missing library: %v", err)
		}
	}
	if _, err := p.ResolveImages([]string{libs}); !errors.Is(err, ErrSetup) || !strings.Contains(err.Error(), "replay.hvt not found") {
		t.Errorf("missing image: %v", err)
	}
}
