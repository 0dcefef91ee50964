// Package daemontest holds only a test: a server process that installs the
// seccomp Daemon profile before doing anything, then serves HTTP on a unix
// socket and loads and runs guests, sessions and a net guest per request.
//
// It is a package of its own because net/http makes a cgo-enabled test
// binary link runtime/cgo, whose glibc threads make calls (clone3, rseq,
// set_robust_list, a read-only openat) that the CGO_ENABLED=0 uaaf binary
// never makes; the seccomp package's own tests must not import net, so
// that they check the profiles exactly.
package daemontest
