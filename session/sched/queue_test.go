package sched

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// op is one step of a queue script: "push", "pop" (Want: the ID expected,
// 0 for nil), "remove" (Want: 1 if it should succeed, 0 if not), "start"
// and "finish" (one invocation of Image begins or ends running).
type op struct {
	Op    string
	ID    uint64
	Image string
	DL    time.Duration // deadline after t0; 0: none
	Want  uint64
}

func push(id uint64, image string, dl time.Duration) op {
	return op{Op: "push", ID: id, Image: image, DL: dl}
}
func pop(want uint64) op { return op{Op: "pop", Want: want} }

// runScript applies ops to q; a popped request starts running its image.
func runScript(t *testing.T, q Queue, ops []op) {
	t.Helper()
	running := map[string]int{}
	queued := 0
	for i, o := range ops {
		switch o.Op {
		case "push":
			r := &Request{ID: o.ID, Image: o.Image, Arrival: t0.Add(time.Duration(i) * time.Millisecond)}
			if o.DL != 0 {
				r.Deadline = t0.Add(o.DL)
			}
			q.Push(r)
			queued++
		case "pop":
			r := q.Pop(func(im string) int { return running[im] })
			var got uint64
			if r != nil {
				got = r.ID
				running[r.Image]++
				queued--
			}
			if got != o.Want {
				t.Fatalf("step %d: Pop = %d, want %d", i, got, o.Want)
			}
		case "remove":
			ok := q.Remove(o.ID)
			if ok != (o.Want == 1) {
				t.Fatalf("step %d: Remove(%d) = %v", i, o.ID, ok)
			}
			if ok {
				queued--
			}
		case "finish":
			running[o.Image]--
		}
		if q.Len() != queued {
			t.Fatalf("step %d: Len = %d, want %d", i, q.Len(), queued)
		}
	}
}

