package daemon

import (
	"fmt"
	"testing"

	"github.com/uaaf/uaaf/session/api"
)

// TestHubBacklog checks that subscribe returns the kept events after since,
// oldest first, across the ring's wrap-around: the last ringSize events.
func TestHubBacklog(t *testing.T) {
	for _, tc := range []struct{ published, since int }{
		{0, 0},
		{5, 0},
		{5, 3},
		{5, 5},
		{ringSize, 0},
		{ringSize + 7, 0},
		{ringSize + 7, 100},
		{3*ringSize + 1, 2 * ringSize},
		{3*ringSize + 1, 3*ringSize + 1},
	} {
		t.Run(fmt.Sprintf("%d-since-%d", tc.published, tc.since), func(t *testing.T) {
			h := newHub()
			for i := range tc.published {
				h.publish(api.Event{Type: "session.created", Session: uint64(i + 1)})
			}
			backlog, ch := h.subscribe(uint64(tc.since))
			defer h.unsubscribe(ch)
			first := max(tc.since, tc.published-ringSize) + 1
			if want := tc.published - first + 1; len(backlog) != want {
				t.Fatalf("backlog has %d events, want %d", len(backlog), want)
			}
			for i, ev := range backlog {
				if want := uint64(first + i); ev.Seq != want || ev.Session != want {
					t.Fatalf("backlog[%d] is seq %d (session %d), want %d", i, ev.Seq, ev.Session, want)
				}
			}
			h.publish(api.Event{Type: "daemon.draining"})
			if ev := <-ch; ev.Seq != uint64(tc.published+1) {
				t.Errorf("next event is seq %d, want %d", ev.Seq, tc.published+1)
			}
		})
	}
}
