package installtest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/uaaf/uaaf/cmd/internal/ctlapp"
	"github.com/uaaf/uaaf/cmd/internal/uaafapp"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// run runs name with args in dir, bounded in time, and returns its
// combined output; a failure fails t.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q in %s: %v\n%s", name, args, dir, err, out)
	}
	return string(out)
}

// tree lists the files and directories under root, relative to it.
func tree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// commandPaths lists every command of uaaf as users type it ("uaaf run",
// "uaaf bench call", …), from the definitions of both binaries.
func commandPaths() []string {
	ctl := map[string]*cli.Command{}
	for _, c := range ctlapp.Commands() {
		ctl[c.Name] = c
	}
	var out []string
	var walk func(prefix string, cmds []*cli.Command)
	walk = func(prefix string, cmds []*cli.Command) {
		for _, c := range cmds {
			if c.Hidden {
				continue
			}
			if full, ok := ctl[c.Name]; ok && prefix == "uaaf" {
				c = full
			}
			out = append(out, prefix+" "+c.Name)
			walk(prefix+" "+c.Name, c.Subcommands)
		}
	}
	walk("uaaf", uaafapp.New().Commands)
	return out
}

// The programs the SDK test builds out of tree: a plain unikernel and a
// session calling the installed sha256 library.
const (
	plainMain = `#include "solo5.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    static const char msg[] = "built out of tree\n";
    solo5_console_write(msg, sizeof msg - 1);
    return si->cmdline[0] ? 3 : 0;
}
`
	sessionMain = `#include "solo5.h"
#include "uaaf.h"
#include "uaaf_guest.h"

UAAF_IMPORT(sha256, sha256);

int solo5_app_main(const struct solo5_start_info *si)
{
    unsigned char d[32];
    long n = uaaf_call(UAAF_FN(sha256, sha256), si->cmdline, 3, d, sizeof d);
    if (n != 32) {
        uaaf_printf("error %ld: %s\n", n, uaaf_strerror(n));
        return 1;
    }
    uaaf_printf("digest ");
    for (int i = 0; i < 32; i++)
        uaaf_printf("%02x", d[i]);
    uaaf_printf("\n");
    return 0;
}
`
	noDevices = `{"type":"solo5.manifest","version":1,"devices":[]}`
)

// readmeRecipe returns the out-of-tree Makefile of guest/README.md, with
// its example prefix replaced by prefix.
func readmeRecipe(t *testing.T, root, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "guest", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "Build it outside the tree")
	j := strings.Index(text[max(i, 0):], "```make\n")
	if i < 0 || j < 0 {
		t.Fatal("guest/README.md has no out-of-tree ```make recipe")
	}
	rest := text[i+j+len("```make\n"):]
	recipe := rest[:strings.Index(rest, "```")]
	if !strings.Contains(recipe, "/usr/local/share/uaaf/sdk") {
		t.Fatalf("the recipe does not name the installed SDK:\n%s", recipe)
	}
	return strings.ReplaceAll(recipe, "/usr/local", prefix)
}

// buildApp writes main.c, manifest.json and the README's Makefile into
// dir and runs make there: the image's path.
func buildApp(t *testing.T, dir, recipe, main string) string {
	t.Helper()
	for name, text := range map[string]string{"Makefile": recipe, "main.c": main, "manifest.json": noDevices} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run(t, dir, "make")
	return filepath.Join(dir, "app.hvt")
}

func TestInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("make install builds the tree: not in -short")
	}
	for _, tool := range []string{"make", "gcc", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not installed (tools/install-deps.sh installs the build tools)", tool)
		}
	}
	for _, env := range []string{"UAAF_LIB_PATH", "UAAF_DATA_DIR", "UAAF_SOCKET", "UAAF_CTL"} {
		t.Setenv(env, "") // only what the install holds
	}
	root := kvmtest.RepoRoot(t)
	prefix := t.TempDir()
	work := t.TempDir() // the user's directory: no source tree around
	run(t, root, "make", "install", "PREFIX="+prefix, "DESTDIR=")

	t.Run("manifest", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(prefix, "share/uaaf/install-manifest"))
		if err != nil {
			t.Fatal(err)
		}
		var listed []string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			listed = append(listed, line[2:])
		}
		got := tree(t, prefix)
		slices.Sort(listed)
		if !slices.Equal(got, listed) {
			t.Errorf("installed %q\nmanifest lists %q", got, listed)
		}
		for _, f := range []string{"bin/uaaf", "bin/uaaf-ctl", "bin/uaaf-mftgen", "share/uaaf/lib/sha256.hvt",
			"share/uaaf/guest/demo.hvt", "share/uaaf/guest/callbench.hvt", "share/uaaf/sdk/sdk.mk",
			"share/uaaf/sdk/include/uaaf.h", "share/uaaf/sdk/lds/hvt.lds", "share/uaaf/sdk/lib/uaaf-hvt.o",
			"share/man/man1/uaaf.1", "share/bash-completion/completions/uaaf", "share/zsh/site-functions/_uaaf"} {
			if !slices.Contains(got, f) {
				t.Errorf("%s not installed", f)
			}
		}
	})

	t.Run("man page", func(t *testing.T) {
		b, err := os.ReadFile(filepath.Join(prefix, "share/man/man1/uaaf.1"))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range commandPaths() {
			if !strings.Contains(string(b), c) {
				t.Errorf("the man page does not mention %q", c)
			}
		}
	})

	t.Run("completion", func(t *testing.T) {
		bash := filepath.Join(prefix, "share/bash-completion/completions/uaaf")
		run(t, work, "bash", "-n", bash)
		out := run(t, work, "bash", "-c", `source "$1" && COMP_WORDS=(uaaf "") COMP_CWORD=1 && _uaaf && printf '%s\n' "${COMPREPLY[@]}"`, "bash", bash)
		var want []string
		for _, c := range commandPaths() {
			if strings.Count(c, " ") == 1 {
				want = append(want, strings.TrimPrefix(c, "uaaf "))
			}
		}
		want = append(want, "help")
		if got := strings.Fields(out); !slices.Equal(got, want) {
			t.Errorf("bash completion of \"uaaf \": %q, want %q", got, want)
		}
		if zsh, err := exec.LookPath("zsh"); err == nil {
			run(t, work, zsh, "-n", filepath.Join(prefix, "share/zsh/site-functions/_uaaf"))
		} else {
			t.Log("zsh not installed: its script not checked")
		}
	})

	recipe := readmeRecipe(t, root, prefix)
	var plain, sess string
	plainDir, sessDir := t.TempDir(), t.TempDir()
	t.Run("sdk", func(t *testing.T) {
		plain = buildApp(t, plainDir, recipe, plainMain)
		sess = buildApp(t, sessDir, recipe, sessionMain)
	})

	uaaf := filepath.Join(prefix, "bin/uaaf")
	t.Run("run", func(t *testing.T) {
		kvmtest.Require(t)
		if plain == "" || sess == "" {
			t.Skip("the SDK build failed")
		}
		cmd := exec.Command(uaaf, "run", "--mem=8", plain, "x")
		cmd.Dir = work
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 || !strings.Contains(string(out), "built out of tree\n") {
			t.Errorf("plain guest: %v\n%s", err, out)
		}
		// The session's import is found among the installed libraries.
		out2 := run(t, work, uaaf, "run", "--mem=8", sess, "abc")
		sum := sha256.Sum256([]byte("abc"))
		if !strings.Contains(out2, "digest "+hex.EncodeToString(sum[:])+"\n") {
			t.Errorf("session: %s", out2)
		}
		if out := run(t, work, uaaf, "run", "--mem=8", filepath.Join(prefix, "share/uaaf/guest/demo.hvt")); !strings.Contains(out, "SUCCESS") {
			t.Errorf("installed demo:\n%s", out)
		}
		// Its advice holds where there is no source tree.
		out3 := filepath.Join(work, "bench")
		run(t, work, uaaf, "bench", "call", "--calls", "20", "--no-runc", "--out", out3)
		if csv, err := os.ReadFile(filepath.Join(out3, "call.csv")); err != nil || !strings.Contains(string(csv), "library call (testfns.nop)") {
			t.Errorf("bench call with the installed images: %v\n%s", err, csv)
		}
	})

	t.Run("serve", func(t *testing.T) {
		kvmtest.Require(t)
		sock := filepath.Join(work, "uaaf.sock")
		d := exec.Command(uaaf, "serve", "--socket", sock, "--pool-size", "1")
		d.Dir = work
		stdout, err := d.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		d.Stderr = &stderr
		if err := d.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			d.Process.Signal(syscall.SIGTERM)
			d.Wait()
		}()
		ready := make(chan bool, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			ready <- strings.HasPrefix(line, "uaaf serve: ready")
		}()
		select {
		case ok := <-ready:
			if !ok {
				t.Fatalf("uaaf serve did not start:\n%s", stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatal("uaaf serve not ready after 30 s")
		}
		// No --lib-path: the daemon finds the demo's libraries among the
		// installed ones.
		out := run(t, work, uaaf, "invoke", "--socket", sock, filepath.Join(prefix, "share/uaaf/guest/demo.hvt"))
		if !strings.Contains(out, "SUCCESS") {
			t.Errorf("invoke demo:\n%s\ndaemon:\n%s", out, stderr.String())
		}
	})

	run(t, root, "make", "uninstall", "PREFIX="+prefix, "DESTDIR=")
	if left := tree(t, prefix); len(left) > 0 {
		t.Errorf("after make uninstall the prefix holds %q", left)
	}
}

// TestUninstallKeepsOthers: uninstall removes what install put there and
// nothing else, and installing again over an install replaces it.
func TestUninstallKeepsOthers(t *testing.T) {
	if testing.Short() {
		t.Skip("make install builds the tree: not in -short")
	}
	root := kvmtest.RepoRoot(t)
	prefix := t.TempDir()
	other := filepath.Join(prefix, "bin", "other-tool")
	if err := os.MkdirAll(filepath.Dir(other), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, root, "make", "install", "PREFIX="+prefix)
	first := tree(t, prefix)
	run(t, root, "tools/install.sh", "install", prefix) // again, built already
	if again := tree(t, prefix); !slices.Equal(first, again) {
		t.Errorf("a second install changed the tree:\n%q\n%q", first, again)
	}
	run(t, root, "tools/install.sh", "uninstall", prefix)
	if left := tree(t, prefix); !slices.Equal(left, []string{"bin", "bin/other-tool"}) {
		t.Errorf("after uninstall: %q, want only bin/other-tool", left)
	}
	if _, err := exec.Command(filepath.Join(root, "tools/install.sh"), "uninstall", prefix).CombinedOutput(); err == nil {
		t.Error("uninstall with nothing installed succeeded")
	}
}
