package daemon

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/libfuncs"
	"github.com/uaaf/uaaf/session/api"
)

// The checks below are what the handlers do with a request's values before
// anything happens: pure functions of the request, so that the fuzz target
// (decode_fuzz_test.go) runs the very code the routes run.

// maxMs is the largest millisecond value a request may give a limit or a
// deadline: the largest whose time.Duration does not overflow (~292
// years). Larger values are refused rather than wrapped into negative
// durations (which meant "no limit" or "a deadline in the past").
const maxMs = api.MaxMs

// api.MaxMs must be exactly the largest value that fits.
var _ = [1]struct{}{}[math.MaxInt64/int64(time.Millisecond)-api.MaxMs]

// msDuration converts a request's millisecond field to a duration; what
// names the field in the error.
func msDuration(what string, ms int64) (time.Duration, error) {
	if ms < 0 || ms > maxMs {
		return 0, fmt.Errorf("%w: %s %d: want 0 to %d ms", ErrInvalid, what, ms, maxMs)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// checkSpec checks the values of a session's spec that need nothing of the
// daemon but its console bound: input size, mem_mib's sign, the limits'
// ranges, the library aliases' names. maxConsole is the daemon's Options.MaxConsole: a session may keep
// less console than that, never more (each session's console is daemon
// memory a guest fills at will).
func checkSpec(spec api.SessionSpec, maxConsole int64) error {
	if len(spec.Input) > api.MaxInput {
		return fmt.Errorf("%w: input of %d bytes, at most %d", ErrInvalid, len(spec.Input), api.MaxInput)
	}
	if spec.MemMiB < 0 {
		return fmt.Errorf("%w: mem_mib %d: negative", ErrInvalid, spec.MemMiB)
	}
	l := spec.Limits
	if l.TimeoutMs < 0 || l.CallTimeoutMs < 0 || l.MaxConsoleBytes < 0 {
		return fmt.Errorf("%w: negative limit", ErrInvalid)
	}
	if _, err := msDuration("timeout_ms", l.TimeoutMs); err != nil {
		return err
	}
	if _, err := msDuration("call_timeout_ms", l.CallTimeoutMs); err != nil {
		return err
	}
	if l.MaxConsoleBytes > maxConsole {
		return fmt.Errorf("%w: max_console_bytes %d: at most %d (the daemon's --max-console)", ErrInvalid, l.MaxConsoleBytes, maxConsole)
	}
	for imp, lib := range spec.Libraries {
		if !libfuncs.ValidName(imp) || !libfuncs.ValidName(lib) {
			return fmt.Errorf("%w: libraries: %q → %q: both must be library names (letters, digits, _; not starting with a digit; at most 31 bytes)", ErrInvalid, imp, lib)
		}
	}
	return nil
}

// checkInvoke checks what an invocation adds to a session's spec.
func checkInvoke(req api.Invoke) error {
	_, err := msDuration("deadline_ms", req.DeadlineMs)
	return err
}

// waitTimeout parses GET /v1/sessions/{id}/wait's ?timeout= (a Go
// duration, default 30s, at most maxWait).
func waitTimeout(q url.Values) (time.Duration, error) {
	s := q.Get("timeout")
	if s == "" {
		return 30 * time.Second, nil
	}
	t, err := time.ParseDuration(s)
	if err != nil || t < 0 || t > maxWait {
		return 0, fmt.Errorf("%w: timeout %q: want a duration from 0s to %v", ErrInvalid, s, maxWait)
	}
	return t, nil
}

// consoleQuery parses GET /v1/sessions/{id}/console's ?offset= (bytes,
// default 0) and ?follow= (a boolean, default false).
func consoleQuery(q url.Values) (off int64, follow bool, err error) {
	if s := q.Get("offset"); s != "" {
		if off, err = strconv.ParseInt(s, 10, 64); err != nil || off < 0 {
			return 0, false, fmt.Errorf("%w: offset %q: want a byte offset >= 0", ErrInvalid, s)
		}
	}
	if s := q.Get("follow"); s != "" {
		if follow, err = strconv.ParseBool(s); err != nil {
			return 0, false, fmt.Errorf("%w: follow %q: want true or false", ErrInvalid, s)
		}
	}
	return off, follow, nil
}

// eventsSince parses GET /v1/events's ?since= (an event sequence number,
// default 0).
func eventsSince(q url.Values) (uint64, error) {
	s := q.Get("since")
	if s == "" {
		return 0, nil
	}
	since, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: since %q: want an event sequence number", ErrInvalid, s)
	}
	return since, nil
}

// checkLoadLibrary checks POST /v1/libraries's body: a library name (as
// the UaaF notes allow one) and a path.
func checkLoadLibrary(req api.LoadLibrary) error {
	if !libfuncs.ValidName(req.Name) {
		return fmt.Errorf("%w: %q is not a library name (letters, digits, _; not starting with a digit; at most 31 bytes)", ErrInvalid, req.Name)
	}
	if req.Path == "" {
		return fmt.Errorf("%w: path is required", ErrInvalid)
	}
	return nil
}

// checkAddImage checks POST /v1/images's body and returns the image's
// guest memory in MiB: its mem_mib, or defaultMiB (the daemon's) for 0.
func checkAddImage(req api.AddImage, defaultMiB int) (int, error) {
	if !validImageName(req.Name) {
		return 0, fmt.Errorf("%w: %q is not an image name (letters, digits, '-', '_', '.'; at most 64 bytes; not ending in .hvt)", ErrInvalid, req.Name)
	}
	if req.Path == "" {
		return 0, fmt.Errorf("%w: path is required", ErrInvalid)
	}
	mem := req.MemMiB
	if mem == 0 {
		mem = defaultMiB
	}
	if err := checkMemMiB(mem); err != nil {
		return 0, err
	}
	return mem, nil
}

// checkMemMiB checks a guest memory size in MiB (after the default is
// applied) against what hvt can give a guest.
func checkMemMiB(mem int) error {
	if mem < 2 || mem > hvt.MaxMemory>>20 {
		return fmt.Errorf("%w: mem_mib %d: want 2 to %d", ErrInvalid, mem, hvt.MaxMemory>>20)
	}
	return nil
}
