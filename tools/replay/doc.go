// Package replay replays a day of the Azure Functions 2019 trace (read by
// tools/trace) against uaaf's daemon, once per keep-alive policy, and
// compares the policies: the engine of `uaaf replay`.
//
// # What one replay does
//
// Load turns the trace files, a window of minutes, a seed and a mapping
// into a Plan: every invocation with its wall-clock due time (its trace
// offset divided by the speed-up), its wall run time (likewise), the
// session image it runs and the libraries its app uses. A malformed file
// fails Load with an error naming the file and the line, before anything
// runs.
//
// Compare then, for each policy, gets a daemon with fresh state from a
// Launcher (ServeLauncher starts a `uaaf serve` child with that keep-alive
// policy and its policy clock scaled by the speed-up; SocketLauncher uses a
// running daemon), registers the images, and replays: each invocation is
// sent at its due time as POST /v1/invoke, without waiting for the ones
// before it, and its result recorded — timings, which libraries were warm
// or cold, whether it met its deadline. At the end of the window it reads
// GET /v1/residency and computes the libraries' memory-time over the
// window. Summarize reduces the records to percentiles and fractions;
// WriteRun and WriteComparison store them (per-invocation and per-function
// CSV, summary.json, summary.md, policies.png).
//
// # Time
//
// The trace runs Speedup times faster than real time. The daemon's policy
// clock (`uaaf serve --clock-scale`) runs at the same rate, so keep-alive
// windows (ttl=10m, the hybrid policy's histogram bins and range) and
// memory-time (GiB·s) are in trace time, as in the paper's study.
// Latencies (queueing, start, end to end) are measured in real time: they
// are what the machine did, and do not scale.
//
// # Libraries: per app or shared
//
// In the paper, keep-alive decides per application. uaaf shares library
// functions between every session, so with a handful of shipped libraries
// every library is in use all the time and no policy would ever see a
// cold start. By default (PerApp) each app therefore gets its own instances
// of the libraries its mapping assigns it: an invocation of app A binds
// its image's import of sha256 to library "a<hash of A>_sha256"
// (api.Invoke.Libraries), a symbolic link to sha256.hvt in the alias
// directory that the daemon searches. Imports of libraries the app is not
// assigned stay on the shared library. Shared replays without aliases.
//
// # Concurrency
//
// A Plan is read-only once made and may be shared. Compare and Replay run
// one invocation per goroutine and are safe to call from any goroutine;
// the Daemon they are given must be safe for concurrent use
// (*client.Client is).
package replay
