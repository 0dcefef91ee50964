package seccomp

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/seccomp/internal/childtest"
)

// Tests that install a filter do it in a child process (childtest); a
// child whose Install finds no seccomp skips its test.
func TestMain(m *testing.M) { childtest.Main(m, ErrUnsupported) }

// installed installs p (plus raceRules) in mode and says so on stderr, so
// the parent can tell a call the filter killed from a failed Install.
func installed(mode Mode, p Profile) error {
	if err := Install(mode, Profile{Name: p.Name, Groups: append(slices.Clone(p.Groups), raceRules)}); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "seccomp-test: installed")
	return nil
}
