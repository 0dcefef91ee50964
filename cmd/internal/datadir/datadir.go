// Package datadir finds uaaf's data — the library-function images and the
// guest images (the demo, the benchmark sessions) — from where the running
// binary is, so that commands need no path flags when uaaf is installed
// (make install) or run from a source tree's bin/.
//
// The places tried, in order:
//
//  1. $UAAF_DATA_DIR, laid out as an installed data directory: lib/ and
//     guest/ under it. When set it is the only place tried.
//  2. <bin>/../share/uaaf, where <bin> is the directory of the running
//     executable (symbolic links resolved): the install prefix's layout.
//  3. The source tree <bin>/.. when <bin> is a tree's bin/ (it holds
//     guest/sdk.mk and libfuncs/): libfuncs/build and guest/build.
//
// Nothing is cached: each Find looks again. It only stats a few paths and
// depends on nothing but the standard library's os and path packages, so
// the `uaaf run` fast path may call it.
package datadir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Env names the data directory explicitly (an installed layout).
const Env = "UAAF_DATA_DIR"

// ShareDir is the data directory's path under an install prefix.
const ShareDir = "share/uaaf"

// The installed layout: subdirectories of the data directory.
const (
	LibSubdir   = "lib"   // library-function images, NAME.hvt
	GuestSubdir = "guest" // guest images: sessions, test unikernels
)

// Sentinel errors, returned wrapped.
var (
	// ErrNotFound: no data directory was found.
	ErrNotFound = errors.New("uaaf's data directory not found")
	// ErrNoImage: an image is not where it was looked for.
	ErrNoImage = errors.New("no such image")
)

// Dirs is where one layout keeps uaaf's images.
type Dirs struct {
	Lib   string // library-function images, NAME.hvt
	Guest string // guest images (demo.hvt, callbench.hvt, hello.hvt, …)
	// From says how the layout was found, for messages:
	// "$UAAF_DATA_DIR", "install prefix PREFIX" or "source tree DIR".
	From string
}

// Find locates the data directories for the running executable. The error
// wraps ErrNotFound and names the places tried.
func Find() (Dirs, error) {
	exe, err := os.Executable()
	if err != nil {
		exe = "" // only $UAAF_DATA_DIR can help
	}
	return FindFrom(exe, os.Getenv(Env))
}

// FindFrom is Find for the executable at path exe ("" if unknown; symbolic
// links are resolved) and the value env of $UAAF_DATA_DIR ("" if unset).
func FindFrom(exe, env string) (Dirs, error) {
	if env != "" {
		if !isDir(env) {
			return Dirs{}, fmt.Errorf("%w: $%s=%s is not a directory", ErrNotFound, Env, env)
		}
		return installed(env, "$"+Env), nil
	}
	if exe == "" {
		return Dirs{}, fmt.Errorf("%w: the executable's path is unknown and $%s is not set", ErrNotFound, Env)
	}
	if p, err := filepath.EvalSymlinks(exe); err == nil {
		exe = p
	}
	bin := filepath.Dir(exe)
	prefix := filepath.Dir(bin)
	share := filepath.Join(prefix, ShareDir)
	if isDir(share) {
		return installed(share, "install prefix "+prefix), nil
	}
	if filepath.Base(bin) == "bin" && isFile(filepath.Join(prefix, "guest", "sdk.mk")) && isDir(filepath.Join(prefix, "libfuncs")) {
		return Dirs{
			Lib:   filepath.Join(prefix, "libfuncs", "build"),
			Guest: filepath.Join(prefix, "guest", "build"),
			From:  "source tree " + prefix,
		}, nil
	}
	return Dirs{}, fmt.Errorf("%w: neither %s nor a source tree around %s (set $%s)", ErrNotFound, share, bin, Env)
}

func installed(dir, from string) Dirs {
	return Dirs{Lib: filepath.Join(dir, LibSubdir), Guest: filepath.Join(dir, GuestSubdir), From: from}
}

// Image returns the path of file name in dir, or an error wrapping
// ErrNoImage that names flag, the option that sets dir, when there is no
// regular file there.
func Image(dir, name, flag string) (string, error) {
	p := filepath.Join(dir, name)
	fi, err := os.Stat(p)
	switch {
	case err == nil && fi.Mode().IsRegular():
		return p, nil
	case err == nil:
		return "", fmt.Errorf("%s: %w: not a regular file (give the directory with %s)", p, ErrNoImage, flag)
	case errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s: %w (give the directory with %s)", p, ErrNoImage, flag)
	default:
		return "", fmt.Errorf("%s: %w: %w (give the directory with %s)", p, ErrNoImage, errors.Unwrap(err), flag)
	}
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
