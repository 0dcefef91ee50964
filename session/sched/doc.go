// Package sched holds the scheduling policies of the uaaf daemon as pure
// logic: no KVM, no I/O, only the standard library. The daemon owns the
// machinery (VMs, library instances, timers) and asks these policies what to
// do; a trace replayer drives the same policies in trace time.
//
// Four kinds of policy, each behind an interface:
//
//   - Queue: admission and ordering of invocations. FIFO (default), EDF
//     (earliest deadline first), Fair (round robin between images), any of
//     them under a per-image concurrency limit (Limit). It sees each
//     request's image, arrival and deadline, and how many invocations of an
//     image run now; it decides which waiting request starts next.
//   - KeepAlive: how long a library function (or a session image's warm
//     state) stays resident after its last reference is dropped, and whether
//     to unload it and pre-warm it later. Pinned, TTL (fixed keep-alive, the
//     Lambda-like baseline) and Hybrid (the hybrid histogram policy of
//     Shahrad et al., "Serverless in the Wild", ATC'20). It sees when each
//     library gains and loses its last reference, in the Clock's time.
//   - PoolSizer: the target size of the warm VM pool. Fixed or RateDriven
//     (from the recent arrival rate). It sees cumulative arrivals and the
//     pool's live and ready counts.
//   - Clock: the time every policy sees. RealClock, ScaledClock (trace time
//     running Scale times faster than real time) and FakeClock (tests).
//
// Residency is the observability helper that goes with KeepAlive: it records
// when each library was resident and with how much memory, so a run can
// report memory-time (GiB·s) and classify each use as cold or warm.
//
// # Policy specs
//
// Policies are chosen by a spec string, as given to a flag or a config file:
//
//	spec  = name ["=" value] *("," key "=" value)
//
// The optional value after the name is the policy's main argument; keys are
// the policy's named parameters. Spaces around names, keys and values are
// ignored; a key may appear once. Durations use time.ParseDuration syntax
// ("90s", "10m", "4h"). Examples:
//
//	fifo                      edf,per-image=4          fair,per-image=2
//	pinned                    ttl=10m                  hybrid,range=2h,fallback=10m
//	fixed=8                   rate,min=2,max=64,window=30s
//
// ParseQueue, ParseKeepAlive and ParsePool look the name up in a registry and
// fail with ErrUnknownPolicy (naming the registered policies) or ErrBadSpec
// (naming the offending parameter). Every queue accepts "per-image=N", which
// wraps it in Limit.
//
// # Adding a policy
//
// Implement the interface in one file and register a constructor from an
// init function:
//
//	func init() {
//		sched.RegisterKeepAlive("mine", func(p *sched.Params) (sched.KeepAlive, error) {
//			d, err := p.Duration("after", 5*time.Minute)
//			...
//		})
//	}
//
// The constructor reads its parameters through Params; a parameter it does
// not read is reported as unknown by the Parse function. See the package
// example.
//
// # Concurrency
//
// Queues, keep-alive policies and pool sizers are not safe for concurrent
// use: the daemon calls them under its own scheduler lock. Clocks, the
// registry and Residency are safe for concurrent use.
package sched
