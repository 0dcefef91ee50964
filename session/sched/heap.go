package sched

// indexHeap is a container/heap.Interface over elements that remember their
// position in it, for heap.Fix and heap.Remove: index returns a pointer to
// an element's position, set to -1 when the element leaves the heap. less
// orders the elements, best first. Not safe for concurrent use: it is
// guarded by its owner's lock.
type indexHeap[T any] struct {
	s     []T
	less  func(a, b T) bool
	index func(T) *int
}

func (h *indexHeap[T]) Len() int           { return len(h.s) }
func (h *indexHeap[T]) Less(i, j int) bool { return h.less(h.s[i], h.s[j]) }
func (h *indexHeap[T]) Swap(i, j int) {
	h.s[i], h.s[j] = h.s[j], h.s[i]
	*h.index(h.s[i]), *h.index(h.s[j]) = i, j
}

// Push is for container/heap only.
func (h *indexHeap[T]) Push(x any) {
	e := x.(T)
	*h.index(e) = len(h.s)
	h.s = append(h.s, e)
}

// Pop is for container/heap only.
func (h *indexHeap[T]) Pop() any {
	var zero T
	n := len(h.s) - 1
	e := h.s[n]
	h.s[n] = zero
	h.s = h.s[:n]
	*h.index(e) = -1
	return e
}

// top returns the best element; the heap must not be empty.
func (h *indexHeap[T]) top() T { return h.s[0] }
