// uaaf sizes GOMAXPROCS once, without reading cgroup files at start-up:
// every syscall counts in a cold start.

//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0

// Command uaaf is the Unikernel-as-a-Function runtime: a KVM monitor for
// Solo5-hvt unikernels (`uaaf run`), with inspection and host probing tools.
//
// Exit status: `uaaf run` exits with the guest's exit status (0–255; 255 when
// the guest aborted or trapped). Any error of uaaf's own — bad flags, a
// missing or malformed image, a guest that broke the hvt ABI — prints one
// line "uaaf: …" on stderr and exits 1, as solo5-hvt does.
package main

import (
	"errors"
	"fmt"
	"os"
)

// exitError carries an exit status out of a command without printing.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	err := newApp().Run(os.Args)
	os.Exit(exitCode(err, os.Stderr))
}

// exitCode maps a command's result to a process exit status, printing the
// error line if there is one.
func exitCode(err error, stderr *os.File) int {
	if err == nil {
		return 0
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "uaaf: %v\n", err)
	return 1
}
