// Package api is version 1 of the control API of `uaaf serve`: the JSON
// bodies its HTTP routes take and return, shared by the daemon
// (session/daemon) and its Go client (session/client). The routes, with
// every field, are described in session/daemon/openapi.json, which the
// daemon serves at GET /v1/openapi.json.
//
// Conventions: times are RFC 3339 with nanoseconds; durations are integer
// nanoseconds in fields named *_ns, or milliseconds in request fields named
// *_ms; memory is bytes unless the field says *_mib. Errors are
// {"error": "…"} with the HTTP status saying what kind.
package api

import "time"

// Version is the API version in every route's path (/v1/…).
const Version = "v1"

// DefaultSocket is where `uaaf serve` listens unless told otherwise
// ($UAAF_SOCKET, --socket).
const DefaultSocket = "/run/uaaf/uaaf.sock"

// MaxInput is the largest invocation input payload, in bytes.
const MaxInput = 1 << 20

// Error is the body of every error response.
type Error struct {
	Error string `json:"error"`
}

// VersionInfo is GET /version.
type VersionInfo struct {
	Version    string `json:"version"`     // uaaf's version
	API        string `json:"api"`         // "v1"
	HvtABI     int    `json:"hvt_abi"`     // Solo5 hvt ABI version
	GoVersion  string `json:"go_version"`  // the Go toolchain
	Switch     string `json:"switch"`      // the switch backend and why
	KernelExit bool   `json:"kernel_exit"` // VM exits counted by the kernel (eBPF) in /metrics
}

// Health is GET /healthz.
type Health struct {
	Status   string `json:"status"` // "ok", or "draining" (with 503) after SIGTERM
	Sessions int    `json:"sessions"`
	Queued   int    `json:"queued"`
}

// LoadLibrary is the body of POST /v1/libraries.
type LoadLibrary struct {
	Name string `json:"name"`
	Path string `json:"path"` // absolute, or relative to the daemon's working directory
	Pin  bool   `json:"pin"`  // keep loaded while unreferenced
}

// Library is one library function unikernel the daemon holds.
type Library struct {
	Name      string    `json:"name"`
	Path      string    `json:"path"`
	Refs      int       `json:"refs"`      // sessions referencing it now
	Pinned    bool      `json:"pinned"`    // kept while unreferenced
	Resident  bool      `json:"resident"`  // loaded now (false while a keep-alive policy has it unloaded)
	Exports   []string  `json:"exports"`   // its functions, in index order
	MemSize   uint64    `json:"mem_size"`  // guest memory of one view
	Memory    uint64    `json:"memory"`    // bytes of its pristine image resident on the host
	Instances int       `json:"instances"` // live instances (one per session that called it)
	LoadNs    int64     `json:"load_ns"`   // how long its last load took
	LoadedAt  time.Time `json:"loaded_at"`
	LastUsed  time.Time `json:"last_used,omitzero"`
	Loads     uint64    `json:"loads"` // times loaded
	Cold      uint64    `json:"cold"`  // sessions that had to wait for a load
	Warm      uint64    `json:"warm"`  // sessions that found it loaded
}

// AddImage is the body of POST /v1/images.
type AddImage struct {
	Name   string `json:"name"`
	Path   string `json:"path"`
	MemMiB int    `json:"mem_mib,omitempty"` // guest memory of its sessions; 0: the daemon's default
}

// Image is a session image registered with the daemon: parsed and laid out
// once, started by many sessions.
type Image struct {
	Name     string   `json:"name"`
	Path     string   `json:"path"`
	Kind     string   `json:"kind"`    // "session" (imports functions) or "plain" (a Solo5 guest)
	Imports  []string `json:"imports"` // the libraries it imports
	MemMiB   int      `json:"mem_mib"`
	Input    bool     `json:"input"`    // it declares the block device "input"
	Memory   uint64   `json:"memory"`   // bytes of its template resident on the host
	Sessions int      `json:"sessions"` // sessions started from it so far
	Shells   int      `json:"shells"`   // guests of it made ahead of need, ready now (its warm state)
	Cool     bool     `json:"cool"`     // the keep-alive policy dropped its warm state; the next session asks for it again
}

