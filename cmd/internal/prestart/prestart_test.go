package prestart

import "testing"

// TestNotRun: a process whose command line is not "uaaf run ..." (here the
// test binary) starts no machine, and Take says so.
func TestNotRun(t *testing.T) {
	if p := Take(); p != nil {
		p.Discard()
		t.Fatal("a machine was started for a process that is not `uaaf run`")
	}
}
