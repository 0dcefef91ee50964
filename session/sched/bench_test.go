package sched

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkQueue measures one Push plus one Pop with 10 000 requests of 50
// images queued.
func BenchmarkQueue(b *testing.B) {
	for _, q := range []struct {
		name string
		new  func() Queue
	}{{"fifo", NewFIFO}, {"edf", NewEDF}, {"fair", NewFair}, {"edf-limit", func() Queue { return Limit(NewEDF(), 4) }}} {
		b.Run(q.name, func(b *testing.B) {
			qu := q.new()
			images := make([]string, 50)
			for i := range images {
				images[i] = fmt.Sprint("img", i)
			}
			var id uint64
			push := func() {
				id++
				qu.Push(&Request{ID: id, Image: images[id%50], Deadline: t0.Add(time.Duration(id*7919%10007) * time.Millisecond)})
			}
			for range 10000 {
				push()
			}
			running := func(im string) int { return len(im) % 5 } // some images at the limit
			b.ResetTimer()
			for range b.N {
				push()
				if qu.Pop(running) == nil {
					b.Fatal("empty")
				}
			}
		})
	}
}

// BenchmarkHybridIdle measures one Used+Idle pair on a library with a
// populated 240-bin histogram (the CV and percentiles are computed per Idle).
func BenchmarkHybridIdle(b *testing.B) {
	h, _ := NewHybrid(DefaultHybridConfig())
	now := t0
	for i := range b.N {
		h.Used("lib", now)
		now = now.Add(time.Duration(i%37) * time.Minute)
		h.Idle("lib", now)
	}
}
