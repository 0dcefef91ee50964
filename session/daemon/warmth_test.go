package daemon

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/sched"
)

// fixedPolicy answers every Idle with one decision and records Forget.
type fixedPolicy struct {
	dec    sched.Decision
	forgot []string
}

func (p *fixedPolicy) Used(string, time.Time)                {}
func (p *fixedPolicy) Idle(string, time.Time) sched.Decision { return p.dec }
func (p *fixedPolicy) Forget(name string)                    { p.forgot = append(p.forgot, name) }

// TestWarmth drives the image keep-alive on a fake clock, without KVM: an
// image without templates stands for one (nothing to drop), and the events
// and the cool flag say what was decided when.
func TestWarmth(t *testing.T) {
	type step struct {
		op   string        // use, done, advance, forget, close
		d    time.Duration // advance
		want []string      // events since the previous step, "type detail"
		cool bool          // cooled() after the step
	}
	keep := func(d time.Duration) sched.Decision { return sched.Decision{KeepAlive: d} }
	for _, tc := range []struct {
		name  string
		dec   sched.Decision
		steps []step
	}{
		{"ttl cools after its window", keep(10 * time.Minute), []step{
			{op: "use"}, {op: "done"},
			{op: "advance", d: 9 * time.Minute},
			{op: "advance", d: 2 * time.Minute, want: []string{"image.cooled keep-alive ended"}, cool: true},
			{op: "use", want: []string{"image.warmed used"}},
			{op: "done"},
		}},
		{"a session still bound keeps it warm", keep(time.Minute), []step{
			{op: "use"}, {op: "use"}, {op: "done"},
			{op: "advance", d: time.Hour},
			{op: "done"},
			{op: "advance", d: time.Minute, want: []string{"image.cooled keep-alive ended"}, cool: true},
		}},
		{"a use within the window cancels it", keep(time.Minute), []step{
			{op: "use"}, {op: "done"},
			{op: "advance", d: 30 * time.Second},
			{op: "use"},
			{op: "advance", d: time.Hour},
		}},
		{"forever never cools", keep(sched.Forever), []step{
			{op: "use"}, {op: "done"}, {op: "advance", d: 1000 * time.Hour},
		}},
		{"zero cools at once", keep(0), []step{
			{op: "use"}, {op: "done", want: []string{"image.cooled keep-alive ended"}, cool: true},
		}},
		{"prewarm drops now and warms later", sched.Decision{Prewarm: 5 * time.Minute, KeepAlive: 2 * time.Minute}, []step{
			{op: "use"},
			{op: "done", want: []string{"image.cooled prewarm"}, cool: true},
			{op: "advance", d: 4 * time.Minute, cool: true},
			{op: "advance", d: time.Minute, want: []string{"image.warmed prewarm"}},
			{op: "advance", d: 2 * time.Minute, want: []string{"image.cooled keep-alive ended"}, cool: true},
		}},
		{"a done without a use changes nothing", keep(0), []step{
			{op: "done"}, {op: "advance", d: time.Hour},
		}},
		{"forget disarms", keep(time.Minute), []step{
			{op: "use"}, {op: "done"}, {op: "forget"}, {op: "advance", d: time.Hour},
		}},
		{"close disarms", keep(time.Minute), []step{
			{op: "use"}, {op: "done"}, {op: "close"}, {op: "advance", d: time.Hour}, {op: "use"},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := sched.NewFakeClock(time.Date(2019, 7, 15, 0, 0, 0, 0, time.UTC))
			var (
				mu  sync.Mutex
				got []string
			)
			pol := &fixedPolicy{dec: tc.dec}
			w := newWarmth(pol, clock, func(ev api.Event) {
				mu.Lock()
				defer mu.Unlock()
				if ev.Image != "fn" {
					t.Errorf("event for image %q", ev.Image)
				}
				got = append(got, ev.Type+" "+ev.Detail)
			})
			im := &image{name: "fn", preps: map[int]*prepared{}}
			for i, s := range tc.steps {
				switch s.op {
				case "use":
					w.use(im)
				case "done":
					w.done(im)
				case "advance":
					clock.Advance(s.d)
				case "forget":
					w.forget(im)
					if !slices.Equal(pol.forgot, []string{"fn"}) {
						t.Errorf("policy told to forget %q", pol.forgot)
					}
				case "close":
					w.close()
				}
				mu.Lock()
				ev := got
				got = nil
				mu.Unlock()
				if !slices.Equal(ev, s.want) {
					t.Errorf("step %d (%s %v): events %q, want %q", i, s.op, s.d, ev, s.want)
				}
				if c := w.cooled(im); c != s.cool {
					t.Errorf("step %d (%s %v): cooled %v, want %v", i, s.op, s.d, c, s.cool)
				}
			}
			if n := clock.Pending(); tc.name == "forget disarms" && n != 0 {
				t.Errorf("%d timers pending after forget", n)
			}
		})
	}
}
