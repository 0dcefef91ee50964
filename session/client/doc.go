// Package client is the Go client of `uaaf serve`, the resident runtime:
// one method per route of its HTTP/JSON API (package api holds the bodies;
// session/daemon/openapi.json describes the routes). A task scheduler
// written in Go drives the daemon with it; the `uaaf` control verbs (lib,
// image, session, ps, invoke, events) are built on it.
//
// # Connecting
//
// New talks to the daemon's unix socket ("" means $UAAF_SOCKET, else
// api.DefaultSocket); NewTCP talks to its loopback TCP listener with the
// bearer token that listener requires. A Client is safe for concurrent use
// by many goroutines and reuses connections; Close drops the idle ones.
//
// # Errors
//
// An HTTP error from the daemon is an *APIError (status, the daemon's
// message, and Retry-After on 429 and 503); its text is the kind of error
// the status says, then the daemon's message ("not found: session 7"). It
// matches the sentinels of this package by status, so a scheduler can write
//
//	var ae *client.APIError
//	if errors.Is(err, client.ErrBusy) && errors.As(err, &ae) {
//		time.Sleep(ae.RetryAfter) // and try again
//	}
//
// A daemon that is not there (no socket file, or nobody listening) gives an
// error matching ErrNoDaemon whose text is one line telling the user to
// start one. Other transport failures are wrapped with the method and path.
//
// # Cancellation
//
// Every method takes a context first; cancelling it aborts the request and
// closes its connection, which is how long polls (WaitSession) and streams
// (Console with follow, Events) are abandoned without leaking a goroutine or
// a connection. A stream must also be closed once done with.
//
// # Events
//
// Events returns an EventStream, read like a bufio.Scanner (Next, Event,
// Err, Close); see its documentation for how a stream ends.
package client
