package ctlapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uaaf/uaaf/cmd/internal/command"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/session/client/clienttest"
	"github.com/uaaf/uaaf/session/daemon"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what one command run printed and its exit status, as main
// would have it.
type result struct {
	stdout, stderr string
	code           int
	err            error
}

// uaaf runs `uaaf ARGS…` in-process with stdin, as main does (the error
// printed as one "uaaf: …" line), against the daemon $UAAF_SOCKET names.
func uaaf(ctx context.Context, stdin string, stdout *syncBuffer, args ...string) result {
	app := New()
	var errb syncBuffer
	if stdout == nil {
		stdout = &syncBuffer{}
	}
	app.Writer, app.ErrWriter, app.Reader = stdout, &errb, strings.NewReader(stdin)
	err := app.RunContext(ctx, append([]string{"uaaf"}, args...))
	code := command.ExitCode(err, &errb)
	return result{stdout.String(), errb.String(), code, err}
}

// pattern turns an expected output into a regexp: {d} is a duration (or
// -), {b} a size, {n} a number, {t} a time, {*} anything on the line; a run
// of spaces is any run of spaces (tabwriter pads to the widest cell); the
// rest is literal.
func pattern(want string) *regexp.Regexp {
	tokens := map[string]string{
		"{d}": `(-|[0-9.]+(ns|µs|ms|s|m[0-9.]+s))`,
		"{b}": `[0-9.]+ (B|KiB|MiB|GiB)`,
		"{n}": `[0-9]+`,
		"{t}": `[0-9 :.TZ+-]+`,
		"{*}": `.*`,
	}
	var re strings.Builder
	re.WriteString(`^`)
	for len(want) > 0 {
		matched := false
		for tok, r := range tokens {
			if strings.HasPrefix(want, tok) {
				re.WriteString(r)
				want = want[len(tok):]
				matched = true
				break
			}
		}
		if matched {
			continue
		}
		if strings.HasPrefix(want, "  ") {
			re.WriteString(` +`)
			want = strings.TrimLeft(want, " ")
			continue
		}
		re.WriteString(regexp.QuoteMeta(want[:1]))
		want = want[1:]
	}
	re.WriteString(`$`)
	return regexp.MustCompile(re.String())
}

// checkLines checks got line by line against want's patterns.
func checkLines(t *testing.T, what, got, want string) {
	t.Helper()
	gl := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	wl := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	if len(gl) != len(wl) {
		t.Errorf("%s: %d lines, want %d:\n%s", what, len(gl), len(wl), got)
		return
	}
	for i := range gl {
		if !pattern(wl[i]).MatchString(gl[i]) {
			t.Errorf("%s: line %d\n got %q\nwant %q", what, i+1, gl[i], wl[i])
		}
	}
}