func TestQueues(t *testing.T) {
	for _, tc := range []struct {
		name string
		q    func() Queue
		ops  []op
	}{
		{"fifo", NewFIFO, []op{
			push(1, "a", 0), push(2, "b", 0), push(3, "a", 0),
			pop(1), pop(2), push(4, "c", 0), pop(3), pop(4), pop(0),
		}},
		{"fifo/remove", NewFIFO, []op{
			push(1, "a", 0), push(2, "a", 0), push(3, "b", 0), push(4, "a", 0),
			{Op: "remove", ID: 1, Want: 1}, // the head
			{Op: "remove", ID: 4, Want: 1}, // the tail of a
			{Op: "remove", ID: 4, Want: 0}, // twice
			{Op: "remove", ID: 9, Want: 0}, // never queued
			pop(2), pop(3), pop(0),
		}},
		// Deadlines: 1@30s 2@10s 3@none 4@10s 5@20s 6@none. EDF: 2 and 4
		// tie at 10s (push order), then 5, 1, then the ones without a
		// deadline in push order: 3, 6.
		{"edf", NewEDF, []op{
			push(1, "a", 30*time.Second), push(2, "b", 10*time.Second), push(3, "a", 0),
			push(4, "c", 10*time.Second), push(5, "a", 20*time.Second), push(6, "b", 0),
			pop(2), pop(4), pop(5), pop(1), pop(3), pop(6), pop(0),
		}},
		{"edf/late-arrival-first", NewEDF, []op{
			push(1, "a", 0), push(2, "a", time.Hour), pop(2),
			push(3, "a", time.Minute), pop(3), pop(1),
		}},
		{"edf/remove", NewEDF, []op{
			push(1, "a", 3*time.Second), push(2, "a", 1*time.Second), push(3, "b", 2*time.Second),
			{Op: "remove", ID: 2, Want: 1}, pop(3), pop(1), pop(0),
		}},
		// Round robin: a a a b c c → a b c a c a.
		{"fair", NewFair, []op{
			push(1, "a", 0), push(2, "a", 0), push(3, "a", 0),
			push(4, "b", 0), push(5, "c", 0), push(6, "c", 0),
			pop(1), pop(4), pop(5), pop(2), pop(6), pop(3), pop(0),
		}},
		// d joins while b's turn is next: it is served after every image
		// already waiting had its turn (b, c, a), then the round goes on.
		{"fair/join", NewFair, []op{
			push(1, "a", 0), push(2, "a", 0), push(3, "b", 0), push(4, "b", 0), push(5, "c", 0),
			pop(1), // next: b
			push(6, "d", 0),
			pop(3), pop(5), pop(2), pop(6), pop(4), pop(0),
		}},
		{"fair/remove-whole-image", NewFair, []op{
			push(1, "a", 0), push(2, "b", 0), push(3, "c", 0), push(4, "a", 0),
			pop(1), {Op: "remove", ID: 2, Want: 1}, // b leaves the round: c is next
			pop(3), pop(4), pop(0),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { runScript(t, tc.q(), tc.ops) })
	}
}

func TestLimit(t *testing.T) {
	// Per image at most 1 running: a's second request waits while a runs,
	// b's go by; when a finishes, a's next request is first again.
	script := []op{
		push(1, "a", 0), push(2, "a", 0), push(3, "b", 0), push(4, "b", 0),
		pop(1), pop(3), pop(0), // a and b each run one
		{Op: "finish", Image: "b"}, pop(4), pop(0),
		{Op: "finish", Image: "a"}, pop(2), pop(0),
	}
	for _, tc := range []struct {
		name string
		q    func() Queue
	}{{"fifo", NewFIFO}, {"edf", NewEDF}, {"fair", NewFair}} {
		t.Run(tc.name, func(t *testing.T) { runScript(t, Limit(tc.q(), 1), script) })
	}
	t.Run("two", func(t *testing.T) {
		runScript(t, Limit(NewFIFO(), 2), []op{
			push(1, "a", 0), push(2, "a", 0), push(3, "a", 0), push(4, "b", 0),
			pop(1), pop(2), pop(4), pop(0), {Op: "finish", Image: "a"}, pop(3),
		})
	})
	t.Run("nested", func(t *testing.T) {
		// The tighter limit wins; a negative count from outside blocks.
		q := Limit(Limit(NewFIFO(), 3), 1)
		q.Push(&Request{ID: 1, Image: "a"})
		if r := q.Pop(func(string) int { return 1 }); r != nil {
			t.Fatalf("Pop with a at 1 running under limit 1 = %d", r.ID)
		}
		if r := q.Pop(func(string) int { return -1 }); r != nil {
			t.Fatal("Pop of a blocked image returned a request")
		}
		if r := q.Pop(nil); r == nil || r.ID != 1 {
			t.Fatal("Pop(nil) did not return the request")
		}
	})
}

// refQueue is an obviously correct O(n) model of FIFO and EDF.
type refQueue struct {
	edf bool
	seq uint64
	es  []refEntry
}

type refEntry struct {
	r   *Request
	seq uint64
}

func (q *refQueue) Push(r *Request) { q.seq++; q.es = append(q.es, refEntry{r, q.seq}) }
func (q *refQueue) Len() int        { return len(q.es) }
func (q *refQueue) Remove(id uint64) bool {
	i := slices.IndexFunc(q.es, func(e refEntry) bool { return e.r.ID == id })
	if i < 0 {
		return false
	}
	q.es = slices.Delete(q.es, i, i+1)
	return true
}
func (q *refQueue) Pop(running func(string) int) *Request {
	best := -1
	for i, e := range q.es {
		if running != nil && running(e.r.Image) < 0 {
			continue
		}
		if best < 0 || q.before(e, q.es[best]) {
			best = i
		}
	}
	if best < 0 {
		return nil
	}
	r := q.es[best].r
	q.es = slices.Delete(q.es, best, best+1)
	return r
}
func (q *refQueue) before(a, b refEntry) bool {
	if q.edf {
		ad, bd := a.r.Deadline, b.r.Deadline
		if ad.IsZero() != bd.IsZero() {
			return bd.IsZero()
		}
		if !ad.Equal(bd) {
			return ad.Before(bd)
		}
	}
	return a.seq < b.seq
}

// TestQueueModel drives FIFO and EDF (bare and limited) and the reference
// model with the same random operations and compares every result.
func TestQueueModel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edf   bool
		limit int
	}{{"fifo", false, 0}, {"edf", true, 0}, {"fifo/limit2", false, 2}, {"edf/limit1", true, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(tc.name))))
			var q, ref Queue = NewFIFO(), &refQueue{edf: tc.edf}
			if tc.edf {
				q = NewEDF()
			}
			if tc.limit > 0 {
				q, ref = Limit(q, tc.limit), Limit(ref, tc.limit)
			}
			running := map[string]int{}
			run := func(im string) int { return running[im] }
			var id uint64
			var live []uint64
			var trace strings.Builder
			for step := range 5000 {
				switch k := rng.IntN(10); {
				case k < 5:
					id++
					r := &Request{ID: id, Image: fmt.Sprintf("i%d", rng.IntN(5))}
					if rng.IntN(3) > 0 {
						r.Deadline = t0.Add(time.Duration(rng.IntN(20)) * time.Second)
					}
					q.Push(r)
					rr := *r
					ref.Push(&rr)
					live = append(live, id)
					fmt.Fprintf(&trace, "push %d %s %v\n", id, r.Image, r.Deadline.Sub(t0))
				case k < 8:
					a, b := q.Pop(run), ref.Pop(run)
					if (a == nil) != (b == nil) || a != nil && a.ID != b.ID {
						t.Fatalf("step %d: Pop = %v, model %v\n%s", step, a, b, trace.String())
					}
					if a != nil {
						running[a.Image]++
						fmt.Fprintf(&trace, "pop %d\n", a.ID)
					}
				case k < 9 && len(live) > 0:
					x := live[rng.IntN(len(live))]
					if g, w := q.Remove(x), ref.Remove(x); g != w {
						t.Fatalf("step %d: Remove(%d) = %v, model %v", step, x, g, w)
					}
				default:
					im := fmt.Sprintf("i%d", rng.IntN(5))
					if running[im] > 0 {
						running[im]--
					}
				}
				if q.Len() != ref.Len() {
					t.Fatalf("step %d: Len = %d, model %d", step, q.Len(), ref.Len())
				}
			}
		})
	}
}