// Limits bound one session. Millisecond values are 0 to MaxMs (larger
// ones are refused, 400); the console kept is at most the daemon's own
// bound (--max-console), which a request may lower but not raise.
type Limits struct {
	TimeoutMs       int64 `json:"timeout_ms,omitempty"`        // wall time from start; 0: the daemon's default
	CallTimeoutMs   int64 `json:"call_timeout_ms,omitempty"`   // one library call; 0: the default
	MaxConsoleBytes int64 `json:"max_console_bytes,omitempty"` // console kept; more is dropped (output_truncated); 0: the daemon's bound
}

// MaxMs is the largest millisecond value of a limit or a deadline: the
// largest a Go time.Duration holds (~292 years).
const MaxMs = 9223372036854

// SessionSpec is the body of POST /v1/sessions.
type SessionSpec struct {
	Image  string   `json:"image"` // a registered image's name, or an image path
	Args   []string `json:"args,omitempty"`
	MemMiB int      `json:"mem_mib,omitempty"` // 0: the image's
	Input  []byte   `json:"input,omitempty"`   // base64 in JSON; read by the guest from block device "input"
	Limits Limits   `json:"limits,omitzero"`
	Start  bool     `json:"start,omitempty"` // start it at once
	// Libraries binds the image's imports of a library to another one of
	// the same exports: {"sha256": "app7_sha256"} serves the imports of
	// sha256 from library app7_sha256 (loaded, or found as
	// app7_sha256.hvt on the daemon's library path). Each key must be a
	// library the image imports; no two imports may share a library.
	Libraries map[string]string `json:"libraries,omitempty"`
}

// Session states.
const (
	StateCreated = "created" // bound: libraries referenced, VM ready
	StateRunning = "running"
	StateExited  = "exited" // halted; see exit_status
	StateFailed  = "failed" // ended by a fault or a host error; see error
	StateKilled  = "killed" // stopped by kill, its timeout, or the daemon's shutdown
)

// View is one entry of a session's EPTP list in the S-F table.
type View struct {
	Index    int    `json:"index"`    // EPTP index, 1..511
	Library  string `json:"library"`  // library name
	Instance string `json:"instance"` // "none" (not started), "live", "discarded"
	Refs     int    `json:"refs"`     // the library's reference count now
	Warm     bool   `json:"warm"`     // the library was loaded when the session bound it
	Calls    uint64 `json:"calls"`
	Faults   uint64 `json:"faults"`
	Exits    uint64 `json:"vm_exits"`
}

// Timings of one session, in nanoseconds. Start phases: queued (waiting for
// admission), bind (libraries referenced and resolved, memory mapped, VM
// taken from the pool), boot (vCPU state set) — start is all of them,
// request accepted → the guest's first instruction. For a session started
// by a start request of its own (created without "start"), boot and start
// count from that request: its queue and bind were paid at creation.
type Timings struct {
	QueuedNs int64  `json:"queued"`
	BindNs   int64  `json:"bind"`
	BootNs   int64  `json:"boot"`
	StartNs  int64  `json:"start"`
	RunNs    int64  `json:"run"`   // first instruction → halt
	TotalNs  int64  `json:"total"` // request accepted → exit status known
	CPUNs    int64  `json:"cpu"`   // CPU time of the session's vCPU thread (so far, while it runs)
	VMExits  uint64 `json:"vm_exits"`
	PoolHit  bool   `json:"pool_hit"` // its VM came from the warm pool
}

// Session is one session of the daemon: its state, timings and S-F row.
type Session struct {
	ID         uint64    `json:"id"`
	Image      string    `json:"image"` // as given at creation
	Path       string    `json:"path"`
	State      string    `json:"state"`
	ExitStatus *int      `json:"exit_status,omitempty"` // when exited
	Error      string    `json:"error,omitempty"`       // when failed or killed
	Switch     string    `json:"switch"`
	Views      []View    `json:"views"` // the S-F row: its EPTP list
	Created    time.Time `json:"created"`
	Started    time.Time `json:"started,omitzero"`
	Ended      time.Time `json:"ended,omitzero"`
	Timings    Timings   `json:"timings"`
	Console    int64     `json:"console_bytes"`    // console output kept
	Truncated  bool      `json:"output_truncated"` // output beyond max_console_bytes was dropped
}

