// Package monitor is uaaf's Solo5-hvt monitor (a "tender" in Solo5's words):
// it loads an hvt unikernel image into a fresh KVM VM, sets up the boot state
// the hvt ABI promises, runs the single vCPU and serves the guest's
// hypercalls — console, clocks, poll, block and network devices, halt — with
// every guest-supplied port, pointer and length checked against guest memory.
//
// A guest that breaks the ABI (bad port, pointer outside its memory, triple
// fault, write to its read-only text) ends with a *GuestError whose text
// matches what solo5-hvt prints; the monitor never panics on guest input.
//
// The usual sequence is ParseArgs (solo5-hvt's command line) or a Config built
// by hand, then New, Run and Close. A Monitor runs one guest once; it is not
// safe for concurrent use, except Stop.
package monitor
