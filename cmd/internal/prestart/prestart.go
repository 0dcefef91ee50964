// Package prestart starts creating the KVM machine of a `uaaf run` while the
// Go runtime is still initialising the rest of the program.
//
// Creating a VM and its vCPU is about a millisecond of KVM work, and the
// packages `uaaf run` needs take a good part of that to initialise. This
// package depends on little more than package kvm, so Go initialises it
// before them, and its init starts the machine on its own goroutine when the
// command line is "uaaf run ...": the two costs then overlap instead of
// adding up. The run command (package runcmd) takes the machine with Take;
// in any other process nothing is started.
package prestart

import (
	"os"
	"sync"

	"github.com/uaaf/uaaf/hypervisor/kvm"
)

var (
	mu      sync.Mutex
	pending *kvm.PendingMachine
)

func init() {
	if len(os.Args) > 1 && os.Args[1] == "run" {
		pending = kvm.StartMachine(kvm.DefaultPath)
	}
}

// Take returns the machine started for this process, or nil if none was or
// it was already taken. The caller owns it (kvm.PendingMachine's Wait or
// Discard). Safe from any goroutine.
func Take() *kvm.PendingMachine {
	mu.Lock()
	defer mu.Unlock()
	p := pending
	pending = nil
	return p
}
