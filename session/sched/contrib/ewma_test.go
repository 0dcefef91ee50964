package contrib

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/session/sched"
)

// TestEWMA: the window follows the weighted average of the idle times
// seen, clamped; before any, it is First.
func TestEWMA(t *testing.T) {
	k, err := sched.ParseKeepAlive("ewma,alpha=0.5,factor=2,min=1m,max=30m,first=5m")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC)
	now := t0
	cycle := func(idle time.Duration) sched.Decision { // used, idle, then used again after idle
		k.Used("lib", now)
		d := k.Idle("lib", now)
		now = now.Add(idle)
		return d
	}
	for i, tc := range []struct {
		idle time.Duration
		want time.Duration // the decision when this idle time starts
	}{
		{4 * time.Minute, 5 * time.Minute},                     // no idle time seen yet: First
		{8 * time.Minute, 8 * time.Minute},                     // avg 4m
		{10 * time.Second, 12 * time.Minute},                   // avg ½·8m + ½·4m = 6m
		{time.Second, 6*time.Minute + 10*time.Second},          // avg ½·10s + ½·360s = 185s
		{time.Hour, 3*time.Minute + 6*time.Second},             // avg ½·1s + ½·185s = 93s
		{time.Second, 30 * time.Minute},                        // avg 1846.5s: clamped to Max
		{time.Second, 30 * time.Minute},                        // avg 923.75s → 30m47.5s: clamped
		{time.Second, 15*time.Minute + 24750*time.Millisecond}, // avg 462.375s
	} {
		if got := cycle(tc.idle); got != (sched.Decision{KeepAlive: tc.want}) {
			t.Fatalf("idle time %d: decision %v, want keep %v", i+1, got, tc.want)
		}
	}
	var last sched.Decision
	for range 10 { // short idle times pull the window down to Min
		last = cycle(time.Second)
	}
	if last != (sched.Decision{KeepAlive: time.Minute}) {
		t.Errorf("after short idle times: %v, want Min", last)
	}
	k.Forget("lib")
	if d := k.Idle("lib", now); d != (sched.Decision{KeepAlive: 5 * time.Minute}) {
		t.Errorf("after Forget: %v, want First", d)
	}
}

// TestEWMASpec: bad parameters are refused with the parameter named.
func TestEWMASpec(t *testing.T) {
	for spec, want := range map[string]string{
		"ewma=3":           "takes no value",
		"ewma,alpha=0":     "alpha=0 not in (0, 1]",
		"ewma,factor=-1":   "factor=-1",
		"ewma,min=2h":      "min ≤ max",
		"ewma,first=x":     `first="x" is not a duration`,
		"ewma,fator=2":     `unknown parameter "fator"`,
		"ewma,max=1m,min=": `min="" is not a duration`,
	} {
		if _, err := sched.ParseKeepAlive(spec); !errors.Is(err, sched.ErrBadSpec) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", spec, err, want)
		}
	}
}