// TestClientVerbs runs the client verbs against a daemon, as a user
// would, checking what each prints.
func TestClientVerbs(t *testing.T) {
	srv := clienttest.Start(t, daemon.Options{})
	t.Setenv("UAAF_SOCKET", srv.Socket)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root := kvmtest.RepoRoot(t)
	lib := func(n string) string { return kvmtest.LibraryImage(t, n) }
	guest := func(n string) string { return kvmtest.GuestImage(t, n) }
	// Relative paths are the caller's, not the daemon's.
	t.Chdir(root)
	// What the demo session prints (it is deterministic), from a daemon of
	// its own so that session IDs here start at 1.
	ref := clienttest.Start(t, daemon.Options{})
	rc := client.New(ref.Socket)
	r, err := rc.Invoke(ctx, api.Invoke{Image: guest("demo")})
	rc.Close()
	if err != nil || *r.ExitStatus != 0 || !strings.HasPrefix(r.Output, "uaaf guest: starting, mem 8 MiB\n") || strings.Contains(r.Output, "{") {
		t.Fatalf("demo: %+v, %v", r, err)
	}
	ref.Stop()
	demoOut, demoSize := r.Output, humanBytes(len(r.Output))

	steps := []struct {
		args   []string
		stdout string // patterns (see pattern)
		code   int
		stdin  string
	}{
		{[]string{"lib", "load", "--pin", "sha256=libfuncs/build/sha256.hvt", "crc32=" + lib("crc32")},
			"NAME  REFS  PINNED  RESIDENT  INSTANCES  MEMORY  LOAD  LOADS  EXPORTS  PATH\n" +
				"sha256  0  yes  yes  0  {b}  {d}  1  sha256  " + lib("sha256") + "\n" +
				"crc32  0  yes  yes  0  {b}  {d}  1  crc32  " + lib("crc32") + "\n", 0, ""},
		{[]string{"lib", "unpin", "crc32"}, "unpinned crc32\n", 0, ""},
		{[]string{"lib", "pin", "crc32"}, "pinned crc32\n", 0, ""},
		{[]string{"lib", "unload", "crc32"}, "unloaded crc32\n", 0, ""},
		{[]string{"lib", "ls"},
			"NAME  REFS  PINNED  RESIDENT  INSTANCES  MEMORY  LOAD  LOADS  EXPORTS  PATH\n" +
				"sha256  0  yes  yes  0  {b}  {d}  1  sha256  " + lib("sha256") + "\n", 0, ""},
		{[]string{"image", "add", "demo=guest/build/demo.hvt"},
			"NAME  KIND  MEM  SESSIONS  TEMPLATE  SHELLS  INPUT  IMPORTS  PATH\n" +
				"demo  session  8 MiB  0  {b}  0  no  base64,sha256,crc32,sort  " + guest("demo") + "\n", 0, ""},
		{[]string{"image", "add", "--mem", "4", "hello=" + guest("hello")},
			"NAME  KIND  MEM  SESSIONS  TEMPLATE  SHELLS  INPUT  IMPORTS  PATH\n" +
				"hello  plain  4 MiB  0  {b}  0  no  -  " + guest("hello") + "\n", 0, ""},
		{[]string{"image", "ls"},
			"NAME  KIND  MEM  SESSIONS  TEMPLATE  SHELLS  INPUT  IMPORTS  PATH\n" +
				"demo  session  8 MiB  0  {b}  0  no  base64,sha256,crc32,sort  " + guest("demo") + "\n" +
				"hello  plain  4 MiB  0  {b}  0  no  -  " + guest("hello") + "\n", 0, ""},
		{[]string{"image", "rm", "hello"}, "removed hello\n", 0, ""},

		// A session step by step; created, it holds its libraries.
		{[]string{"session", "create", "demo"}, "1\n", 0, ""},
		{[]string{"ps"}, "" +
			"ID  IMAGE  STATE    VIEWS lib#index(refs, calls)\n" +
			"1   demo   created  base64#1(1, 0) sha256#2(1, 0) crc32#3(1, 0) sort#4(1, 0)\n", 0, ""},
		{[]string{"lib", "ls"},
			"NAME  REFS  PINNED  RESIDENT  INSTANCES  MEMORY  LOAD  LOADS  EXPORTS  PATH\n" +
				"base64  1  no  yes  0  {b}  {d}  1  b64encode,b64decode  " + lib("base64") + "\n" +
				"crc32  1  no  yes  0  {b}  {d}  1  crc32  " + lib("crc32") + "\n" +
				"sha256  1  yes  yes  0  {b}  {d}  1  sha256  " + lib("sha256") + "\n" +
				"sort  1  no  yes  0  {b}  {d}  1  sort_u32  " + lib("sort") + "\n", 0, ""},
		{[]string{"session", "start", "1"}, "session 1: running\n", 0, ""},
		{[]string{"session", "wait", "1"}, "session 1: exited with status 0 (start {d}, run {d})\n", 0, ""},
		{[]string{"session", "ls"}, "" +
			"ID  IMAGE  STATE  STATUS  START  RUN  TOTAL  CPU  CONSOLE\n" +
			"1  demo  exited  0  {d}  {d}  {d}  {d}  " + demoSize + "\n", 0, ""},
		{[]string{"session", "get", "1"}, "" +
			"ID:       1\n" +
			"IMAGE:    demo (" + guest("demo") + ")\n" +
			"STATE:    exited, status 0\n" +
			"SWITCH:   exit\n" +
			"CREATED:  {t}\n" +
			"STARTED:  {t}\n" +
			"ENDED:    {t}\n" +
			"START:    {d} = queued {d} + bind {d} + boot {d} (pool hit)\n" +
			"RUN:      {d} (vCPU time {d}, {n} VM exits), total {d}\n" +
			"CONSOLE:  " + demoSize + "\n" +
			"VIEWS:    base64#1(1, 1) sha256#2(1, 1) crc32#3(1, 1) sort#4(1, 1)\n", 0, ""},
		{[]string{"session", "logs", "1"}, demoOut, 0, ""},
		{[]string{"session", "kill", "1"}, "session 1: exited with status 0 (start {d}, run {d})\n", 0, ""},
		{[]string{"session", "rm", "1"}, "deleted session 1\n", 0, ""},
		{[]string{"ps"}, "ID  IMAGE  STATE  VIEWS lib#index(refs, calls)\n", 0, ""},

		// A created session killed; one that spins, waited for briefly,
		// then killed.
		{[]string{"session", "create", "demo"}, "2\n", 0, ""},
		{[]string{"session", "kill", "2"}, "session 2: killed\n", 0, ""},
		{[]string{"session", "create", "--start", guest("spin")}, "3\n", 0, ""},
		{[]string{"session", "wait", "--timeout", "20ms", "3"}, "session 3: running\n", 0, ""},
		{[]string{"session", "logs", "3"}, "uaaf guest: starting, mem 8 MiB\nspin: spinning\n", 0, ""},
		{[]string{"session", "kill", "3"}, "session 3: {*}\n", 0, ""},
		{[]string{"session", "wait", "3"}, "session 3: killed\n", 0, ""},

		// Invocations: the console on stdout, the exit status as uaaf's.
		{[]string{"invoke", "demo"}, demoOut, 0, ""},
		{[]string{"invoke", "guest/build/exitcode.hvt", "7"}, "uaaf guest: starting, mem 8 MiB\nexitcode: exiting with 7\nuaaf guest: exit 7\n", 7, ""},
		{[]string{"invoke", "--mem", "4", guest("output"), "-x", "y"}, "uaaf guest: starting, mem 4 MiB\n-x y\nuaaf guest: exit 0\n", 0, ""},
		// Input, from standard input or a file.
		{[]string{"invoke", "--input", "-", guest("digest")}, "" +
			"uaaf guest: starting, mem 8 MiB\n" +
			"bytes: 3\n" +
			"sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n" +
			"crc32: 352441c2\n" +
			"uaaf guest: exit 0\n", 0, "abc"},
		{[]string{"invoke", "--input", "go.mod", "guest/build/digest.hvt"}, "uaaf guest: starting, mem 8 MiB\nbytes: {n}\nsha256: {*}\ncrc32: {*}\nuaaf guest: exit 0\n", 0, ""},
	}
	for _, s := range steps {
		r := uaaf(ctx, s.stdin, nil, s.args...)
		// The spinning guest's line may take a moment to come.
		for deadline := time.Now().Add(10 * time.Second); slices.Contains(s.args, "logs") && r.stdout != s.stdout && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
			r = uaaf(ctx, s.stdin, nil, s.args...)
		}
		checkLines(t, strings.Join(s.args, " "), r.stdout, s.stdout)
		if r.code != s.code || r.stderr != "" {
			t.Errorf("%s: exit %d, stderr %q; want %d and nothing", strings.Join(s.args, " "), r.code, r.stderr, s.code)
		}
	}
}