// Invoke is the body of POST /v1/invoke: create a session, run it to its
// end, delete it, and return what it did.
type Invoke struct {
	Image  string   `json:"image"`
	Args   []string `json:"args,omitempty"`
	MemMiB int      `json:"mem_mib,omitempty"`
	Input  []byte   `json:"input,omitempty"`
	Limits Limits   `json:"limits,omitzero"`
	// DeadlineMs is when the caller wants the result, from now (for
	// deadline-ordering admission policies); 0: none.
	DeadlineMs int64 `json:"deadline_ms,omitempty"`
	// Libraries binds imports to other libraries, as SessionSpec.Libraries.
	Libraries map[string]string `json:"libraries,omitempty"`
}

// InvokeResult is what POST /v1/invoke returns.
type InvokeResult struct {
	Session
	// Output is the console (up to its limit; see Truncated). JSON strings
	// hold UTF-8 only: a console that is not valid UTF-8 comes in Output
	// with U+FFFD for its invalid bytes and, exactly, in OutputBase64.
	Output       string `json:"output"`
	OutputBase64 []byte `json:"output_base64,omitempty"`
}

// ConsoleBytes returns the session's console output exactly: OutputBase64
// when the daemon sent it, else Output.
func (r InvokeResult) ConsoleBytes() []byte {
	if r.OutputBase64 != nil {
		return r.OutputBase64
	}
	return []byte(r.Output)
}

// Event is one line of GET /v1/events (NDJSON).
type Event struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Type    string    `json:"type"` // session.created|started|exited|failed|killed|deleted|expired, library.loaded|load_failed|unloaded|instantiated, image.added|removed|cooled|warmed, daemon.draining, events.lost
	Session uint64    `json:"session,omitempty"`
	Image   string    `json:"image,omitempty"`
	Library string    `json:"library,omitempty"`
	Detail  string    `json:"detail,omitempty"`
	Status  *int      `json:"status,omitempty"`
	// Libraries, on session.created, says for each library the session
	// bound whether it was resident (warm) or had to be loaded (cold).
	Libraries []LibraryUse `json:"libraries,omitempty"`
	// Timings, on the end of a session (exited, failed, killed after it
	// started), are its final timings.
	Timings *Timings `json:"timings,omitempty"`
	// Bytes, on library.loaded, is the library's resident memory.
	Bytes uint64 `json:"bytes,omitempty"`
}

// LibraryUse is one library a session bound.
type LibraryUse struct {
	Library string `json:"library"`
	Warm    bool   `json:"warm"` // resident when bound; false: the session waited for its load (a cold start)
}

// Residency is GET /v1/residency: when each library was resident and with
// how much memory, so that a scheduler can compute memory-time. Times are
// the daemon's policy clock (see ClockScale), which is also the clock of
// the keep-alive policy's windows.
type Residency struct {
	// Now is the policy clock's time at the response.
	Now time.Time `json:"now"`
	// ClockScale is how many seconds of the policy clock pass per real
	// second: 1, or the speed-up of `uaaf serve --clock-scale` (a trace
	// replayed faster than real time keeps its keep-alive windows and
	// memory-time in trace time).
	ClockScale float64            `json:"clock_scale"`
	Libraries  []LibraryResidency `json:"libraries"`
}

// LibraryResidency is one library's residency history, oldest first.
type LibraryResidency struct {
	Name      string              `json:"name"`
	Intervals []ResidencyInterval `json:"intervals"`
	// MemoryTime is the sum over Intervals of bytes × duration, open
	// intervals counted up to Now, in GiB·s of the policy clock.
	MemoryTime float64 `json:"memory_time_gib_s"`
}

// ResidencyInterval is one stretch of time a library was resident.
type ResidencyInterval struct {
	Load   time.Time `json:"load"`
	Unload time.Time `json:"unload,omitzero"` // zero: still resident
	Bytes  uint64    `json:"bytes"`           // its memory meanwhile
}
