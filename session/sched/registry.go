package sched

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Params is a parsed policy spec as a constructor sees it: the policy's
// main argument (the value after "name=") and its named parameters. The
// getters record which parameters were read; the Parse functions reject a
// spec with a parameter its constructor did not read. A Params is used by
// one goroutine, for the duration of one constructor call.
type Params struct {
	name   string
	arg    string
	hasArg bool
	kv     map[string]string
	order  []string // keys in spec order, for error messages
	read   map[string]bool
	argRd  bool
}

// ParseSpec parses "name[=value][,key=value...]" (see the package doc).
// Names and keys are letters, digits, '-', '_' and '.'; values are any text
// without ',' (surrounding spaces are trimmed).
func ParseSpec(spec string) (*Params, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, fmt.Errorf("%w: empty spec", ErrBadSpec)
	}
	parts := strings.Split(spec, ",")
	p := &Params{kv: map[string]string{}, read: map[string]bool{}}
	for i, part := range parts {
		k, v, hasV := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !validName(k) {
			if i == 0 {
				return nil, fmt.Errorf("%w: %q: policy name %q is not a name", ErrBadSpec, spec, k)
			}
			return nil, fmt.Errorf("%w: %q: parameter %q is not a name", ErrBadSpec, spec, k)
		}
		if i == 0 {
			p.name, p.arg, p.hasArg = k, v, hasV
			continue
		}
		if !hasV {
			return nil, fmt.Errorf("%w: %q: parameter %q has no value (want %s=VALUE)", ErrBadSpec, spec, k, k)
		}
		if _, dup := p.kv[k]; dup {
			return nil, fmt.Errorf("%w: %q: parameter %q given twice", ErrBadSpec, spec, k)
		}
		p.kv[k] = v
		p.order = append(p.order, k)
	}
	return p, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// Name returns the policy name.
func (p *Params) Name() string { return p.name }

// Arg returns the main argument and whether the spec had one ("ttl=10m":
// "10m", true; "ttl": "", false).
func (p *Params) Arg() (string, bool) {
	p.argRd = true
	return p.arg, p.hasArg
}

// String returns the value of key, or def if the spec does not set it.
func (p *Params) String(key, def string) string {
	p.read[key] = true
	if v, ok := p.kv[key]; ok {
		return v
	}
	return def
}

// Duration returns key as a time.Duration, or def if unset.
func (p *Params) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := p.lookup(key)
	if !ok {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return 0, p.errorf("%s=%q is not a duration (e.g. 90s, 10m, 4h)", key, v)
	}
	return d, nil
}

// Int returns key as an int, or def if unset.
func (p *Params) Int(key string, def int) (int, error) {
	v, ok := p.lookup(key)
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, p.errorf("%s=%q is not an integer", key, v)
	}
	return n, nil
}

// Float returns key as a finite float64, or def if unset.
func (p *Params) Float(key string, def float64) (float64, error) {
	v, ok := p.lookup(key)
	if !ok {
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, p.errorf("%s=%q is not a number", key, v)
	}
	return f, nil
}

// Errorf returns an ErrBadSpec error about this spec.
func (p *Params) Errorf(format string, args ...any) error { return p.errorf(format, args...) }

func (p *Params) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrBadSpec, p.name, fmt.Sprintf(format, args...))
}

func (p *Params) lookup(key string) (string, bool) {
	p.read[key] = true
	v, ok := p.kv[key]
	return v, ok
}

// unused reports the first parameter (or main argument) the constructor
// did not read.
func (p *Params) unused() error {
	if p.hasArg && !p.argRd {
		return p.errorf("takes no value (%s=%s)", p.name, p.arg)
	}
	for _, k := range p.order {
		if !p.read[k] {
			return p.errorf("unknown parameter %q", k)
		}
	}
	return nil
}

// registry maps names to constructors of one kind of policy.
type registry[T any] struct {
	kind string
	mu   sync.RWMutex
	m    map[string]func(*Params) (T, error)
}

func (r *registry[T]) register(name string, f func(*Params) (T, error)) {
	if !validName(name) || f == nil {
		panic(fmt.Sprintf("sched: Register%s(%q): bad name or nil constructor", r.kind, name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]func(*Params) (T, error){}
	}
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("sched: Register%s(%q) called twice", r.kind, name))
	}
	r.m[name] = f
}

