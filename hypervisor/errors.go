package hypervisor

import "errors"

// Sentinel errors of package hypervisor.
var (
	// ErrStopped: the vCPU was stopped by Stop before it finished.
	ErrStopped = errors.New("hypervisor: vCPU stopped")
	// ErrMemory: guest memory could not be allocated or protected.
	ErrMemory = errors.New("hypervisor: guest memory")
)
