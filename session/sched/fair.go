package sched

import "container/list"

// NewFair returns a queue that shares starts between images round robin:
// each Pop serves the next image in turn that is not blocked, its oldest
// request first (FIFO within an image). An image that gets its first
// waiting request joins the round last, after every image already waiting.
// Push and Remove cost O(1) (plus O(m) when an image joins or leaves the
// round, m: images waiting); Pop costs O(1) plus O(1) per blocked image
// skipped.
func NewFair() Queue {
	return &fair{byID: map[uint64]*list.Element{}, images: map[string]*fairImage{}}
}

type fair struct {
	byID   map[uint64]*list.Element // → *Request, in its image's list
	images map[string]*fairImage
	ring   []*fairImage // images with waiting requests, in turn order
	next   int          // index in ring of the image whose turn is next
	n      int
}

type fairImage struct {
	image string
	reqs  list.List // of *Request, oldest first
}

func (q *fair) Len() int { return q.n }

func (q *fair) Push(r *Request) {
	im := q.images[r.Image]
	if im == nil {
		im = &fairImage{image: r.Image}
		q.images[r.Image] = im
		// Join last in the current round: just before the image whose
		// turn is next.
		q.ring = append(q.ring, nil)
		copy(q.ring[q.next+1:], q.ring[q.next:])
		q.ring[q.next] = im
		q.next++
		if q.next == len(q.ring) {
			q.next = 0
		}
	}
	q.byID[r.ID] = im.reqs.PushBack(r)
	q.n++
}

func (q *fair) Pop(running func(string) int) *Request {
	for range len(q.ring) {
		i := q.next
		im := q.ring[i]
		q.next = (i + 1) % len(q.ring)
		if running != nil && running(im.image) < 0 {
			continue
		}
		r := im.reqs.Remove(im.reqs.Front()).(*Request)
		q.forget(im, r)
		return r
	}
	return nil
}

func (q *fair) Remove(id uint64) bool {
	el := q.byID[id]
	if el == nil {
		return false
	}
	r := el.Value.(*Request)
	im := q.images[r.Image]
	im.reqs.Remove(el)
	q.forget(im, r)
	return true
}

// forget finishes removing r from im and takes an emptied image out of
// the round without disturbing whose turn is next.
func (q *fair) forget(im *fairImage, r *Request) {
	delete(q.byID, r.ID)
	q.n--
	if im.reqs.Len() > 0 {
		return
	}
	delete(q.images, im.image)
	for i, x := range q.ring {
		if x != im {
			continue
		}
		q.ring = append(q.ring[:i], q.ring[i+1:]...)
		if i < q.next {
			q.next--
		}
		if q.next >= len(q.ring) {
			q.next = 0
		}
		return
	}
}
