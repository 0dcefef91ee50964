//go:build !cgo

package seccomp

// cgoThreads is empty without cgo: the Go runtime makes its threads itself
// (see allowlist_cgo.go).
var cgoThreads []Rule
