package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/ctlapp"
	"github.com/uaaf/uaaf/cmd/internal/runcmd"
	"github.com/uaaf/uaaf/cmd/internal/uaafapp"
)

// commandPaths lists every visible command path of the full tree: "run",
// "bench call", …
func commandPaths(t *testing.T) []string {
	t.Helper()
	var paths []string
	for _, n := range nodes(commandTree()) {
		if n.path != "" && n.path != "help" {
			paths = append(paths, n.path)
		}
	}
	return paths
}

// TestCommandTree: the tree holds uaaf's own commands and uaaf-ctl's full
// definitions of the ones uaaf hands to it — every one, and no other.
func TestCommandTree(t *testing.T) {
	app := commandTree()
	var got []string
	for _, c := range app.Commands {
		got = append(got, c.Name)
	}
	var want []string
	for _, c := range uaafapp.New().Commands {
		want = append(want, c.Name)
	}
	want = append(want, "help")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	usage := map[string]string{} // uaaf's copy of each usage, for `uaaf --help`
	for _, c := range uaafapp.New().Commands {
		usage[c.Name] = c.Usage
	}
	for _, c := range ctlapp.Commands() {
		if !uaafapp.IsCtlCommand(c.Name) {
			t.Errorf("uaaf-ctl serves %q, which uaaf does not hand to it", c.Name)
		} else if usage[c.Name] != c.Usage {
			t.Errorf("uaaf --help says %q does %q, uaaf-ctl says %q", c.Name, usage[c.Name], c.Usage)
		}
	}
	paths := commandPaths(t)
	for _, p := range []string{"run", "inspect", "probe", "version", "serve", "bench call", "bench fig10", "lib load", "session logs", "ps", "invoke", "events"} {
		if !slices.Contains(paths, p) {
			t.Errorf("no command %q in %q", p, paths)
		}
	}
}

func TestUsageOptions(t *testing.T) {
	tests := []struct {
		line   string
		words  []string
		valued bool
	}{
		{"  --mem=MiB                       guest memory in MiB", []string{"--mem="}, false},
		{"  --block:NAME=PATH               attach file PATH", []string{"--block:"}, false},
		{"  --lib NAME=PATH                 preload library", []string{"--lib"}, true},
		{"  --switch auto|exit|vmfunc       view-switch backend", []string{"--switch"}, true},
		{"  --stats[=FILE]                  JSON run statistics", []string{"--stats"}, false},
		{"  --eager                         start library instances", []string{"--eager"}, false},
		{"  -v, --verbose                   say which", []string{"-v", "--verbose"}, false},
		{"  --version", []string{"--version"}, false},
		{"                                  (repeatable; also --lib=NAME=PATH)", nil, false},
		{"usage: uaaf run [OPTIONS] [--] KERNEL [ARGS...]", nil, false},
	}
	for _, tt := range tests {
		items, valued := usageOptions(tt.line)
		var words []string
		for _, it := range items {
			words = append(words, it.word)
		}
		if !reflect.DeepEqual(words, tt.words) || (len(valued) > 0) != tt.valued {
			t.Errorf("%q: words %q valued %q, want %q valued %v", tt.line, words, valued, tt.words, tt.valued)
		}
	}
	// uaaf run's whole help: every option it documents.
	items, valued := usageOptions(runcmd.Usage)
	var words []string
	for _, it := range items {
		words = append(words, it.word)
	}
	want := []string{"--mem=", "--block:", "--block-sector-size:", "--net:", "--net-mac:", "--dumpcore=", "--version", "--help",
		"--lib", "--lib-path", "--lib-mem=", "--switch", "--call-timeout=", "--eager", "--stats", "-v", "--verbose", "--seccomp="}
	if !reflect.DeepEqual(words, want) {
		t.Errorf("uaaf run's options: %q\nwant %q", words, want)
	}
	if !reflect.DeepEqual(valued, []string{"--lib", "--lib-path", "--switch"}) {
		t.Errorf("uaaf run's options with a separate value: %q", valued)
	}
}

