package bench

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrBench: callbench printed no BENCH line that could be read.
var ErrBench = errors.New("bench: no BENCH line")

// ParseBench reads callbench's "BENCH calls|hypercalls N ns T" line from
// its console out and returns N (operations, never 0) and T (guest-measured
// nanoseconds for the loop). A malformed or missing line is an error
// wrapping ErrBench.
func ParseBench(out string) (n, ns uint64, err error) {
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) != 5 || f[0] != "BENCH" || (f[1] != "calls" && f[1] != "hypercalls") || f[3] != "ns" {
			continue
		}
		n, err1 := strconv.ParseUint(f[2], 10, 64)
		ns, err2 := strconv.ParseUint(f[4], 10, 64)
		if err1 != nil || err2 != nil || n == 0 {
			return 0, 0, fmt.Errorf("%w: %q", ErrBench, strings.TrimSpace(line))
		}
		return n, ns, nil
	}
	return 0, 0, fmt.Errorf("%w in %q", ErrBench, ConsoleTail(out))
}

// ConsoleTail is the last 8 lines of a guest console, for error messages.
func ConsoleTail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}
