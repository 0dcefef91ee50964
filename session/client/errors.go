package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors of package client. An *APIError matches the one of its
// status with errors.Is; ErrNoDaemon is matched by a failed connection.
var (
	// ErrNoDaemon: nothing listens where the client was told to connect.
	ErrNoDaemon = errors.New("client: no daemon")
	// ErrInvalid: 400, the request is malformed or names what cannot be.
	ErrInvalid = errors.New("client: invalid request")
	// ErrUnauthorized: 401, a missing or wrong bearer token (TCP only).
	ErrUnauthorized = errors.New("client: unauthorized")
	// ErrNotFound: 404, no such library, image, session or route.
	ErrNotFound = errors.New("client: not found")
	// ErrConflict: 409, the request contradicts the daemon's state (a name
	// taken, a library in use, a session in the wrong state).
	ErrConflict = errors.New("client: conflict")
	// ErrTooLarge: 413, the request body is over the daemon's limit.
	ErrTooLarge = errors.New("client: request too large")
	// ErrBusy: 429, over an admission limit; retry after RetryAfter.
	ErrBusy = errors.New("client: daemon busy")
	// ErrUnavailable: 503, the daemon is shutting down.
	ErrUnavailable = errors.New("client: daemon unavailable")
	// ErrEventsLost: the daemon cut an event stream off because the client
	// fell behind; subscribe again from EventStream.Last.
	ErrEventsLost = errors.New("client: events lost")
)

// APIError is an error response of the daemon.
type APIError struct {
	Status     int           // the HTTP status
	Message    string        // the daemon's {"error": …}
	RetryAfter time.Duration // from Retry-After (429, 503); 0 if absent
}

// Error returns the kind of error its status says, then the daemon's
// message: "not found: session 7".
func (e *APIError) Error() string {
	kind, ok := statusKind[e.Status]
	if !ok {
		kind = strings.ToLower(http.StatusText(e.Status))
		if kind == "" {
			kind = fmt.Sprintf("HTTP status %d", e.Status)
		}
	}
	if e.Message == "" {
		return kind
	}
	return kind + ": " + e.Message
}

// statusKind names the statuses the daemon answers with.
var statusKind = map[int]string{
	http.StatusBadRequest:            "invalid request",
	http.StatusUnauthorized:          "unauthorized",
	http.StatusNotFound:              "not found",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "request too large",
	http.StatusTooManyRequests:       "busy",
	http.StatusServiceUnavailable:    "unavailable",
	http.StatusInternalServerError:   "daemon error",
}

// Is matches the sentinel of e's status.
func (e *APIError) Is(target error) bool {
	s, ok := statusSentinel[target]
	return ok && s == e.Status
}

var statusSentinel = map[error]int{
	ErrInvalid:      http.StatusBadRequest,
	ErrUnauthorized: http.StatusUnauthorized,
	ErrNotFound:     http.StatusNotFound,
	ErrConflict:     http.StatusConflict,
	ErrTooLarge:     http.StatusRequestEntityTooLarge,
	ErrBusy:         http.StatusTooManyRequests,
	ErrUnavailable:  http.StatusServiceUnavailable,
}

// parseRetryAfter reads a Retry-After header: delay seconds or an HTTP
// date; 0 if absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseUint(v, 10, 31); err == nil {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// noDaemonError is a connection refused or a missing socket.
type noDaemonError struct {
	where string
	err   error
}

func (e *noDaemonError) Error() string {
	return fmt.Sprintf("no daemon at %s: start one with `uaaf serve`", e.where)
}

func (e *noDaemonError) Unwrap() []error { return []error{ErrNoDaemon, e.err} }
