//go:build !race

package seccomp

// raceRules is empty without the race detector (see race_test.go).
var raceRules []Rule
