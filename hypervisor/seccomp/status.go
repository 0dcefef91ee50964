package seccomp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// Seccomp states as /proc/PID/status and PR_GET_SECCOMP report them.
const (
	StateDisabled = unix.SECCOMP_MODE_DISABLED // 0: no filter
	StateStrict   = unix.SECCOMP_MODE_STRICT   // 1: read/write/exit only
	StateFilter   = unix.SECCOMP_MODE_FILTER   // 2: a BPF filter (what Install installs)
)

// Status returns the seccomp state (0, 1 or 2; see StateFilter) of process
// pid, read from the "Seccomp:" line of /proc/PID/status (the state of its
// main thread). It opens files, so a filtered process cannot call it on
// itself: use Self there.
func Status(pid int) (int, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("seccomp: status of %d: %w", pid, err)
	}
	st, err := parseStatus(bytes.NewReader(b))
	if err != nil {
		return 0, fmt.Errorf("seccomp: status of %d: %w", pid, err)
	}
	return st, nil
}

// Self returns the calling thread's seccomp state with
// prctl(PR_GET_SECCOMP), which every profile of this package allows, so it
// works under the filter (for `--stats`, `uaaf probe`). Install's TSYNC
// gives every thread the same state.
func Self() (int, error) {
	st, err := unix.PrctlRetInt(unix.PR_GET_SECCOMP, 0, 0, 0, 0)
	if err != nil {
		return 0, fmt.Errorf("seccomp: PR_GET_SECCOMP: %w", err)
	}
	return st, nil
}

// parseStatus finds the "Seccomp:" line of a /proc/PID/status text and
// returns its value, which must be 0, 1 or 2.
func parseStatus(r io.Reader) (int, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		v, ok := bytes.CutPrefix(sc.Bytes(), []byte("Seccomp:"))
		if !ok {
			continue
		}
		n, err := strconv.Atoi(string(bytes.TrimSpace(v)))
		if err != nil || n < StateDisabled || n > StateFilter {
			return 0, fmt.Errorf("%w: bad value %q", ErrStatus, bytes.TrimSpace(v))
		}
		return n, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrStatus, err)
	}
	return 0, ErrStatus
}
