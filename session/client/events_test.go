package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/session/client"
)

// TestEventStreamEnds checks how a stream ends, against a stand-in for the
// daemon that answers GET /v1/events with a fixed body: the daemon closing
// it, cutting a slow client off, or sending garbage.
func TestEventStreamEnds(t *testing.T) {
	const ev = `{"seq":%d,"time":"2026-12-06T12:00:00Z","type":"session.created","session":%d}` + "\n"
	lost := `{"seq":0,"time":"2026-12-06T12:00:01Z","type":"events.lost","detail":"the client fell behind; resubscribe with ?since="}` + "\n"
	for _, tc := range []struct {
		name   string
		body   string
		since  uint64
		seqs   []uint64
		errIs  error
		errMsg string
	}{
		{"daemon ended it", fmt.Sprintf(ev+ev, 5, 1, 6, 2), 4, []uint64{5, 6}, nil, ""},
		{"empty", "", 9, nil, nil, ""},
		{"fell behind", fmt.Sprintf(ev+ev, 1, 1, 2, 2) + lost, 0, []uint64{1, 2}, client.ErrEventsLost, "client: events lost after event 2: the client fell behind"},
		{"garbage", fmt.Sprintf(ev, 1, 1) + "{nope\n", 0, []uint64{1}, nil, "client: events: invalid character"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			queries := make(chan string, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				queries <- r.URL.RawQuery
				w.Header().Set("Content-Type", "application/x-ndjson")
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			c := client.NewTCP(srv.URL, "")
			defer c.Close()
			es, err := c.Events(context.Background(), tc.since)
			if err != nil {
				t.Fatal(err)
			}
			defer es.Close()
			if query, want := <-queries, fmt.Sprintf("since=%d", tc.since); tc.since > 0 && query != want || tc.since == 0 && query != "" {
				t.Errorf("query %q", query)
			}
			var seqs []uint64
			for es.Next() {
				seqs = append(seqs, es.Event().Seq)
			}
			if fmt.Sprint(seqs) != fmt.Sprint(tc.seqs) {
				t.Errorf("events %v, want %v", seqs, tc.seqs)
			}
			err = es.Err()
			switch {
			case tc.errMsg == "" && err != nil:
				t.Errorf("Err = %v, want nil", err)
			case tc.errMsg != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.errMsg)):
				t.Errorf("Err = %v, want %q…", err, tc.errMsg)
			case tc.errIs != nil && !errors.Is(err, tc.errIs):
				t.Errorf("Err = %v, want it to match %v", err, tc.errIs)
			}
			want := tc.since
			if n := len(tc.seqs); n > 0 {
				want = tc.seqs[n-1]
			}
			if es.Last() != want {
				t.Errorf("Last = %d, want %d", es.Last(), want)
			}
			if es.Next() {
				t.Error("Next after the end")
			}
		})
	}
}
