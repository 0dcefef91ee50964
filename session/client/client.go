package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/uaaf/uaaf/session/api"
)

// SocketEnv names the daemon's socket when New is given "".
const SocketEnv = "UAAF_SOCKET"

// Client talks to one daemon. It is safe for concurrent use; its methods
// may be called from any goroutine.
type Client struct {
	base  string // URL prefix of every route
	where string // what ErrNoDaemon names: the socket path or the base URL
	token string // bearer token, TCP only
	unix  bool   // where is a unix socket
	tr    *http.Transport
	hc    *http.Client
}

// maxIdle bounds the idle connections kept for reuse: enough for a
// scheduler issuing requests from many goroutines.
const maxIdle = 64

// New returns a client of the daemon listening on the unix socket at
// socket; "" means $UAAF_SOCKET, else api.DefaultSocket. It does not
// connect until the first call.
func New(socket string) *Client {
	if socket == "" {
		socket = os.Getenv(SocketEnv)
	}
	if socket == "" {
		socket = api.DefaultSocket
	}
	tr := newTransport(func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	})
	c := newClient("http://uaaf", socket, "", tr)
	c.unix = true
	return c
}

// NewTCP returns a client of a daemon's TCP listener at baseURL
// ("http://127.0.0.1:7380"; "127.0.0.1:7380" means the same) sending token
// as its bearer token. It does not connect until the first call.
func NewTCP(baseURL, token string) *Client {
	if !strings.Contains(baseURL, "://") {
		baseURL = "http://" + baseURL
	}
	baseURL = strings.TrimRight(baseURL, "/")
	tr := newTransport((&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext)
	return newClient(baseURL, baseURL, token, tr)
}

// newTransport returns the transport of a client connecting with dial.
func newTransport(dial func(ctx context.Context, network, addr string) (net.Conn, error)) *http.Transport {
	return &http.Transport{
		DialContext:         dial,
		MaxIdleConns:        maxIdle,
		MaxIdleConnsPerHost: maxIdle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

func newClient(base, where, token string, tr *http.Transport) *Client {
	return &Client{base: base, where: where, token: token, tr: tr, hc: &http.Client{
		Transport: tr,
		// The API never redirects; following one would be a surprise
		// (and would drop the bearer token on another host).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Close closes the client's idle connections. Calls still in flight are
// not affected, and the client stays usable (it connects again).
func (c *Client) Close() error {
	c.tr.CloseIdleConnections()
	return nil
}

// maxErrorBody bounds what is read of an error response.
const maxErrorBody = 64 << 10

// send makes a request of method to path with query, the body in encoded
// as JSON if non-nil, and returns a 2xx response (the caller closes its
// body) or the error.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	resp, err := c.do(ctx, method, path, query, in)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer closeBody(resp.Body)
	return nil, readAPIError(resp)
}

// do makes the request and returns the response, whatever its status.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, in any) (*http.Response, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("client: %s %s: encode request: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("client: %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportErr(method, path, err)
	}
	return resp, nil
}

// call makes a request and decodes a JSON answer into out (if non-nil).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	resp, err := c.send(ctx, method, path, query, in)
	if err != nil {
		return err
	}
	defer closeBody(resp.Body)
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fmt.Errorf("client: %s %s: read response: %w", method, path, err)
	}
	return nil
}

// closeBody reads what is left of a (short) body so that its connection
// can be reused, and closes it. A long remainder is not read: closing
// then drops the connection instead.
func closeBody(b io.ReadCloser) {
	io.Copy(io.Discard, io.LimitReader(b, 4<<10))
	b.Close()
}

// readAPIError turns an error response into an *APIError.
func readAPIError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e := &APIError{Status: resp.StatusCode, RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	var body api.Error
	if json.Unmarshal(data, &body) == nil && body.Error != "" {
		e.Message = body.Error
	} else if s := strings.TrimSpace(string(data)); s != "" && len(s) < 200 && !strings.ContainsAny(s, "\n") {
		e.Message = s // not from the daemon, maybe; short enough to show
	}
	return e
}

// transportErr describes a request that got no response: no daemon, a
// cancelled context, or another network failure.
func (c *Client) transportErr(method, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" && (errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED)) {
		// Linux refuses a connection to a file that is not a socket too.
		if fi, serr := os.Stat(c.where); c.unix && serr == nil && fi.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("client: %s is not a socket (is --socket or $%s right?)", c.where, SocketEnv)
		}
		return &noDaemonError{where: c.where, err: err}
	}
	return fmt.Errorf("client: %s %s: %w", method, path, err)
}

func libPath(name string) string   { return "/v1/libraries/" + url.PathEscape(name) }
func imagePath(name string) string { return "/v1/images/" + url.PathEscape(name) }
func sessionPath(id uint64) string { return "/v1/sessions/" + strconv.FormatUint(id, 10) }

