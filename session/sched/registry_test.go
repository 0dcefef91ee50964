package sched

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseSpec(t *testing.T) {
	p, err := ParseSpec(" hybrid = x , range = 2h ,cv=3")
	if err != nil {
		t.Fatal(err)
	}
	arg, has := p.Arg()
	r, _ := p.Duration("range", 0)
	cv, _ := p.Float("cv", 0)
	if p.Name() != "hybrid" || arg != "x" || !has || r != 2*time.Hour || cv != 3 || p.String("none", "d") != "d" {
		t.Fatalf("parsed %+v", p)
	}
	if err := p.unused(); err != nil {
		t.Fatal(err)
	}
}

func TestParsePolicies(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		check func(t *testing.T, v any)
	}{
		{"fifo", func(t *testing.T, v any) { isType[*keyed](t, v) }},
		{"edf", func(t *testing.T, v any) {
			q := v.(Queue)
			q.Push(&Request{ID: 1})
			q.Push(&Request{ID: 2, Deadline: t0})
			if r := q.Pop(nil); r.ID != 2 {
				t.Fatalf("edf popped %d first", r.ID)
			}
		}},
		{"fair", func(t *testing.T, v any) { isType[*fair](t, v) }},
		{"fair,per-image=4", func(t *testing.T, v any) {
			l := isType[*limited](t, v)
			if l.n != 4 {
				t.Fatalf("limit %d", l.n)
			}
			isType[*fair](t, l.Queue)
		}},
		{"pinned", func(t *testing.T, v any) { wantDecision(t, v, Decision{KeepAlive: Forever}) }},
		{"ttl=10m", func(t *testing.T, v any) { wantDecision(t, v, Decision{KeepAlive: 10 * time.Minute}) }},
		{" ttl = 90s ", func(t *testing.T, v any) { wantDecision(t, v, Decision{KeepAlive: 90 * time.Second}) }},
		{"ttl", func(t *testing.T, v any) { wantDecision(t, v, Decision{KeepAlive: 10 * time.Minute}) }},
		{"hybrid", func(t *testing.T, v any) {
			if c := isType[*Hybrid](t, v).Config(); c != DefaultHybridConfig() {
				t.Fatalf("config %+v", c)
			}
		}},
		{"hybrid,range=2h,bin=30s,head=1,tail=95,head-margin=0,tail-margin=0.5,cv=1.5,min-samples=3,oob=0.9", func(t *testing.T, v any) {
			want := HybridConfig{Range: 2 * time.Hour, Bin: 30 * time.Second, Head: 1, Tail: 95, TailMargin: 0.5,
				MinCV: 1.5, MinSamples: 3, MaxOutOfRange: 0.9, Fallback: 2 * time.Hour}
			if c := isType[*Hybrid](t, v).Config(); c != want {
				t.Fatalf("config %+v", c)
			}
		}},
		{"hybrid,fallback=10m", func(t *testing.T, v any) { wantDecision(t, v, Decision{KeepAlive: 10 * time.Minute}) }},
		{"fixed=8", func(t *testing.T, v any) {
			if n := v.(PoolSizer).Target(t0, PoolStats{}); n != 8 {
				t.Fatalf("target %d", n)
			}
		}},
		{"rate,min=2,max=64", func(t *testing.T, v any) {
			want := DefaultRateConfig()
			want.Min = 2
			if c := isType[*RateDriven](t, v).cfg; c != want {
				t.Fatalf("config %+v", c)
			}
		}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			var v any
			var err error
			switch name, _, _ := strings.Cut(strings.TrimSpace(tc.spec), ","); {
			case strings.HasPrefix(name, "fifo"), strings.HasPrefix(name, "edf"), strings.HasPrefix(name, "fair"):
				v, err = ParseQueue(tc.spec)
			case strings.HasPrefix(name, "fixed"), strings.HasPrefix(name, "rate"):
				v, err = ParsePool(tc.spec)
			default:
				v, err = ParseKeepAlive(tc.spec)
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, v)
		})
	}
}

func isType[T any](t *testing.T, v any) T {
	t.Helper()
	x, ok := v.(T)
	if !ok {
		t.Fatalf("got %T", v)
	}
	return x
}

func wantDecision(t *testing.T, v any, want Decision) {
	t.Helper()
	if d := v.(KeepAlive).Idle("x", t0); d != want {
		t.Fatalf("Idle = %v, want %v", d, want)
	}
}

