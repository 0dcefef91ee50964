// Package libfuncs is uaaf's library-function registry: which library
// unikernels a process holds, by name; how many sessions reference each;
// which are pinned ("keep preloaded"); and when an unreferenced one is
// destroyed — at once, or when a keep-alive policy (KeepAlive) lets it go,
// possibly to load it again ahead of its next use (prewarm).
//
// The registry is pure bookkeeping: it imports no KVM, monitor or switcher
// package and is unit-tested without /dev/kvm. What a loaded library is, and
// how it is loaded and destroyed, is its Loader's and Library's business:
// package libvm (libfuncs/libvm) boots libraries into VMs and starts their
// per-session instances, and libvm.Registry is this registry over them.
//
// The C sources of the libraries uaaf ships (sha256, crc32, base64, sort, and
// testfns for the tests) live in the subdirectories; `make -C libfuncs`
// builds them into libfuncs/build/NAME.hvt.
package libfuncs
