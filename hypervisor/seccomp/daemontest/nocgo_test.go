//go:build !cgo

package daemontest

import "github.com/uaaf/uaaf/hypervisor/seccomp"

// cgoRules is empty without cgo (see cgo_test.go).
var cgoRules []seccomp.Rule
