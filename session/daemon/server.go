package daemon

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/session/api"
)

// openAPI is the API's description, served at GET /v1/openapi.json; a test
// checks it against Routes.
//
//go:embed openapi.json
var openAPI []byte

// Body limits: a session or invocation carries up to api.MaxInput bytes of
// input, base64-encoded in JSON (4/3 of it) plus its other fields.
const (
	maxBody      = 2 << 20
	maxSmallBody = 64 << 10
	maxWait      = 10 * time.Minute
)

// Route is one method and path pattern the API serves.
type Route struct {
	Method, Path string
	query        []string // query parameters it accepts
	handle       func(d *Daemon, w http.ResponseWriter, r *http.Request) error
}

// Routes returns every route Handler serves, in the net/http pattern syntax
// ("/v1/libraries/{name}").
func Routes() []Route { return append([]Route(nil), routes...) }

var routes = []Route{
	{Method: "GET", Path: "/healthz", handle: (*Daemon).hHealth},
	{Method: "GET", Path: "/version", handle: (*Daemon).hVersion},
	{Method: "GET", Path: "/metrics", handle: (*Daemon).hMetrics},
	{Method: "GET", Path: "/v1/openapi.json", handle: (*Daemon).hOpenAPI},
	{Method: "GET", Path: "/v1/libraries", handle: (*Daemon).hLibraries},
	{Method: "POST", Path: "/v1/libraries", handle: (*Daemon).hLoadLibrary},
	{Method: "GET", Path: "/v1/libraries/{name}", handle: (*Daemon).hLibrary},
	{Method: "DELETE", Path: "/v1/libraries/{name}", handle: (*Daemon).hUnloadLibrary},
	{Method: "PUT", Path: "/v1/libraries/{name}/pin", handle: (*Daemon).hPin},
	{Method: "GET", Path: "/v1/residency", handle: (*Daemon).hResidency},
	{Method: "DELETE", Path: "/v1/libraries/{name}/pin", handle: (*Daemon).hUnpin},
	{Method: "GET", Path: "/v1/images", handle: (*Daemon).hImages},
	{Method: "POST", Path: "/v1/images", handle: (*Daemon).hAddImage},
	{Method: "GET", Path: "/v1/images/{name}", handle: (*Daemon).hImage},
	{Method: "DELETE", Path: "/v1/images/{name}", handle: (*Daemon).hRemoveImage},
	{Method: "GET", Path: "/v1/sessions", handle: (*Daemon).hSessions},
	{Method: "POST", Path: "/v1/sessions", handle: (*Daemon).hCreateSession},
	{Method: "GET", Path: "/v1/sessions/{id}", handle: (*Daemon).hSession},
	{Method: "DELETE", Path: "/v1/sessions/{id}", handle: (*Daemon).hDeleteSession},
	{Method: "POST", Path: "/v1/sessions/{id}/start", handle: (*Daemon).hStartSession},
	{Method: "POST", Path: "/v1/sessions/{id}/kill", handle: (*Daemon).hKillSession},
	{Method: "GET", Path: "/v1/sessions/{id}/wait", query: []string{"timeout"}, handle: (*Daemon).hWait},
	{Method: "GET", Path: "/v1/sessions/{id}/console", query: []string{"follow", "offset"}, handle: (*Daemon).hConsole},
	{Method: "POST", Path: "/v1/invoke", handle: (*Daemon).hInvoke},
	{Method: "GET", Path: "/v1/events", query: []string{"since"}, handle: (*Daemon).hEvents},
}

