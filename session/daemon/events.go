package daemon

import (
	"sync"
	"time"

	"github.com/uaaf/uaaf/session/api"
)

// hub fans events out to subscribers (GET /v1/events) and keeps the last
// ringSize for those that subscribe with ?since=. A subscriber that does not
// keep up is dropped (its channel closed) rather than slowing the daemon.
// Safe for concurrent use.
type hub struct {
	mu   sync.Mutex
	seq  uint64
	ring []api.Event // the last events, at most ringSize; once full, the oldest is ring[head]
	head int
	subs map[chan api.Event]struct{}
}

const (
	ringSize  = 1024
	subBuffer = 256
)

func newHub() *hub { return &hub{subs: map[chan api.Event]struct{}{}} }

// publish stamps ev with the next sequence number and the time, and sends it
// to every subscriber.
func (h *hub) publish(ev api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	ev.Seq = h.seq
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if len(h.ring) < ringSize {
		h.ring = append(h.ring, ev)
	} else { // overwrite the oldest in place: no shift of the whole ring per event
		h.ring[h.head] = ev
		h.head = (h.head + 1) % ringSize
	}
	for ch := range h.subs {
		select {
		case ch <- ev:
		default: // too slow: drop it
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// subscribe returns the kept events after since and a channel of the ones
// that follow; cancel with unsubscribe.
func (h *hub) subscribe(since uint64) ([]api.Event, chan api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var backlog []api.Event
	for i := range h.ring {
		if ev := h.ring[(h.head+i)%len(h.ring)]; ev.Seq > since {
			backlog = append(backlog, ev)
		}
	}
	ch := make(chan api.Event, subBuffer)
	h.subs[ch] = struct{}{}
	return backlog, ch
}

func (h *hub) unsubscribe(ch chan api.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// closeAll ends every subscription (shutdown).
func (h *hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}
