// Package contrib holds keep-alive, queue and pool policies that are not
// part of the daemon's core set: each lives in one file that implements a
// session/sched interface and registers a constructor from its init
// function. cmd/uaaf-ctl imports the package, so `uaaf serve --keep-alive`
// and `uaaf replay --policies` know every policy here by name. It is also
// the worked example of docs/scheduling.md: a researcher's policy is one
// more file in this directory.
package contrib