// TestFairNoLoss checks that Fair returns every pushed request exactly
// once under random pushes, removes and blocking, and that between two
// starts of one image every other image that waited all along started too.
func TestFairNoLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	q := NewFair()
	seen := map[uint64]bool{}
	var id uint64
	for range 3000 {
		switch rng.IntN(4) {
		case 0, 1:
			id++
			q.Push(&Request{ID: id, Image: fmt.Sprintf("i%d", rng.IntN(6))})
		case 2:
			blocked := fmt.Sprintf("i%d", rng.IntN(6))
			r := q.Pop(func(im string) int {
				if im == blocked {
					return -1
				}
				return 0
			})
			if r != nil {
				if r.Image == blocked || seen[r.ID] {
					t.Fatalf("Pop returned %+v (blocked %s, seen before %v)", r, blocked, seen[r.ID])
				}
				seen[r.ID] = true
			}
		case 3:
			x := uint64(rng.IntN(int(id) + 1))
			if q.Remove(x) {
				if seen[x] {
					t.Fatalf("Remove(%d) of a popped request succeeded", x)
				}
				seen[x] = true
			}
		}
	}
	for r := q.Pop(nil); r != nil; r = q.Pop(nil) {
		if seen[r.ID] {
			t.Fatalf("request %d returned twice", r.ID)
		}
		seen[r.ID] = true
	}
	if len(seen) != int(id) || q.Len() != 0 {
		t.Fatalf("%d of %d requests accounted for, Len %d", len(seen), id, q.Len())
	}

	// Fairness: with three images always backlogged, starts cycle a b c.
	q = NewFair()
	for i := range 30 {
		q.Push(&Request{ID: uint64(i + 1), Image: string(rune('a' + i%3))})
	}
	var order []byte
	for r := q.Pop(nil); r != nil; r = q.Pop(nil) {
		order = append(order, r.Image[0])
	}
	if string(order) != strings.Repeat("abc", 10) {
		t.Fatalf("start order %s", order)
	}
}
