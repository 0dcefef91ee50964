package datadir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tree builds files (paths ending in "/" are directories) under a new
// temporary directory and returns it.
func tree(t *testing.T, files ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range files {
		p := filepath.Join(root, f)
		if strings.HasSuffix(f, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestFindFrom(t *testing.T) {
	prefix := tree(t, "bin/uaaf", "share/uaaf/lib/", "share/uaaf/guest/")
	repo := tree(t, "bin/uaaf", "guest/sdk.mk", "libfuncs/")
	both := tree(t, "bin/uaaf", "guest/sdk.mk", "libfuncs/", "share/uaaf/")
	notRepo := tree(t, "bin/uaaf", "guest/")
	notBin := tree(t, "build/uaaf", "guest/sdk.mk", "libfuncs/")
	data := tree(t, "lib/", "guest/")
	link := tree(t, "bin/")
	if err := os.Symlink(prefix+"/bin/uaaf", link+"/bin/uaaf"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, exe, env string
		want           Dirs
		err            string
	}{
		{name: "install prefix", exe: prefix + "/bin/uaaf",
			want: Dirs{Lib: prefix + "/share/uaaf/lib", Guest: prefix + "/share/uaaf/guest", From: "install prefix " + prefix}},
		{name: "source tree", exe: repo + "/bin/uaaf",
			want: Dirs{Lib: repo + "/libfuncs/build", Guest: repo + "/guest/build", From: "source tree " + repo}},
		{name: "symbolic link to an installed uaaf", exe: link + "/bin/uaaf",
			want: Dirs{Lib: prefix + "/share/uaaf/lib", Guest: prefix + "/share/uaaf/guest", From: "install prefix " + prefix}},
		{name: "prefix before tree", exe: both + "/bin/uaaf",
			want: Dirs{Lib: both + "/share/uaaf/lib", Guest: both + "/share/uaaf/guest", From: "install prefix " + both}},
		{name: "env first", exe: repo + "/bin/uaaf", env: data,
			want: Dirs{Lib: data + "/lib", Guest: data + "/guest", From: "$UAAF_DATA_DIR"}},
		{name: "env without executable", env: data,
			want: Dirs{Lib: data + "/lib", Guest: data + "/guest", From: "$UAAF_DATA_DIR"}},
		{name: "env not a directory", exe: repo + "/bin/uaaf", env: data + "/nonexistent",
			err: "uaaf's data directory not found: $UAAF_DATA_DIR=" + data + "/nonexistent is not a directory"},
		{name: "no sdk.mk", exe: notRepo + "/bin/uaaf",
			err: "uaaf's data directory not found: neither " + notRepo + "/share/uaaf nor a source tree around " + notRepo + "/bin (set $UAAF_DATA_DIR)"},
		{name: "not in bin/", exe: notBin + "/build/uaaf", err: "neither " + notBin + "/share/uaaf nor a source tree"},
		{name: "no executable", err: "the executable's path is unknown and $UAAF_DATA_DIR is not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FindFrom(tt.exe, tt.env)
			if tt.err != "" {
				if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want ErrNotFound with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestFind: $UAAF_DATA_DIR decides when set; the test binary, in a
// temporary directory, is neither installed nor in a source tree.
func TestFind(t *testing.T) {
	t.Setenv(Env, "")
	if d, err := Find(); !errors.Is(err, ErrNotFound) {
		t.Errorf("Find from the test binary: %+v, %v; want ErrNotFound", d, err)
	}
	data := tree(t, "lib/", "guest/")
	t.Setenv(Env, data)
	if d, err := Find(); err != nil || d.Lib != data+"/lib" || d.Guest != data+"/guest" {
		t.Errorf("Find with $%s: %+v, %v", Env, d, err)
	}
}

func TestImage(t *testing.T) {
	dir := tree(t, "demo.hvt", "sub/")
	tests := []struct {
		name, file string
		want       string // the path, or the error
	}{
		{"present", "demo.hvt", dir + "/demo.hvt"},
		{"missing", "callbench.hvt", dir + "/callbench.hvt: no such image (give the directory with --guest-dir)"},
		{"a directory", "sub", dir + "/sub: no such image: not a regular file (give the directory with --guest-dir)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Image(dir, tt.file, "--guest-dir")
			if err != nil {
				if err.Error() != tt.want || !errors.Is(err, ErrNoImage) {
					t.Errorf("err = %q, want %q (ErrNoImage)", err, tt.want)
				}
				return
			}
			if p != tt.want {
				t.Errorf("path %q, want %q", p, tt.want)
			}
		})
	}
}
