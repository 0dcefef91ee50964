package daemon

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
)

// soak reports whether the long soak tests run at full size: `make soak`
// sets UAAF_SOAK=1. Without it they run a tenth of it (the same code, in
// `make test`).
func soak() bool { return os.Getenv("UAAF_SOAK") == "1" }

// soakSeed is the seed of the fault soak's choices: $UAAF_SOAK_SEED, or 1.
func soakSeed(t *testing.T) uint64 {
	s := os.Getenv("UAAF_SOAK_SEED")
	if s == "" {
		return 1
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("UAAF_SOAK_SEED=%q: %v", s, err)
	}
	return n
}

// faultKind is one kind of invocation in the fault soak: what it asks and
// how to tell its right answer.
type faultKind struct {
	name  string
	req   func(td *testDaemon) api.Invoke
	check func(r api.InvokeResult) string // "" when r is right
	// gone: the client disconnects a random 0–30 ms into the request (an
	// abandoned invocation: killed and deleted, nobody gets an answer).
	gone bool
	// cut: a raw connection sends the request line, headers and half the
	// body it announced, then closes.
	cut bool
}

func exited(r api.InvokeResult, status int) string {
	if r.State != api.StateExited || r.ExitStatus == nil || *r.ExitStatus != status {
		return fmt.Sprintf("state %s, exit %v, error %q; want exited with %d", r.State, r.ExitStatus, r.Error, status)
	}
	return ""
}

func contains(r api.InvokeResult, subs ...string) string {
	for _, s := range subs {
		if !strings.Contains(r.Output, s) {
			return fmt.Sprintf("output lacks %q:\n%s", s, r.Output)
		}
	}
	return ""
}

var faultKinds = []faultKind{
	{name: "ok", // a well-behaved call next to the rest
		req: func(*testDaemon) api.Invoke {
			return api.Invoke{Image: "calltest", Args: []string{"crc32.crc32:616263"}}
		},
		check: func(r api.InvokeResult) string {
			return exited(r, 0) + contains(r, "RESULT crc32.crc32 4 c2412435", "DONE")
		}},
	{name: "lib-crash", // the library traps; the session gets UAAF_EFAULT and goes on
		req: func(*testDaemon) api.Invoke {
			return api.Invoke{Image: "calltest", Args: []string{"testfns.crash", "crc32.crc32:616263"}}
		},
		check: func(r api.InvokeResult) string {
			return exited(r, 0) + contains(r, "RESULT testfns.crash -4", "RESULT crc32.crc32 4 c2412435", "DONE")
		}},
	{name: "lib-abort", // solo5_abort inside a call
		req: func(*testDaemon) api.Invoke {
			return api.Invoke{Image: "calltest", Args: []string{"testfns.abort", "testfns.nop"}}
		},
		check: func(r api.InvokeResult) string {
			return exited(r, 0) + contains(r, "RESULT testfns.abort -4", "RESULT testfns.nop 0", "DONE")
		}},
	{name: "lib-hang", // never returns: the call deadline ends it
		req: func(*testDaemon) api.Invoke {
			return api.Invoke{Image: "calltest", Args: []string{"testfns.hang"}, Limits: api.Limits{CallTimeoutMs: 100}}
		},
		check: func(r api.InvokeResult) string {
			return exited(r, 0) + contains(r, "RESULT testfns.hang -5", "DONE")
		}},
	{name: "lib-flood", // 128 KiB of console from a library, 4 KiB kept
		req: func(*testDaemon) api.Invoke {
			args := make([]string, 8)
			for i := range args {
				args[i] = "testfns.puts:*16000"
			}
			return api.Invoke{Image: "calltest", Args: args, Limits: api.Limits{MaxConsoleBytes: 4096}}
		},
		check: func(r api.InvokeResult) string {
			// (Output is longer: JSON turns each byte >= 0x80 of the
			// 00 01 02 … input into U+FFFD.)
			if r.Console != 4096 || !r.Truncated {
				return fmt.Sprintf("console %d bytes, truncated %v; want 4096 kept, truncated", r.Console, r.Truncated)
			}
			return exited(r, 0)
		}},
	{name: "guest-flood", // a plain guest floods: 64 KiB, 4 KiB kept
		req: func(*testDaemon) api.Invoke {
			return api.Invoke{Image: "flood", Args: []string{"64"}, Limits: api.Limits{MaxConsoleBytes: 4096}}
		},
		check: func(r api.InvokeResult) string {
			if r.Console != 4096 || !r.Truncated {
				return fmt.Sprintf("console %d bytes, truncated %v", r.Console, r.Truncated)
			}
			return exited(r, 0)
		}},
	{name: "guest-triplefault", // the session itself dies
		req: func(td *testDaemon) api.Invoke { return api.Invoke{Image: td.triplefault, MemMiB: 8} },
		check: func(r api.InvokeResult) string {
			if r.State != api.StateFailed || !strings.Contains(r.Error, "triple fault") {
				return fmt.Sprintf("state %s, error %q; want failed by a triple fault", r.State, r.Error)
			}
			return ""
		}},
	{name: "session-timeout", // waits forever: its wall-time limit kills it
		req: func(*testDaemon) api.Invoke {
			return api.Invoke{Image: "idle", Limits: api.Limits{TimeoutMs: 200}}
		},
		check: func(r api.InvokeResult) string {
			if r.State != api.StateKilled || !strings.Contains(r.Error, "timeout: the session ran longer than 200ms") {
				return fmt.Sprintf("state %s, error %q; want killed by its timeout", r.State, r.Error)
			}
			return ""
		}},
	{name: "client-gone", gone: true,
		req: func(*testDaemon) api.Invoke { return api.Invoke{Image: "idle"} }},
	{name: "client-cut", cut: true},
}