// Handler returns the daemon's HTTP API. A non-empty token is required as
// "Authorization: Bearer TOKEN" on every request (the TCP listener's
// handler); the unix socket relies on its file permissions.
func (d *Daemon) Handler(token string) http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.HandleFunc(rt.Method+" "+rt.Path, func(w http.ResponseWriter, r *http.Request) {
			if err := checkQuery(r, rt.query); err != nil {
				d.fail(w, r, err)
				return
			}
			if err := rt.handle(d, w, r); err != nil {
				d.fail(w, r, err)
			}
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, api.Error{Error: fmt.Sprintf("no route %s %s (see GET /v1/openapi.json)", r.Method, r.URL.Path)})
	})
	if token == "" {
		return mux
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="uaaf"`)
			writeJSON(w, http.StatusUnauthorized, api.Error{Error: "missing or wrong bearer token"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// checkQuery refuses query parameters the route does not take.
func checkQuery(r *http.Request, allowed []string) error {
	for k := range r.URL.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Errorf("%w: unknown query parameter %q", ErrInvalid, k)
		}
	}
	return nil
}

// fail writes err as {"error": …} with its status.
func (d *Daemon) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := http.StatusInternalServerError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		status = http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, ErrConflict):
		status = http.StatusConflict
	case errors.Is(err, ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, ErrBusy):
		status = http.StatusTooManyRequests
		w.Header().Set("Retry-After", "1")
	case errors.Is(err, ErrDraining):
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "5")
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		return // the client went away; nobody reads an answer
	}
	if status == http.StatusInternalServerError {
		d.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
	writeJSON(w, status, api.Error{Error: message(err)})
}

// message is err's text for a client: without the daemon's own sentinel
// prefix ("daemon: invalid request: "), which the status already says.
func message(err error) string {
	msg := err.Error()
	for _, s := range []error{ErrInvalid, ErrNotFound, ErrConflict, ErrBusy, ErrDraining} {
		msg = strings.TrimPrefix(msg, s.Error()+": ")
	}
	return msg
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

// decode reads a JSON body of at most limit bytes into v: unknown fields,
// trailing data and a body too large are errors (400, 413).
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: empty body (want a JSON object)", ErrInvalid)
		}
		return fmt.Errorf("%w: body: %w", ErrInvalid, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: body: data after the JSON object", ErrInvalid)
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return fmt.Errorf("%w: body: data after the JSON object", ErrInvalid)
	}
	return nil
}

// noBody refuses a body on routes that take none.
func noBody(r *http.Request) error {
	var b [1]byte
	if n, _ := io.ReadFull(io.LimitReader(r.Body, 1), b[:]); n > 0 {
		return fmt.Errorf("%w: %s %s takes no body", ErrInvalid, r.Method, r.URL.Path)
	}
	return nil
}

func sessionID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, fmt.Errorf("%w: session id %q is not a positive integer", ErrNotFound, r.PathValue("id"))
	}
	return id, nil
}

func (d *Daemon) hHealth(w http.ResponseWriter, _ *http.Request) error {
	h := d.Health()
	status := http.StatusOK
	if h.Status != "ok" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
	return nil
}

func (d *Daemon) hVersion(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, api.VersionInfo{Version: d.opts.Version, API: api.Version, HvtABI: hvt.ABIVersion,
		GoVersion: runtime.Version(), Switch: d.sel.Why, KernelExit: d.kernelExits != nil})
	return nil
}

func (d *Daemon) hMetrics(w http.ResponseWriter, r *http.Request) error {
	d.metrics.handler().ServeHTTP(w, r)
	return nil
}

func (d *Daemon) hOpenAPI(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI)
	return nil
}

func (d *Daemon) hLibraries(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, d.Libraries())
	return nil
}

func (d *Daemon) hLoadLibrary(w http.ResponseWriter, r *http.Request) error {
	var req api.LoadLibrary
	if err := decode(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	l, err := d.LoadLibrary(req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, l)
	return nil
}

func (d *Daemon) hLibrary(w http.ResponseWriter, r *http.Request) error {
	l, err := d.Library(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (d *Daemon) hUnloadLibrary(w http.ResponseWriter, r *http.Request) error {
	if err := d.UnloadLibrary(r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Daemon) hPin(w http.ResponseWriter, r *http.Request) error { return d.pin(w, r, true) }

func (d *Daemon) hUnpin(w http.ResponseWriter, r *http.Request) error { return d.pin(w, r, false) }

func (d *Daemon) pin(w http.ResponseWriter, r *http.Request, on bool) error {
	if err := noBody(r); err != nil {
		return err
	}
	l, err := d.PinLibrary(r.PathValue("name"), on)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

func (d *Daemon) hImages(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, d.Images())
	return nil
}

func (d *Daemon) hAddImage(w http.ResponseWriter, r *http.Request) error {
	var req api.AddImage
	if err := decode(w, r, maxSmallBody, &req); err != nil {
		return err
	}
	im, err := d.AddImage(req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, im)
	return nil
}

func (d *Daemon) hImage(w http.ResponseWriter, r *http.Request) error {
	im, err := d.Image(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, im)
	return nil
}

func (d *Daemon) hRemoveImage(w http.ResponseWriter, r *http.Request) error {
	if err := d.RemoveImage(r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Daemon) hSessions(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, d.Sessions())
	return nil
}

func (d *Daemon) hCreateSession(w http.ResponseWriter, r *http.Request) error {
	accepted := time.Now()
	var spec api.SessionSpec
	if err := decode(w, r, maxBody, &spec); err != nil {
		return err
	}
	s, err := d.CreateSession(r.Context(), spec, accepted, false, time.Time{})
	if err != nil {
		return err
	}
	if spec.Start {
		if err := d.start(s, time.Time{}); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusCreated, s.view())
	return nil
}

func (d *Daemon) hSession(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionID(r)
	if err != nil {
		return err
	}
	s, err := d.Session(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) hDeleteSession(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionID(r)
	if err != nil {
		return err
	}
	if err := d.DeleteSession(id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (d *Daemon) hStartSession(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	id, err := sessionID(r)
	if err != nil {
		return err
	}
	s, err := d.StartSession(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

func (d *Daemon) hKillSession(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	id, err := sessionID(r)
	if err != nil {
		return err
	}
	s, err := d.KillSession(id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

// hWait long-polls: it answers when the session ends or ?timeout= (a Go
// duration, default 30s, at most 10m) passes, with the session's state.
func (d *Daemon) hWait(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionID(r)
	if err != nil {
		return err
	}
	timeout, err := waitTimeout(r.URL.Query())
	if err != nil {
		return err
	}
	s, err := d.WaitSession(r.Context(), id, timeout)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

// hConsole returns the console from ?offset= (default 0); with
// ?follow=true it streams it until the session ends or the client leaves.
func (d *Daemon) hConsole(w http.ResponseWriter, r *http.Request) error {
	id, err := sessionID(r)
	if err != nil {
		return err
	}
	off, follow, err := consoleQuery(r.URL.Query())
	if err != nil {
		return err
	}
	data, done, more, err := d.Console(id, off)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	for {
		if len(data) > 0 {
			if _, err := w.Write(data); err != nil {
				return nil
			}
			off += int64(len(data))
		}
		switch {
		case len(data) == consoleChunk: // more may be there now
		case !follow || done:
			return nil
		default:
			if fl != nil {
				fl.Flush()
			}
			select {
			case <-more:
			case <-r.Context().Done():
				return nil
			}
		}
		if data, done, more, err = d.Console(id, off); err != nil {
			return nil // deleted meanwhile
		}
	}
}

func (d *Daemon) hInvoke(w http.ResponseWriter, r *http.Request) error {
	accepted := time.Now()
	var req api.Invoke
	if err := decode(w, r, maxBody, &req); err != nil {
		return err
	}
	res, err := d.Invoke(r.Context(), req, accepted)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// hEvents streams events as NDJSON, the kept ones after ?since= first.
// A client too slow to keep up is cut off after an "events.lost" line.
func (d *Daemon) hEvents(w http.ResponseWriter, r *http.Request) error {
	since, err := eventsSince(r.URL.Query())
	if err != nil {
		return err
	}
	backlog, ch := d.events.subscribe(since)
	defer d.events.unsubscribe(ch)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	for _, ev := range backlog {
		if enc.Encode(ev) != nil {
			return nil
		}
	}
	for {
		if fl != nil {
			fl.Flush()
		}
		select {
		case ev, ok := <-ch:
			if !ok {
				if !d.closing.Load() {
					enc.Encode(api.Event{Time: time.Now(), Type: "events.lost", Detail: "the client fell behind; resubscribe with ?since="})
				}
				return nil
			}
			if enc.Encode(ev) != nil {
				return nil
			}
		case <-r.Context().Done():
			return nil
		}
	}
}

// logRequests wraps h with one debug log record per request.
func logRequests(log *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(w, r)
		if log.Enabled(r.Context(), slog.LevelDebug) {
			log.Debug("request", "method", r.Method, "path", r.URL.Path, "took", time.Since(start), "remote", strings.TrimSpace(r.RemoteAddr))
		}
	})
}
