package fakedaemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/rpc"
	"strings"
	"sync"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
)

// notFoundMark prefixes the text of errors that wrap daemon.ErrNotFound on
// the wire (net/rpc carries errors as strings).
const notFoundMark = "not-found: "

// Server serves a Fake over net/rpc on a listener. Close stops it and drops
// every connection, as a daemon that exits does.
type Server struct {
	l     net.Listener
	mu    sync.Mutex
	conns map[net.Conn]bool
	done  chan struct{}
}

// Serve starts serving f on l in a new goroutine.
func Serve(l net.Listener, f *Fake) (*Server, error) {
	rs := rpc.NewServer()
	if err := rs.RegisterName("Fake", &endpoint{f}); err != nil {
		return nil, fmt.Errorf("fakedaemon: %w", err)
	}
	s := &Server{l: l, conns: map[net.Conn]bool{}, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns[c] = true
			s.mu.Unlock()
			go func() {
				rs.ServeConn(c)
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
			}()
		}
	}()
	return s, nil
}

// Close closes the listener and every open connection.
func (s *Server) Close() error {
	err := s.l.Close()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
	return err
}

// endpoint holds the net/rpc methods; each calls the Fake.
type endpoint struct{ f *Fake }

func wireErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, daemon.ErrNotFound) {
		return errors.New(notFoundMark + err.Error())
	}
	return err
}

// Empty is the argument or reply of calls that carry none.
type Empty struct{}

// ConsoleArgs asks for console bytes from Off.
type ConsoleArgs struct {
	ID     string
	Off    int
	Max    int
	Follow bool
}

// ConsoleReply carries console bytes, or EOF at the end of the output.
type ConsoleReply struct {
	Data []byte
	EOF  bool
}

func (e *endpoint) Ping(_ Empty, _ *Empty) error { return nil }

func (e *endpoint) Create(spec daemon.SessionSpec, id *string) (err error) {
	*id, err = e.f.CreateSession(context.Background(), spec)
	return wireErr(err)
}

func (e *endpoint) Start(id string, _ *Empty) error {
	return wireErr(e.f.StartSession(context.Background(), id))
}

func (e *endpoint) Wait(id string, ex *daemon.Exit) (err error) {
	*ex, err = e.f.WaitSession(context.Background(), id)
	return wireErr(err)
}

func (e *endpoint) Kill(id string, _ *Empty) error {
	return wireErr(e.f.KillSession(context.Background(), id))
}

func (e *endpoint) Delete(id string, _ *Empty) error {
	return wireErr(e.f.DeleteSession(context.Background(), id))
}

func (e *endpoint) ReadConsole(a ConsoleArgs, r *ConsoleReply) error {
	buf := make([]byte, min(max(a.Max, 1), 64<<10))
	n, err := e.f.ReadConsole(context.Background(), a.ID, a.Off, buf, a.Follow)
	if err == io.EOF {
		r.EOF = true
		return nil
	}
	r.Data = buf[:n]
	return wireErr(err)
}

func (e *endpoint) Stats(id string, st *daemon.SessionStats) (err error) {
	*st, err = e.f.Stats(context.Background(), id)
	return wireErr(err)
}

// Client is a daemon.Daemon that reaches a Fake served on a unix socket. It
// dials for every call, so it outlives a server restart as a real daemon
// client must. Safe for concurrent use.
type Client struct {
	socket string
}

// Dial returns a Client of the Fake served at socket (nothing is dialled
// yet).
func Dial(socket string) *Client { return &Client{socket: socket} }

var _ daemon.Daemon = (*Client)(nil)

func (c *Client) call(ctx context.Context, method string, args, reply any) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", c.socket)
	if err != nil {
		return daemon.Unreachable(c.socket, err)
	}
	rc := rpc.NewClient(conn)
	defer rc.Close()
	call := rc.Go("Fake."+method, args, reply, make(chan *rpc.Call, 1))
	select {
	case <-call.Done:
	case <-ctx.Done():
		return ctx.Err()
	}
	var se rpc.ServerError
	switch {
	case call.Error == nil:
		return nil
	case errors.As(call.Error, &se) && strings.HasPrefix(string(se), notFoundMark):
		return fmt.Errorf("%s: %w", strings.TrimPrefix(string(se), notFoundMark), daemon.ErrNotFound)
	case errors.As(call.Error, &se):
		return fmt.Errorf("fakedaemon: %s", string(se))
	}
	// The connection broke: the daemon went away.
	return daemon.Unreachable(c.socket, call.Error)
}

// Ping dials the server.
func (c *Client) Ping(ctx context.Context) error { return c.call(ctx, "Ping", Empty{}, &Empty{}) }

// CreateSession creates a session in the served Fake.
func (c *Client) CreateSession(ctx context.Context, spec daemon.SessionSpec) (string, error) {
	var id string
	err := c.call(ctx, "Create", spec, &id)
	return id, err
}

// StartSession starts a session.
func (c *Client) StartSession(ctx context.Context, id string) error {
	return c.call(ctx, "Start", id, &Empty{})
}

// WaitSession waits for a session to end.
func (c *Client) WaitSession(ctx context.Context, id string) (daemon.Exit, error) {
	var ex daemon.Exit
	err := c.call(ctx, "Wait", id, &ex)
	return ex, err
}

// KillSession kills a session.
func (c *Client) KillSession(ctx context.Context, id string) error {
	return c.call(ctx, "Kill", id, &Empty{})
}

// DeleteSession deletes a session.
func (c *Client) DeleteSession(ctx context.Context, id string) error {
	return c.call(ctx, "Delete", id, &Empty{})
}

// Console streams a session's console with one call per read.
func (c *Client) Console(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	if err := c.call(ctx, "Ping", Empty{}, &Empty{}); err != nil {
		return nil, err
	}
	return &remoteConsole{c: c, ctx: ctx, id: id, follow: follow}, nil
}

// Stats reports a session's stats.
func (c *Client) Stats(ctx context.Context, id string) (daemon.SessionStats, error) {
	var st daemon.SessionStats
	err := c.call(ctx, "Stats", id, &st)
	return st, err
}

type remoteConsole struct {
	c      *Client
	ctx    context.Context
	id     string
	follow bool
	off    int
}

func (r *remoteConsole) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	var rep ConsoleReply
	if err := r.c.call(r.ctx, "ReadConsole", ConsoleArgs{ID: r.id, Off: r.off, Max: len(p), Follow: r.follow}, &rep); err != nil {
		return 0, err
	}
	if rep.EOF {
		return 0, io.EOF
	}
	n := copy(p, rep.Data)
	r.off += n
	return n, nil
}

func (r *remoteConsole) Close() error { return nil }
