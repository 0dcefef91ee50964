// Package installtest holds the test of `make install` and `make
// uninstall` as a user meets them: an install into a temporary PREFIX, the
// guest SDK's out-of-tree build from guest/README.md against it, the
// installed uaaf running what was built and what was installed with no
// path flags, the man page and the completion scripts, and an uninstall
// that leaves the prefix as it found it. It has no code of its own; it
// sits under cmd/ to read the command definitions (cmd/internal).
package installtest
