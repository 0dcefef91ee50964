package sched_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/uaaf/uaaf/session/sched"
)

// ttlByName keeps libraries whose name starts with a prefix longer than
// the others: a keep-alive policy in a few lines.
type ttlByName struct {
	prefix      string
	long, short time.Duration
}

func (ttlByName) Used(string, time.Time) {}
func (ttlByName) Forget(string)          {}
func (p ttlByName) Idle(lib string, _ time.Time) sched.Decision {
	if strings.HasPrefix(lib, p.prefix) {
		return sched.Decision{KeepAlive: p.long}
	}
	return sched.Decision{KeepAlive: p.short}
}

// A researcher's policy: one type and one registration (normally in an
// init function of the policy's own file).
func Example_customPolicy() {
	sched.RegisterKeepAlive("ttl-by-name", func(p *sched.Params) (sched.KeepAlive, error) {
		prefix, _ := p.Arg()
		if prefix == "" {
			return nil, p.Errorf("want ttl-by-name=PREFIX")
		}
		long, err := p.Duration("long", time.Hour)
		if err != nil {
			return nil, err
		}
		short, err := p.Duration("short", time.Minute)
		if err != nil {
			return nil, err
		}
		return ttlByName{prefix: prefix, long: long, short: short}, nil
	})

	k, err := sched.ParseKeepAlive("ttl-by-name=sha,short=30s")
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC)
	fmt.Println("sha256:", k.Idle("sha256", now))
	fmt.Println("sort:  ", k.Idle("sort", now))

	_, err = sched.ParseKeepAlive("ttl-by-name=sha,shrt=30s")
	fmt.Println(err)
	// Output:
	// sha256: keep 1h0m0s
	// sort:   keep 30s
	// sched: bad policy spec: ttl-by-name: unknown parameter "shrt"
}
