package baseline

import (
	"context"
	_ "embed" // the function's C source
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// functionSource is runcfn/fn.c: the demo session's work as a static Linux
// program (see the file's comment).
//
//go:embed runcfn/fn.c
var functionSource []byte

// ErrBuild: the function binary did not compile or link.
var ErrBuild = errors.New("baseline: build failed")

// FunctionExpect is what a run of the function prints and how it exits —
// the same lines as the demo session prints under uaaf (one per library
// call, then SUCCESS), so one expectation checks both.
var FunctionExpect = Expect{
	ExitCode: 0,
	Stdout: []string{
		"demo: one session, four library functions, each in a view of its own\n",
		"  view 1  base64.b64decode  104 bytes -> 78: \"Unikernel as a Function: one copy of the code, private data for each session.\"\n",
		"  view 2  sha256.sha256     78 bytes -> 15a34b79...3d76e6fa (as expected)\n",
		"  view 3  crc32.crc32       78 bytes -> 0x37f49e71 (as expected)\n",
		"  view 4  sort.sort_u32     [42 7 65535 19 0 1000 7 3] -> [0 3 7 7 19 42 1000 65535]\n",
		"SUCCESS\n",
	},
}

// FunctionWaitArg makes the function wait after its work until killed, and
// FunctionReady is what it prints once waiting: the long-running variant.
const (
	FunctionWaitArg = "--wait"
	FunctionReady   = "READY\n"
)

// BuildFunction compiles the function into dir/fn with `gcc -static -O2`
// and returns its path. No gcc in $PATH wraps ErrNotInstalled; a compile or
// link failure (e.g. no static libc: Debian's libc6-dev) wraps ErrBuild with
// the compiler's output.
//
// C rather than Go: the container then holds what the unikernel holds — the
// function and a minimal libc, about 0.7 MiB resident — instead of a Go
// runtime (several MiB and extra threads per process), which would inflate
// the container's memory per instance in uaaf's favour.
func BuildFunction(ctx context.Context, dir string) (string, error) {
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		return "", fmt.Errorf("%w: gcc: %v", ErrNotInstalled, err)
	}
	src := filepath.Join(dir, "fn.c")
	bin := filepath.Join(dir, "fn")
	if err := os.WriteFile(src, functionSource, 0o644); err != nil {
		return "", fmt.Errorf("baseline: %w", err)
	}
	out, err := exec.CommandContext(ctx, gcc, "-static", "-O2", "-o", bin, src).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: gcc -static -O2 %s: %v: %s", ErrBuild, src, err, tail(out))
	}
	return bin, nil
}