// TestClientVerbsJSON checks --json: the API's bodies, decodable.
func TestClientVerbsJSON(t *testing.T) {
	srv := clienttest.Start(t, daemon.Options{})
	t.Setenv("UAAF_SOCKET", srv.Socket)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	decode := func(r result, v any) {
		t.Helper()
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		dec := json.NewDecoder(strings.NewReader(r.stdout))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Fatalf("%v in %s", err, r.stdout)
		}
	}
	var libs []api.Library
	decode(uaaf(ctx, "", nil, "lib", "load", "--json", "--pin", "sha256="+kvmtest.LibraryImage(t, "sha256")), &libs)
	if len(libs) != 1 || libs[0].Name != "sha256" || !libs[0].Pinned {
		t.Errorf("lib load --json: %+v", libs)
	}
	var im api.Image
	decode(uaaf(ctx, "", nil, "image", "add", "--json", "calltest="+kvmtest.GuestImage(t, "calltest")), &im)
	if im.Name != "calltest" || im.Kind != "session" {
		t.Errorf("image add --json: %+v", im)
	}
	var res api.InvokeResult
	decode(uaaf(ctx, "", nil, "invoke", "--json", "calltest", "crc32.crc32:616263", "testfns.nop"), &res)
	if res.State != api.StateExited || *res.ExitStatus != 0 || res.Output == "" || !strings.Contains(res.Output, "RESULT crc32.crc32 4 c2412435\n") ||
		res.Timings.StartNs <= 0 || res.Timings.RunNs <= 0 || res.Timings.TotalNs < res.Timings.StartNs || len(res.Views) == 0 {
		t.Errorf("invoke --json: %+v", res)
	}
	var s api.Session
	decode(uaaf(ctx, "", nil, "session", "create", "--json", "--timeout", "1500us", "--call-timeout", "2s", "--max-console", "100", "calltest", "testfns.nop"), &s)
	if s.State != api.StateCreated || s.ID == 0 {
		t.Errorf("session create --json: %+v", s)
	}
	var ss []api.Session
	decode(uaaf(ctx, "", nil, "ps", "--json"), &ss)
	if len(ss) != 1 || ss[0].ID != s.ID {
		t.Errorf("ps --json: %+v", ss)
	}

	// Events as NDJSON, from a sequence number on, until cancelled.
	evctx, stop := context.WithCancel(ctx)
	out := &syncBuffer{}
	done := make(chan result)
	go func() { done <- uaaf(evctx, "", out, "events", "--json", "--since", "1") }()
	for !strings.Contains(out.String(), `"type":"session.created"`) {
		time.Sleep(time.Millisecond)
	}
	stop()
	r := <-done
	if !errors.Is(r.err, context.Canceled) {
		t.Errorf("events after cancel: %v", r.err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, l := range lines {
		var ev api.Event
		if err := json.Unmarshal([]byte(l), &ev); err != nil || ev.Seq != uint64(i+2) {
			t.Errorf("event line %d: %q: %+v %v", i, l, ev, err)
		}
	}
}

// TestEventsText checks the human event lines, following live events.
func TestEventsText(t *testing.T) {
	srv := clienttest.Start(t, daemon.Options{})
	t.Setenv("UAAF_SOCKET", srv.Socket)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	evctx, stop := context.WithCancel(ctx)
	out := &syncBuffer{}
	done := make(chan result)
	go func() { done <- uaaf(evctx, "", out, "events") }()
	// Meanwhile, through the client: urfave/cli apps must not run
	// concurrently (its help flag is a shared global).
	cl := client.New(srv.Socket)
	defer cl.Close()
	if r, err := cl.Invoke(ctx, api.Invoke{Image: kvmtest.GuestImage(t, "exitcode"), Args: []string{"3"}}); err != nil || *r.ExitStatus != 3 {
		t.Fatalf("invoke: %+v, %v", r, err)
	}
	if r, err := cl.Invoke(ctx, api.Invoke{Image: kvmtest.GuestImage(t, "spin"), Limits: api.Limits{TimeoutMs: 10}}); err != nil || r.State != api.StateKilled {
		t.Fatalf("invoke: %+v, %v", r, err)
	}
	for strings.Count(out.String(), "\n") < 8 {
		time.Sleep(time.Millisecond)
	}
	stop()
	<-done
	// The daemon publishes a session's end after it wakes its waiters
	// (sessions.go: close(s.done) before events.publish), so the deletion
	// by the invocation can come before the exit: its order within a
	// session is not checked here, only sequence numbers in order and
	// every event's line.
	ec, spin := kvmtest.GuestImage(t, "exitcode"), kvmtest.GuestImage(t, "spin")
	want := []string{
		"#{n} {t} session.created session=1 image=" + ec,
		"#{n} {t} session.started session=1 image=" + ec,
		"#{n} {t} session.exited session=1 image=" + ec + " status=3",
		"#{n} {t} session.deleted session=1",
		"#{n} {t} session.created session=2 image=" + spin,
		"#{n} {t} session.started session=2 image=" + spin,
		"#{n} {t} session.killed session=2 image=" + spin + ` detail="timeout: the session ran longer than 10ms"`,
		"#{n} {t} session.deleted session=2",
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("events: %d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, l := range lines {
		if !strings.HasPrefix(l, fmt.Sprintf("#%d ", i+1)) {
			t.Errorf("event line %d: %q", i+1, l)
		}
	}
	for _, w := range want {
		if !slices.ContainsFunc(lines, pattern(w).MatchString) {
			t.Errorf("no event line like %q in\n%s", w, out.String())
		}
	}
}

// TestLogsFollow follows a session's console from before it starts to its
// end.
func TestLogsFollow(t *testing.T) {
	srv := clienttest.Start(t, daemon.Options{})
	t.Setenv("UAAF_SOCKET", srv.Socket)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if r := uaaf(ctx, "", nil, "session", "create", kvmtest.GuestImage(t, "output"), "followed"); r.stdout != "1\n" {
		t.Fatalf("create: %+v", r)
	}
	done := make(chan result)
	go func() { done <- uaaf(ctx, "", nil, "session", "logs", "-f", "1") }()
	cl := client.New(srv.Socket) // not a second app at once (see TestEventsText)
	defer cl.Close()
	if _, err := cl.StartSession(ctx, 1); err != nil {
		t.Fatalf("start: %v", err)
	}
	if r := <-done; r.code != 0 || r.stdout != "uaaf guest: starting, mem 8 MiB\nfollowed\nuaaf guest: exit 0\n" {
		t.Errorf("logs -f: %+v", r)
	}
}

// TestClientVerbErrors checks the one line each error gives, and the exit
// statuses.
func TestClientVerbErrors(t *testing.T) {
	srv := clienttest.Start(t, daemon.Options{})
	t.Setenv("UAAF_SOCKET", srv.Socket)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, api.MaxInput+1), 0o600); err != nil {
		t.Fatal(err)
	}
	hello := kvmtest.GuestImage(t, "hello")
	none := filepath.Join(dir, "none.sock")
	for _, tc := range []struct {
		args   []string
		stdin  string
		stderr string
		code   int
	}{
		{[]string{"ps", "--socket", none}, "", "uaaf: no daemon at " + none + ": start one with `uaaf serve`\n", 1},
		{[]string{"invoke", "nope"}, "", "uaaf: no image named \"nope\": register it with `uaaf image add nope=PATH`, or give the image's path\n", 1},
		{[]string{"session", "create", "nope"}, "", "uaaf: no image named \"nope\": register it with `uaaf image add nope=PATH`, or give the image's path\n", 1},
		{[]string{"invoke", "/nope.hvt"}, "", "uaaf: invalid request: /nope.hvt: no such file or directory\n", 1},
		{[]string{"invoke", "--timeout", "10ms", kvmtest.GuestImage(t, "spin")}, "", "uaaf: session 1 killed: timeout: the session ran longer than 10ms\n", 255},
		{[]string{"invoke", "--input", "-", hello}, "payload", "uaaf: invalid request: image " + hello + ` declares no block device "input" to read input from (see guest/UAAF_ABI.md)` + "\n", 1},
		{[]string{"invoke", "--input", big, hello}, "", "uaaf: --input " + big + ": more than the 1 MiB an invocation carries\n", 1},
		{[]string{"invoke", "--input", filepath.Join(dir, "missing"), hello}, "", "uaaf: --input: open " + filepath.Join(dir, "missing") + ": no such file or directory\n", 1},
		{[]string{"invoke"}, "", "uaaf: invoke: want an IMAGE or NAME (see uaaf invoke --help)\n", 1},
		{[]string{"invoke", "--bogus", "x"}, "", "uaaf: flag provided but not defined: --bogus (see uaaf invoke --help)\n", 1},
		{[]string{"lib", "load", "foo"}, "", "uaaf: lib load: \"foo\" is not NAME=PATH (see uaaf lib load --help)\n", 1},
		{[]string{"lib", "load", "=x.hvt"}, "", "uaaf: lib load: \"=x.hvt\" is not NAME=PATH (see uaaf lib load --help)\n", 1},
		{[]string{"lib", "load", "9x=/x.hvt"}, "", "uaaf: library 9x: invalid request: \"9x\" is not a library name (letters, digits, _; not starting with a digit; at most 31 bytes)\n", 1},
		{[]string{"lib", "load"}, "", "uaaf: lib load: want NAME=PATH... (see uaaf lib load --help)\n", 1},
		{[]string{"lib", "pin"}, "", "uaaf: lib pin: want one library NAME (see uaaf lib pin --help)\n", 1},
		{[]string{"lib", "unload", "a", "b"}, "", "uaaf: lib unload: want one library NAME, got 2 arguments (see uaaf lib unload --help)\n", 1},
		{[]string{"lib", "unpin", "nope"}, "", "uaaf: not found: libfuncs: library not found: nope\n", 1},
		{[]string{"lib"}, "", "uaaf: lib: want a subcommand: load, ls, pin, unpin, unload (see uaaf lib --help)\n", 1},
		{[]string{"lib", "bogus"}, "", "uaaf: lib: unknown subcommand \"bogus\" (want load, ls, pin, unpin, unload) (see uaaf lib --help)\n", 1},
		{[]string{"image", "add", "x"}, "", "uaaf: image add: \"x\" is not NAME=PATH (see uaaf image add --help)\n", 1},
		{[]string{"image", "add", "x=/nope.hvt"}, "", "uaaf: invalid request: /nope.hvt: Could not open: no such file or directory\n", 1},
		{[]string{"image", "rm", "nope"}, "", "uaaf: not found: image nope\n", 1},
		{[]string{"session", "get", "x"}, "", "uaaf: session get: \"x\" is not a session ID (see uaaf session get --help)\n", 1},
		{[]string{"session", "get", "99"}, "", "uaaf: not found: session 99\n", 1},
		{[]string{"session", "wait", "--timeout", "-1s", "1"}, "", "uaaf: session wait: --timeout -1s is negative (see uaaf session wait --help)\n", 1},
		{[]string{"session", "create", "--mem", "-1", "x"}, "", "uaaf: session create: --mem -1 is negative (see uaaf session create --help)\n", 1},
		{[]string{"session", "logs", "7"}, "", "uaaf: not found: session 7\n", 1},
		{[]string{"session"}, "", "uaaf: session: want a subcommand: create, start, ls, get, wait, kill, rm, logs (see uaaf session --help)\n", 1},
		{[]string{"ps", "x"}, "", "uaaf: ps: want no arguments, got 1 arguments (see uaaf ps --help)\n", 1},
		{[]string{"events", "--since", "x"}, "", "uaaf: invalid value \"x\" for flag --since: parse error (see uaaf events --help)\n", 1},
	} {
		name := strings.Join(tc.args, " ")
		r := uaaf(ctx, tc.stdin, nil, tc.args...)
		if r.stderr != tc.stderr || r.code != tc.code {
			t.Errorf("%s: exit %d, stderr\n %q\nwant %d,\n %q", name, r.code, r.stderr, tc.code, tc.stderr)
		}
		if tc.code == 1 && r.stdout != "" {
			t.Errorf("%s: stdout %q", name, r.stdout)
		}
	}
	// Invocations leave no session behind, failed ones included.
	if r := uaaf(ctx, "", nil, "ps"); r.stdout != "ID  IMAGE  STATE  VIEWS lib#index(refs, calls)\n" {
		t.Errorf("ps after the errors: %q", r.stdout)
	}
}