// Version returns the daemon's version (GET /version).
func (c *Client) Version(ctx context.Context) (api.VersionInfo, error) {
	var v api.VersionInfo
	err := c.call(ctx, "GET", "/version", nil, nil, &v)
	return v, err
}

// Health returns the daemon's health (GET /healthz). A draining daemon
// answers 503: then Health returns its health (Status "draining") and an
// *APIError matching ErrUnavailable.
func (c *Client) Health(ctx context.Context) (api.Health, error) {
	var h api.Health
	resp, err := c.do(ctx, "GET", "/healthz", nil, nil)
	if err != nil {
		return h, err
	}
	defer closeBody(resp.Body)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		return h, readAPIError(resp)
	}
	// Both answers carry a Health.
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		return h, fmt.Errorf("client: GET /healthz: read response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return h, &APIError{Status: resp.StatusCode, Message: "the daemon is " + h.Status,
			RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	return h, nil
}

// Metrics returns the daemon's Prometheus metrics in the text format
// (GET /metrics).
func (c *Client) Metrics(ctx context.Context) (string, error) {
	b, err := c.raw(ctx, "/metrics")
	return string(b), err
}

// OpenAPI returns the API's OpenAPI description (GET /v1/openapi.json).
func (c *Client) OpenAPI(ctx context.Context) ([]byte, error) {
	return c.raw(ctx, "/v1/openapi.json")
}

// maxRaw bounds the raw bodies read whole (metrics, the OpenAPI file).
const maxRaw = 64 << 20

func (c *Client) raw(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.send(ctx, "GET", path, nil, nil)
	if err != nil {
		return nil, err
	}
	defer closeBody(resp.Body)
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxRaw))
	if err != nil {
		return nil, fmt.Errorf("client: GET %s: read response: %w", path, err)
	}
	return b, nil
}

// Libraries lists the daemon's libraries (GET /v1/libraries).
func (c *Client) Libraries(ctx context.Context) ([]api.Library, error) {
	var ls []api.Library
	err := c.call(ctx, "GET", "/v1/libraries", nil, nil, &ls)
	return ls, err
}

// Library describes one library (GET /v1/libraries/{name}).
func (c *Client) Library(ctx context.Context, name string) (api.Library, error) {
	var l api.Library
	err := c.call(ctx, "GET", libPath(name), nil, nil, &l)
	return l, err
}

// Residency returns every library's residency history: intervals and
// memory on the daemon's policy clock, for memory-time (GET /v1/residency).
func (c *Client) Residency(ctx context.Context) (api.Residency, error) {
	var r api.Residency
	err := c.call(ctx, "GET", "/v1/residency", nil, nil, &r)
	return r, err
}

// LoadLibrary loads a library (POST /v1/libraries); loading one already
// loaded under that name from the same path only applies req.Pin.
func (c *Client) LoadLibrary(ctx context.Context, req api.LoadLibrary) (api.Library, error) {
	var l api.Library
	err := c.call(ctx, "POST", "/v1/libraries", nil, req, &l)
	return l, err
}

// PinLibrary keeps a library loaded while unreferenced
// (PUT /v1/libraries/{name}/pin).
func (c *Client) PinLibrary(ctx context.Context, name string) (api.Library, error) {
	var l api.Library
	err := c.call(ctx, "PUT", libPath(name)+"/pin", nil, nil, &l)
	return l, err
}

// UnpinLibrary clears a library's pin (DELETE /v1/libraries/{name}/pin):
// it then follows the keep-alive policy. If that destroyed it at once, the
// returned Library has only its Name.
func (c *Client) UnpinLibrary(ctx context.Context, name string) (api.Library, error) {
	var l api.Library
	err := c.call(ctx, "DELETE", libPath(name)+"/pin", nil, nil, &l)
	return l, err
}

// UnloadLibrary destroys a library (DELETE /v1/libraries/{name}); refused
// with ErrConflict while sessions reference it.
func (c *Client) UnloadLibrary(ctx context.Context, name string) error {
	return c.call(ctx, "DELETE", libPath(name), nil, nil, nil)
}

// Images lists the registered session images (GET /v1/images).
func (c *Client) Images(ctx context.Context) ([]api.Image, error) {
	var ims []api.Image
	err := c.call(ctx, "GET", "/v1/images", nil, nil, &ims)
	return ims, err
}

// Image describes one registered image (GET /v1/images/{name}).
func (c *Client) Image(ctx context.Context, name string) (api.Image, error) {
	var im api.Image
	err := c.call(ctx, "GET", imagePath(name), nil, nil, &im)
	return im, err
}

