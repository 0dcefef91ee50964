package sched

import (
	"fmt"
	"time"
)

// KeepAlive decides how long an idle library function (or a registered
// session image's warm state) stays resident. Its input is when each
// library gains and loses references, in the Clock's time (trace time under
// a ScaledClock). Implementations are not safe for concurrent use: the
// daemon calls them under its scheduler lock.
type KeepAlive interface {
	// Used reports that an invocation started using lib at now (the
	// library got a reference; it may have had others already).
	Used(lib string, now time.Time)
	// Idle reports that lib's last reference was dropped at now and returns
	// what to do until its next use.
	Idle(lib string, now time.Time) Decision
	// Forget drops everything the policy knows about lib (it was
	// unregistered).
	Forget(lib string)
}

// Forever is a KeepAlive duration that never ends.
const Forever time.Duration = -1

// Decision is what a KeepAlive policy wants done with a library that became
// idle at time t:
//
//   - Prewarm == 0: keep it resident until t+KeepAlive, then unload it;
//     KeepAlive < 0 (Forever): never unload it.
//   - Prewarm > 0: unload it now, load it again at t+Prewarm and keep it
//     resident until t+Prewarm+KeepAlive (the paper's pre-warm semantics);
//     KeepAlive < 0: from t+Prewarm on, never unload it.
//
// A use before the window ends cancels the rest of the decision. Prewarm < 0
// is never returned.
type Decision struct {
	Prewarm   time.Duration
	KeepAlive time.Duration
}

// String renders d as "keep 10m0s", "keep forever" or "prewarm 9m0s keep 3m6s".
func (d Decision) String() string {
	keep := "forever"
	if d.KeepAlive >= 0 {
		keep = d.KeepAlive.String()
	}
	if d.Prewarm > 0 {
		return fmt.Sprintf("prewarm %v keep %s", d.Prewarm, keep)
	}
	return "keep " + keep
}

// Pinned returns the policy that never unloads a library.
func Pinned() KeepAlive { return pinned{} }

type pinned struct{}

func (pinned) Used(string, time.Time)          {}
func (pinned) Idle(string, time.Time) Decision { return Decision{KeepAlive: Forever} }
func (pinned) Forget(string)                   {}

// TTL returns the fixed keep-alive policy (the Lambda-like baseline): a
// library stays resident for d after its last reference is dropped; d < 0
// means forever, d == 0 unloads it at once.
func TTL(d time.Duration) KeepAlive { return ttl(d) }

type ttl time.Duration

func (ttl) Used(string, time.Time)            {}
func (t ttl) Idle(string, time.Time) Decision { return Decision{KeepAlive: time.Duration(t)} }
func (ttl) Forget(string)                     {}