func (r *registry[T]) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	n := make([]string, 0, len(r.m))
	for k := range r.m {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// build parses spec, runs the named constructor, then post (which may read
// parameters every policy of the kind takes), and rejects unread parameters.
func (r *registry[T]) build(spec string, post func(*Params, T) (T, error)) (T, error) {
	var zero T
	p, err := ParseSpec(spec)
	if err != nil {
		return zero, err
	}
	r.mu.RLock()
	f := r.m[p.name]
	r.mu.RUnlock()
	if f == nil {
		return zero, fmt.Errorf("%w: %s %q (known: %s)", ErrUnknownPolicy, strings.ToLower(r.kind), p.name, strings.Join(r.names(), ", "))
	}
	v, err := f(p)
	if err != nil {
		return zero, err
	}
	if post != nil {
		if v, err = post(p, v); err != nil {
			return zero, err
		}
	}
	if err := p.unused(); err != nil {
		return zero, err
	}
	return v, nil
}

var (
	queues     = registry[Queue]{kind: "Queue"}
	keepAlives = registry[KeepAlive]{kind: "KeepAlive"}
	pools      = registry[PoolSizer]{kind: "Pool"}
)

// RegisterQueue registers a queue constructor under name. Call it from an
// init function; it panics on a duplicate or invalid name. Safe for
// concurrent use.
func RegisterQueue(name string, f func(*Params) (Queue, error)) { queues.register(name, f) }

// RegisterKeepAlive registers a keep-alive constructor under name, as
// RegisterQueue.
func RegisterKeepAlive(name string, f func(*Params) (KeepAlive, error)) {
	keepAlives.register(name, f)
}

// RegisterPool registers a pool sizer constructor under name, as
// RegisterQueue.
func RegisterPool(name string, f func(*Params) (PoolSizer, error)) { pools.register(name, f) }

// QueueNames lists the registered queues, sorted.
func QueueNames() []string { return queues.names() }

// KeepAliveNames lists the registered keep-alive policies, sorted.
func KeepAliveNames() []string { return keepAlives.names() }

// PoolNames lists the registered pool sizers, sorted.
func PoolNames() []string { return pools.names() }

// ParseQueue builds the queue a spec names. Every queue takes the
// parameter per-image=N (N ≥ 1), which wraps it in Limit.
func ParseQueue(spec string) (Queue, error) {
	return queues.build(spec, func(p *Params, q Queue) (Queue, error) {
		if _, set := p.lookup("per-image"); !set {
			return q, nil
		}
		n, err := p.Int("per-image", 0)
		if err != nil {
			return nil, err
		}
		if n < 1 {
			return nil, p.errorf("per-image=%d, want ≥ 1", n)
		}
		return Limit(q, n), nil
	})
}

// ParseKeepAlive builds the keep-alive policy a spec names.
func ParseKeepAlive(spec string) (KeepAlive, error) { return keepAlives.build(spec, nil) }

// ParsePool builds the pool sizer a spec names.
func ParsePool(spec string) (PoolSizer, error) { return pools.build(spec, nil) }

// noArg fails if the spec has a main argument.
func noArg(p *Params) error {
	if _, has := p.Arg(); has {
		return p.errorf("takes no value, only parameters")
	}
	return nil
}

func init() {
	RegisterQueue("fifo", func(p *Params) (Queue, error) { return NewFIFO(), noArg(p) })
	RegisterQueue("edf", func(p *Params) (Queue, error) { return NewEDF(), noArg(p) })
	RegisterQueue("fair", func(p *Params) (Queue, error) { return NewFair(), noArg(p) })

	RegisterKeepAlive("pinned", func(p *Params) (KeepAlive, error) { return Pinned(), noArg(p) })
	// ttl=D: keep for D after the last reference; "ttl" alone: 10 minutes
	// (AWS Lambda's fixed keep-alive, as reported in the paper).
	RegisterKeepAlive("ttl", func(p *Params) (KeepAlive, error) {
		v, has := p.Arg()
		if !has {
			return TTL(10 * time.Minute), nil
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return nil, p.errorf("ttl=%q is not a duration ≥ 0 (e.g. 10m)", v)
		}
		return TTL(d), nil
	})
	// hybrid[,range=D][,bin=D][,head=P][,tail=P][,head-margin=F]
	// [,tail-margin=F][,cv=F][,min-samples=N][,oob=F][,fallback=D]
	RegisterKeepAlive("hybrid", func(p *Params) (KeepAlive, error) {
		if err := noArg(p); err != nil {
			return nil, err
		}
		c := DefaultHybridConfig()
		var errs [10]error
		c.Range, errs[0] = p.Duration("range", c.Range)
		c.Bin, errs[1] = p.Duration("bin", c.Bin)
		c.Head, errs[2] = p.Float("head", c.Head)
		c.Tail, errs[3] = p.Float("tail", c.Tail)
		c.HeadMargin, errs[4] = p.Float("head-margin", c.HeadMargin)
		c.TailMargin, errs[5] = p.Float("tail-margin", c.TailMargin)
		c.MinCV, errs[6] = p.Float("cv", c.MinCV)
		var n int
		n, errs[7] = p.Int("min-samples", int(c.MinSamples))
		c.MaxOutOfRange, errs[8] = p.Float("oob", c.MaxOutOfRange)
		c.Fallback, errs[9] = p.Duration("fallback", c.Range) // paper: the range
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		if n < 1 {
			return nil, p.errorf("min-samples=%d, want ≥ 1", n)
		}
		c.MinSamples = uint64(n)
		return NewHybrid(c)
	})

	RegisterPool("fixed", func(p *Params) (PoolSizer, error) {
		v, has := p.Arg()
		n, err := strconv.Atoi(v)
		if !has || err != nil || n < 0 {
			return nil, p.errorf("want fixed=N with N ≥ 0, have %q", v)
		}
		return Fixed(n), nil
	})
	// rate[,min=N][,max=N][,window=D][,refill=D][,headroom=F]
	RegisterPool("rate", func(p *Params) (PoolSizer, error) {
		if err := noArg(p); err != nil {
			return nil, err
		}
		c := DefaultRateConfig()
		var errs [5]error
		c.Min, errs[0] = p.Int("min", c.Min)
		c.Max, errs[1] = p.Int("max", c.Max)
		c.Window, errs[2] = p.Duration("window", c.Window)
		c.Refill, errs[3] = p.Duration("refill", c.Refill)
		c.Headroom, errs[4] = p.Float("headroom", c.Headroom)
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		return NewRateDriven(c)
	})
}