// AddImage registers a session image, laid out once (POST /v1/images).
func (c *Client) AddImage(ctx context.Context, req api.AddImage) (api.Image, error) {
	var im api.Image
	err := c.call(ctx, "POST", "/v1/images", nil, req, &im)
	return im, err
}

// RemoveImage forgets a registered image (DELETE /v1/images/{name});
// sessions started from it run on.
func (c *Client) RemoveImage(ctx context.Context, name string) error {
	return c.call(ctx, "DELETE", imagePath(name), nil, nil, nil)
}

// Sessions lists the sessions, by ID: the S-F table (GET /v1/sessions).
func (c *Client) Sessions(ctx context.Context) ([]api.Session, error) {
	var ss []api.Session
	err := c.call(ctx, "GET", "/v1/sessions", nil, nil, &ss)
	return ss, err
}

// Session describes one session (GET /v1/sessions/{id}).
func (c *Client) Session(ctx context.Context, id uint64) (api.Session, error) {
	var s api.Session
	err := c.call(ctx, "GET", sessionPath(id), nil, nil, &s)
	return s, err
}

// CreateSession creates (and with spec.Start, starts) a session
// (POST /v1/sessions). It does not wait for admission: over a limit it
// fails with ErrBusy.
func (c *Client) CreateSession(ctx context.Context, spec api.SessionSpec) (api.Session, error) {
	var s api.Session
	err := c.call(ctx, "POST", "/v1/sessions", nil, spec, &s)
	return s, err
}

// StartSession starts a created session (POST /v1/sessions/{id}/start).
func (c *Client) StartSession(ctx context.Context, id uint64) (api.Session, error) {
	var s api.Session
	err := c.call(ctx, "POST", sessionPath(id)+"/start", nil, nil, &s)
	return s, err
}

// KillSession stops a session (POST /v1/sessions/{id}/kill): a running one
// ends killed, a created one is released without running.
func (c *Client) KillSession(ctx context.Context, id uint64) (api.Session, error) {
	var s api.Session
	err := c.call(ctx, "POST", sessionPath(id)+"/kill", nil, nil, &s)
	return s, err
}

// DeleteSession kills a session if it runs and forgets it
// (DELETE /v1/sessions/{id}).
func (c *Client) DeleteSession(ctx context.Context, id uint64) error {
	return c.call(ctx, "DELETE", sessionPath(id), nil, nil, nil)
}

// maxWait is the longest wait the daemon takes in one long poll.
const maxWait = 10 * time.Minute

// Ended reports whether state is a final session state (exited, failed,
// killed).
func Ended(state string) bool {
	return state == api.StateExited || state == api.StateFailed || state == api.StateKilled
}

// WaitSession waits until session id ends or timeout passes
// (GET /v1/sessions/{id}/wait) and returns its state then: a session still
// running after timeout is no error. A negative timeout waits until it
// ends, however long; a timeout beyond the daemon's longest long poll
// (10 min) is waited out in several polls. Cancelling ctx abandons the wait.
func (c *Client) WaitSession(ctx context.Context, id uint64, timeout time.Duration) (api.Session, error) {
	forever := timeout < 0
	deadline := time.Now().Add(timeout)
	for {
		step := maxWait
		if !forever {
			step = min(time.Until(deadline).Truncate(time.Millisecond), maxWait)
			step = max(step, 0)
		}
		var s api.Session
		err := c.call(ctx, "GET", sessionPath(id)+"/wait", url.Values{"timeout": {step.String()}}, nil, &s)
		if err != nil || Ended(s.State) || (!forever && step < maxWait) { // this poll covered what was left
			return s, err
		}
	}
}

// Console returns session id's console output from byte offset on
// (GET /v1/sessions/{id}/console). With follow, the stream goes on as the
// session writes, until it ends (EOF) or ctx is cancelled; close it either
// way.
func (c *Client) Console(ctx context.Context, id uint64, offset int64, follow bool) (io.ReadCloser, error) {
	q := url.Values{}
	if offset != 0 {
		q.Set("offset", strconv.FormatInt(offset, 10))
	}
	if follow {
		q.Set("follow", "true")
	}
	resp, err := c.send(ctx, "GET", sessionPath(id)+"/console", q, nil)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// Invoke creates a session, runs it to its end, deletes it and returns its
// exit status, console and timings (POST /v1/invoke). Over the live-session
// limit the daemon queues it; with the queue full it fails with ErrBusy.
// Cancelling ctx kills the session.
func (c *Client) Invoke(ctx context.Context, req api.Invoke) (api.InvokeResult, error) {
	var r api.InvokeResult
	err := c.call(ctx, "POST", "/v1/invoke", nil, req, &r)
	return r, err
}