func TestParseErrors(t *testing.T) {
	const bad = "sched: bad policy spec: "
	for _, tc := range []struct {
		parse func(string) (any, error)
		spec  string
		want  string
		is    error
	}{
		{pk, "", bad + "empty spec", ErrBadSpec},
		{pk, "no such", bad + `"no such": policy name "no such" is not a name`, ErrBadSpec},
		{pk, "nosuch", `sched: unknown policy: keepalive "nosuch" (known: hybrid, pinned, ttl`, ErrUnknownPolicy},
		{pq, "lifo", `sched: unknown policy: queue "lifo" (known: edf, fair, fifo`, ErrUnknownPolicy},
		{pp, "auto", `sched: unknown policy: pool "auto" (known: fixed, rate`, ErrUnknownPolicy},
		{pk, "ttl=abc", bad + `ttl: ttl="abc" is not a duration ≥ 0 (e.g. 10m)`, ErrBadSpec},
		{pk, "ttl=-1s", bad + `ttl: ttl="-1s" is not a duration ≥ 0 (e.g. 10m)`, ErrBadSpec},
		{pk, "ttl=1m,x=1", bad + `ttl: unknown parameter "x"`, ErrBadSpec},
		{pk, "pinned=3", bad + "pinned: takes no value, only parameters", ErrBadSpec},
		{pk, "hybrid,range=30s", bad + "hybrid: range 30s shorter than one bin 1m0s", ErrBadSpec},
		{pk, "hybrid,head=50,tail=10", bad + "hybrid: want 0 ≤ head ≤ tail ≤ 100, have head 50 tail 10", ErrBadSpec},
		{pk, "hybrid,cv=x", bad + `hybrid: cv="x" is not a number`, ErrBadSpec},
		{pk, "hybrid,cv=inf", bad + `hybrid: cv="inf" is not a number`, ErrBadSpec},
		{pk, "hybrid,min-samples=0", bad + "hybrid: min-samples=0, want ≥ 1", ErrBadSpec},
		{pk, "hybrid,range=4", bad + `hybrid: range="4" is not a duration (e.g. 90s, 10m, 4h)`, ErrBadSpec},
		{pk, "hybrid,tail", bad + `"hybrid,tail": parameter "tail" has no value (want tail=VALUE)`, ErrBadSpec},
		{pk, "hybrid,cv=1,cv=2", bad + `"hybrid,cv=1,cv=2": parameter "cv" given twice`, ErrBadSpec},
		{pk, "hybrid,=2", bad + `"hybrid,=2": parameter "" is not a name`, ErrBadSpec},
		{pq, "fifo,per-image=0", bad + "fifo: per-image=0, want ≥ 1", ErrBadSpec},
		{pq, "edf,per-image=x", bad + `edf: per-image="x" is not an integer`, ErrBadSpec},
		{pq, "fair,weight=2", bad + `fair: unknown parameter "weight"`, ErrBadSpec},
		{pp, "fixed", bad + `fixed: want fixed=N with N ≥ 0, have ""`, ErrBadSpec},
		{pp, "fixed=-1", bad + `fixed: want fixed=N with N ≥ 0, have "-1"`, ErrBadSpec},
		{pp, "rate,min=5,max=2", bad + "rate: want 0 ≤ min ≤ max, have min 5 max 2", ErrBadSpec},
		{pp, "rate,window=0s", bad + "rate: window must be > 0", ErrBadSpec},
	} {
		_, err := tc.parse(tc.spec)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.Is(err, tc.is) {
			t.Errorf("parse %q: error %v\nwant %s (%v)", tc.spec, err, tc.want, tc.is)
		}
	}
}

func pk(s string) (any, error) { return ParseKeepAlive(s) }
func pq(s string) (any, error) { return ParseQueue(s) }
func pp(s string) (any, error) { return ParsePool(s) }

func TestRegisterPanics(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func(*Params) (Queue, error)
	}{
		{"fifo", func(*Params) (Queue, error) { return NewFIFO(), nil }}, // duplicate
		{"bad name", func(*Params) (Queue, error) { return NewFIFO(), nil }},
		{"nilfunc", nil},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RegisterQueue(%q) did not panic", tc.name)
				}
			}()
			RegisterQueue(tc.name, tc.f)
		}()
	}
}

// FuzzParseSpec: the keep-alive, queue and pool policy parsers return a
// policy or an error wrapping ErrBadSpec or ErrUnknownPolicy, never both,
// never a panic.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{
		"fifo", "edf,per-image=4", "fair,per-image=", "ttl=10m", "hybrid,range=2h,bin=1s,head=0,tail=100",
		"hybrid,bin=1ns", "rate,min=2,max=64,window=30s,headroom=1e308", "fixed=8", ",,", "=", "a=b=c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		for _, parse := range []func(string) (any, error){pk, pq, pp} {
			v, err := parse(spec)
			if (v == nil) == (err == nil) {
				t.Fatalf("parse %q = %v, %v", spec, v, err)
			}
			if err != nil && !errors.Is(err, ErrBadSpec) && !errors.Is(err, ErrUnknownPolicy) {
				t.Fatalf("parse %q: error without a sentinel: %v", spec, err)
			}
		}
	})
}