// generate runs the generator into a temporary directory.
func generate(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestManPage: the page names every command and the sections added by
// hand, is man section 1, and groff renders it without a warning.
func TestManPage(t *testing.T) {
	dir := generate(t)
	b, err := os.ReadFile(filepath.Join(dir, "uaaf.1"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	if !strings.HasPrefix(page, `.nh
.TH uaaf 1`) {
		t.Errorf("page starts %q, want .TH uaaf 1", page[:min(len(page), 40)])
	}
	for _, p := range commandPaths(t) {
		if !strings.Contains(page, "uaaf "+p) {
			t.Errorf("man page does not mention %q", "uaaf "+p)
		}
	}
	for _, s := range []string{".SH EXIT STATUS", ".SH ENVIRONMENT", "UAAF_DATA_DIR", ".SH FILES", "--stats[=FILE]", "NAME[,key=value\\[u2026]] with NAME one of fixed, rate"} {
		if !strings.Contains(page, s) {
			t.Errorf("man page lacks %q", s)
		}
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff not installed: rendering not checked")
	}
	out, err := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z", filepath.Join(dir, "uaaf.1")).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("groff: %v\n%s", err, out)
	}
}

// bashComplete returns what the bash completion offers for line (the
// cursor at its end).
func bashComplete(t *testing.T, script, line string) []string {
	t.Helper()
	prog := `source "$1" || exit 1
COMP_LINE=$2
read -ra COMP_WORDS <<<"$2"
[[ $2 == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_POINT=${#2}
_uaaf uaaf "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"`
	out, err := exec.Command("bash", "-c", prog, "bash", script, line).CombinedOutput()
	if err != nil {
		t.Fatalf("bash completion of %q: %v\n%s", line, err, out)
	}
	return strings.Fields(string(out))
}

// TestBash: the script parses and completes commands, subcommands and
// options, skipping option values.
func TestBash(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("bash not installed")
	}
	script := filepath.Join(generate(t), "uaaf.bash")
	if out, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
	all := []string{"run", "inspect", "probe", "version", "serve", "bench", "replay", "lib", "image", "session", "ps", "invoke", "events", "help"}
	tests := []struct {
		line string
		want []string
	}{
		{"uaaf ", all},
		{"uaaf in", []string{"inspect", "invoke"}},
		{"uaaf bench ", []string{"fig10", "startup", "scale", "memory", "throughput", "call", "ab"}},
		{"uaaf help ", all},
		{"uaaf run --me", []string{"--mem="}},
		{"uaaf run --lib a=b.hvt --st", []string{"--stats"}},
		{"uaaf serve --socket /tmp/s --de", []string{"--debug"}},
		{"uaaf session logs --f", []string{"--follow"}},
		{"uaaf bench ab --p", []string{"--probes", "--panel"}},
		{"uaaf frobnicate ", nil},
	}
	for _, tt := range tests {
		if got := bashComplete(t, script, tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("%q: %q, want %q", tt.line, got, tt.want)
		}
	}
}

// zshComplete returns what the zsh completion offers for line, with
// stand-ins for zsh's completion functions that print what they are given.
func zshComplete(t *testing.T, zsh, script, line string) []string {
	t.Helper()
	prog := `zmodload zsh/parameter # commands, options: the names compsys sees
_describe() {
  local a skip=0
  shift 3
  for a in "$@"; do
    if ((skip)); then skip=0; continue; fi
    case $a in --) ;; -S) skip=1 ;; *) print -rl -- ${(P)a} ;; esac
  done
}
_files() { print -r -- FILES }
words=(${(z)2})
[[ $2 == *" " ]] && words+=("")
CURRENT=${#words}
PREFIX=${words[CURRENT]}
source "$1"`
	out, err := exec.Command(zsh, "-f", "-c", prog, "zsh", script, line).CombinedOutput()
	if err != nil {
		t.Fatalf("zsh completion of %q: %v\n%s", line, err, out)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		word, _, _ := strings.Cut(strings.ReplaceAll(l, `\:`, "\x00"), ":")
		got = append(got, strings.ReplaceAll(word, "\x00", ":"))
	}
	return got
}

// TestZsh: the script parses (zsh -n) and offers what bash's does; zsh
// filters by the prefix itself, so all candidates come back.
func TestZsh(t *testing.T) {
	zsh, err := exec.LookPath("zsh")
	if err != nil {
		t.Skip("zsh not installed (tools/install-deps.sh --kmod installs it for make test)")
	}
	script := filepath.Join(generate(t), "_uaaf")
	if out, err := exec.Command(zsh, "-n", script).CombinedOutput(); err != nil {
		t.Fatalf("zsh -n: %v\n%s", err, out)
	}
	tests := []struct {
		line string
		want []string
	}{
		{"uaaf ", []string{"run", "inspect", "probe", "version", "serve", "bench", "replay", "lib", "image", "session", "ps", "invoke", "events", "help"}},
		{"uaaf bench ", []string{"fig10", "startup", "scale", "memory", "throughput", "call", "ab"}},
		{"uaaf bench ab -", []string{"--out", "--quick", "--max-instances", "--max-processes", "--solo5-hvt", "--runc", "--no-runc", "--uaaf", "--guest-dir", "--lib-dir", "--rounds", "--probes", "--invocations", "--concurrency", "--calls", "--mem", "--verbose", "--panel", "--ab-rounds", "--help"}},
		{"uaaf run --block:d=x.img -", nil}, // filled below
		{"uaaf run --lib a=b.hvt ", []string{"FILES"}},
		{"uaaf inspect x.hvt ", []string{"FILES"}},
	}
	runWords, _ := usageOptions(runcmd.Usage)
	for _, it := range runWords {
		if !strings.HasSuffix(it.word, "=") && !strings.HasSuffix(it.word, ":") {
			tests[3].want = append(tests[3].want, it.word)
		}
	}
	for _, it := range runWords {
		if strings.HasSuffix(it.word, "=") || strings.HasSuffix(it.word, ":") {
			tests[3].want = append(tests[3].want, it.word)
		}
	}
	for _, tt := range tests {
		if got := zshComplete(t, zsh, script, tt.line); !slices.Equal(got, tt.want) {
			t.Errorf("%q: %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestDefaultsOnce: no flag of any command writes its default into its
// usage text: urfave/cli appends "(default: …)" itself (from the value or
// DefaultText), and help said it twice.
func TestDefaultsOnce(t *testing.T) {
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				if d, ok := f.(cli.DocGenerationFlag); ok && strings.Contains(d.GetUsage(), "(default") {
					t.Errorf("%s %s: usage %q says its default; use DefaultText", path+" "+c.Name, f.Names()[0], d.GetUsage())
				}
			}
			walk(path+" "+c.Name, c.Subcommands)
		}
	}
	walk("uaaf", commandTree().Commands)
}