// TestFaultSoak sends 1 000 invocations at once (100 without UAAF_SOAK=1)
// whose sessions, chosen at random (seeded: UAAF_SOAK_SEED), call libraries
// that crash, abort, hang or flood the console, crash or flood themselves,
// run past their time limit, or whose clients disconnect mid-request or
// send half a body; some behave. Every invocation must get its own right
// answer, and afterwards the daemon must be healthy, hold no session, no
// library reference or instance, and have its file descriptors, memfds and
// goroutines back where they were.
func TestFaultSoak(t *testing.T) {
	n := 100
	if soak() {
		n = 1000
	}
	seed := soakSeed(t)
	td := startDaemon(t, Options{CallTimeout: time.Minute, MaxConsole: 1 << 20})
	td.triplefault = kvmtest.GuestImage(t, "triplefault")
	// Warm up: every kind once, so that pools, caches and threads exist.
	for _, k := range faultKinds {
		if !k.gone && !k.cut {
			if msg := k.check(td.invoke(t, k.req(td))); msg != "" {
				t.Fatalf("warm-up %s: %s", k.name, msg)
			}
		}
	}
	td.http.CloseIdleConnections()
	waitFor(5*time.Second, func() bool { return len(td.Sessions()) == 0 })
	before := td.measure(t)

	rng := rand.New(rand.NewPCG(seed, 0))
	kinds := make([]int, n)
	delays := make([]time.Duration, n)
	for i := range kinds {
		kinds[i] = rng.IntN(len(faultKinds))
		delays[i] = time.Duration(rng.IntN(30)) * time.Millisecond
	}
	var peak atomic.Int64
	stopPeak := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopPeak:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if live, _ := td.adm.counts(); int64(live) > peak.Load() {
				peak.Store(int64(live))
			}
		}
	}()
	start := time.Now()
	go_ := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, n)
	counts := make([]atomic.Int64, len(faultKinds))
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := faultKinds[kinds[i]]
			<-go_
			switch {
			case k.cut:
				if msg := td.cutRequest(); msg != "" {
					errs <- fmt.Sprintf("#%d %s: %s", i, k.name, msg)
				}
			case k.gone:
				ctx, cancel := context.WithTimeout(context.Background(), delays[i])
				status, _, _ := td.doCtx(t, ctx, "POST", "/v1/invoke", k.req(td))
				cancel()
				if status != 0 && status != http.StatusOK {
					errs <- fmt.Sprintf("#%d %s: status %d", i, k.name, status)
				}
			default:
				var r api.InvokeResult
				status, _, out := td.do(t, "POST", "/v1/invoke", k.req(td))
				if status != http.StatusOK {
					errs <- fmt.Sprintf("#%d %s: status %d: %s", i, k.name, status, out)
					return
				}
				if err := json.Unmarshal(out, &r); err != nil {
					errs <- fmt.Sprintf("#%d %s: %v", i, k.name, err)
					return
				}
				if msg := k.check(r); msg != "" {
					errs <- fmt.Sprintf("#%d %s: %s", i, k.name, msg)
					return
				}
			}
			counts[kinds[i]].Add(1)
		}()
	}
	close(go_)
	wg.Wait()
	took := time.Since(start)
	close(stopPeak)
	close(errs)
	bad := 0
	for e := range errs {
		if bad++; bad <= 10 {
			t.Error(e)
		}
	}
	if bad > 10 {
		t.Errorf("... %d wrong answers in all", bad)
	}
	var mix []string
	for i, k := range faultKinds {
		mix = append(mix, fmt.Sprintf("%s %d", k.name, counts[i].Load()))
	}

	// Abandoned invocations end on their own; then nothing may be left.
	td.http.CloseIdleConnections()
	// (An ended session's VMs are destroyed just after its answer: wait
	// for the live count too.)
	if !waitFor(30*time.Second, func() bool { return len(td.Sessions()) == 0 && td.Health().Sessions == 0 }) {
		t.Errorf("%d sessions left: %+v", len(td.Sessions()), td.Sessions())
	}
	if h := td.Health(); h.Status != "ok" || h.Sessions != 0 || h.Queued != 0 {
		t.Errorf("health after the soak: %+v", h)
	}
	for _, l := range td.Libraries() {
		if l.Refs != 0 || l.Instances != 0 {
			t.Errorf("library %s after the soak: refs %d, instances %d", l.Name, l.Refs, l.Instances)
		}
	}
	if msg := faultKinds[0].check(td.invoke(t, faultKinds[0].req(td))); msg != "" {
		t.Errorf("the daemon after the soak: %s", msg)
	}
	td.http.CloseIdleConnections()
	var after resources
	waitFor(10*time.Second, func() bool {
		after = td.measure(t)
		return after.fds <= before.fds+4 && after.memfds <= before.memfds && after.goroutines <= before.goroutines+4
	})
	t.Logf("seed %d, %d invocations at once (peak %d sessions live), %v: %s", seed, n, peak.Load(), took.Round(time.Millisecond), strings.Join(mix, ", "))
	t.Logf("fds %d→%d, memfds %d→%d, goroutines %d→%d, RSS %d→%d KiB",
		before.fds, after.fds, before.memfds, after.memfds, before.goroutines, after.goroutines, before.rssKiB, after.rssKiB)
	if after.fds > before.fds+4 || after.memfds > before.memfds || after.goroutines > before.goroutines+4 {
		t.Errorf("leak: %+v → %+v", before, after)
	}
	if after.rssKiB > before.rssKiB+64<<10 { // idle threads, runners and heap bookkeeping stay
		t.Errorf("RSS grew by %d KiB", after.rssKiB-before.rssKiB)
	}
}

// cutRequest opens a connection of its own, announces a 4 KiB invocation
// body, sends half of it and hangs up; "" if the daemon took that quietly.
func (td *testDaemon) cutRequest() string {
	c, err := net.Dial("unix", td.sock)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	body := `{"image":"demo","args":["` + strings.Repeat("x", 4096) + `"]}`
	fmt.Fprintf(c, "POST /v1/invoke HTTP/1.1\r\nHost: uaaf\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body[:len(body)/2])
	return ""
}