// TestEventsResubscribe: cut off for falling behind, `uaaf events`
// subscribes again from the last event it printed. A stand-in for the
// daemon serves the two subscriptions.
func TestEventsResubscribe(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "fake.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	const ev = `{"seq":%d,"time":"2026-12-06T12:00:00Z","type":"library.loaded","library":"l%d"}` + "\n"
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		switch r.URL.RawQuery {
		case "since=1":
			fmt.Fprintf(w, ev+ev+`{"seq":0,"time":"2026-12-06T12:00:01Z","type":"events.lost"}`+"\n", 2, 2, 3, 3)
		case "since=3":
			fmt.Fprintf(w, ev, 4, 4)
		default:
			http.Error(w, `{"error":"unexpected"}`, http.StatusBadRequest)
		}
	}))
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	r := uaaf(context.Background(), "", nil, "events", "--socket", sock, "--since", "1")
	mu.Lock()
	defer mu.Unlock()
	if r.code != 0 || r.stderr != "" || fmt.Sprint(queries) != "[since=1 since=3]" {
		t.Errorf("exit %d, stderr %q, queries %v", r.code, r.stderr, queries)
	}
	checkLines(t, "events", r.stdout, ""+
		"#2 {t} library.loaded library=l2\n"+
		"#3 {t} library.loaded library=l3\n"+
		"#4 {t} library.loaded library=l4\n")
}
