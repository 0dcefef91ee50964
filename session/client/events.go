package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"

	"github.com/uaaf/uaaf/session/api"
)

// lostType is the event type the daemon sends before it cuts off a
// subscriber that fell behind.
const lostType = "events.lost"

// EventStream is a subscription to the daemon's events (GET /v1/events),
// read like a bufio.Scanner:
//
//	s, err := c.Events(ctx, 0)
//	if err != nil { … }
//	defer s.Close()
//	for s.Next() {
//		ev := s.Event()
//		…
//	}
//	if err := s.Err(); err != nil { … }
//
// Next blocks until the daemon sends an event. It returns false when ctx
// is cancelled (Err wraps ctx's error), when the daemon ends the stream
// because it shuts down (Err is nil), when it cut the client off for
// falling behind (Err matches ErrEventsLost: subscribe again with
// since = Last()), or on a broken stream. Cancel ctx to stop a Next that
// blocks; Close the stream in any case. An EventStream is used by one
// goroutine at a time.
type EventStream struct {
	ctx  context.Context
	body io.ReadCloser
	dec  *json.Decoder
	ev   api.Event
	last uint64
	err  error
	done bool
}

// Events subscribes to the daemon's events: first the ones it kept with a
// sequence number above since (since 0: all it kept), then each new one as
// it happens.
func (c *Client) Events(ctx context.Context, since uint64) (*EventStream, error) {
	q := url.Values{}
	if since > 0 {
		q.Set("since", strconv.FormatUint(since, 10))
	}
	resp, err := c.send(ctx, "GET", "/v1/events", q, nil)
	if err != nil {
		return nil, err
	}
	return &EventStream{ctx: ctx, body: resp.Body, dec: json.NewDecoder(resp.Body), last: since}, nil
}

// Next reads the next event; see EventStream.
func (s *EventStream) Next() bool {
	if s.done {
		return false
	}
	var ev api.Event
	if err := s.dec.Decode(&ev); err != nil {
		s.done = true
		switch {
		case s.ctx.Err() != nil:
			s.err = fmt.Errorf("client: events: %w", s.ctx.Err())
		case errors.Is(err, io.EOF):
			// The daemon ended the stream: it is shutting down.
		default:
			s.err = fmt.Errorf("client: events: %w", err)
		}
		return false
	}
	if ev.Type == lostType {
		s.done = true
		s.err = fmt.Errorf("%w after event %d: %s", ErrEventsLost, s.last, ev.Detail)
		return false
	}
	s.ev, s.last = ev, ev.Seq
	return true
}

// Event returns the event Next read.
func (s *EventStream) Event() api.Event { return s.ev }

// Last returns the sequence number of the last event read (or the since
// the stream was opened with): where to subscribe again.
func (s *EventStream) Last() uint64 { return s.last }

// Err returns why Next returned false; nil if the daemon ended the stream.
func (s *EventStream) Err() error { return s.err }

// Close ends the subscription and closes its connection.
func (s *EventStream) Close() error { return s.body.Close() }
