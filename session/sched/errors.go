package sched

import "errors"

// Sentinel errors of package sched.
var (
	// ErrBadSpec: a policy spec is malformed or one of its parameters is
	// missing, unknown or out of range.
	ErrBadSpec = errors.New("sched: bad policy spec")
	// ErrUnknownPolicy: a spec names no registered policy.
	ErrUnknownPolicy = errors.New("sched: unknown policy")
	// ErrResident: Residency.Load of a library already resident.
	ErrResident = errors.New("sched: library already resident")
	// ErrNotResident: Residency.Unload of a library not resident.
	ErrNotResident = errors.New("sched: library not resident")
	// ErrTimeOrder: a Residency event earlier than the library's previous event.
	ErrTimeOrder = errors.New("sched: event before the previous one")
)
