// Package libfuncs is the library-function registry of uaaf: it preloads a
// library-function unikernel once, keeps its initialised ("pristine") memory
// in a memfd, and gives every session that binds it a private instance whose
// pages are copy-on-write from the pristine image — read-only pages (text,
// rodata) stay one host copy however many sessions map them; writable pages
// cost a session only what it dirties.
//
// Reference counts: Acquire takes a reference for a session, Release drops
// it; a library whose count reaches zero is destroyed and its memory released
// unless it is pinned ("keep preloaded"). The Registry is safe for concurrent
// use; an Instance belongs to one session and is used on that session's vCPU
// thread.
//
// The C sources of the libraries uaaf ships (sha256, crc32, base64, sort, and
// testfns for the tests) live in the subdirectories; `make -C libfuncs`
// builds them into libfuncs/build/NAME.hvt.
package libfuncs
