package contrib

import (
	"time"

	"github.com/uaaf/uaaf/session/sched"
)

// EWMA is an adaptive keep-alive policy: it keeps an idle library resident
// for Factor times the exponentially weighted moving average of that
// library's past idle times (the time from its last reference being dropped
// to its next use), clamped to [Min, Max]. Before a library has been idle
// and used again it keeps it for First. Libraries idle for long stretches
// get long windows, libraries used in quick succession short ones — a
// one-parameter alternative to the hybrid histogram. Not safe for
// concurrent use (the daemon calls it under its lock).
type EWMA struct {
	Alpha    float64       // weight of the newest idle time, (0, 1]
	Factor   float64       // window = Factor × average idle time
	Min, Max time.Duration // bounds of the window
	First    time.Duration // window before any idle time was seen

	libs map[string]*ewmaLib
}

type ewmaLib struct {
	avg       float64 // seconds; valid when seen
	seen      bool
	idle      bool
	idleSince time.Time
}

// Used ends lib's idle time, if it was idle, and folds it into the average.
func (p *EWMA) Used(lib string, now time.Time) {
	l := p.lib(lib)
	if !l.idle {
		return
	}
	l.idle = false
	it := max(now.Sub(l.idleSince), 0).Seconds()
	if !l.seen {
		l.avg, l.seen = it, true
		return
	}
	l.avg = p.Alpha*it + (1-p.Alpha)*l.avg
}

// Idle starts an idle time of lib and keeps it for the window.
func (p *EWMA) Idle(lib string, now time.Time) sched.Decision {
	l := p.lib(lib)
	l.idle, l.idleSince = true, now
	if !l.seen {
		return sched.Decision{KeepAlive: p.First}
	}
	keep := time.Duration(p.Factor * l.avg * float64(time.Second))
	return sched.Decision{KeepAlive: min(max(keep, p.Min), p.Max)}
}

// Forget drops lib's average.
func (p *EWMA) Forget(lib string) { delete(p.libs, lib) }

func (p *EWMA) lib(name string) *ewmaLib {
	if p.libs == nil {
		p.libs = map[string]*ewmaLib{}
	}
	l := p.libs[name]
	if l == nil {
		l = &ewmaLib{}
		p.libs[name] = l
	}
	return l
}

// ewma[,alpha=F][,factor=F][,min=D][,max=D][,first=D]; defaults 0.3, 2,
// 30s, 1h, 10m.
func init() {
	sched.RegisterKeepAlive("ewma", func(p *sched.Params) (sched.KeepAlive, error) {
		if _, has := p.Arg(); has {
			return nil, p.Errorf("takes no value, only parameters")
		}
		e := &EWMA{}
		var errs [5]error
		e.Alpha, errs[0] = p.Float("alpha", 0.3)
		e.Factor, errs[1] = p.Float("factor", 2)
		e.Min, errs[2] = p.Duration("min", 30*time.Second)
		e.Max, errs[3] = p.Duration("max", time.Hour)
		e.First, errs[4] = p.Duration("first", 10*time.Minute)
		for _, err := range errs {
			if err != nil {
				return nil, err
			}
		}
		switch {
		case !(e.Alpha > 0 && e.Alpha <= 1):
			return nil, p.Errorf("alpha=%g not in (0, 1]", e.Alpha)
		case !(e.Factor > 0):
			return nil, p.Errorf("factor=%g, want > 0", e.Factor)
		case e.Min < 0 || e.Max < e.Min || e.First < 0:
			return nil, p.Errorf("want 0 ≤ min ≤ max and first ≥ 0 (min %v, max %v, first %v)", e.Min, e.Max, e.First)
		}
		return e, nil
	})
}
