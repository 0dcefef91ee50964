package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/session/api"
)

// fuzzMaxConsole is the daemon's console bound in the fuzz target.
const fuzzMaxConsole = 1 << 20

// decoders are, per route ("METHOD PATH"), the steps its handler takes on
// the request before the daemon acts on it (after checkQuery, which every
// route runs): the same functions, in the same order. Each returns what it
// accepted, which the fuzz target checks and encodes again.
var decoders = map[string]func(w http.ResponseWriter, r *http.Request) (any, error){
	"GET /healthz":         nothing,
	"GET /version":         nothing,
	"GET /metrics":         nothing,
	"GET /v1/openapi.json": nothing,
	"GET /v1/libraries":    nothing,
	"POST /v1/libraries": func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req api.LoadLibrary
		if err := decode(w, r, maxSmallBody, &req); err != nil {
			return nil, err
		}
		return req, checkLoadLibrary(req)
	},
	"GET /v1/libraries/{name}":        name,
	"DELETE /v1/libraries/{name}":     name,
	"PUT /v1/libraries/{name}/pin":    bodilessName,
	"DELETE /v1/libraries/{name}/pin": bodilessName,
	"GET /v1/images":                  nothing,
	"POST /v1/images": func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req api.AddImage
		if err := decode(w, r, maxSmallBody, &req); err != nil {
			return nil, err
		}
		mem, err := checkAddImage(req, hvt.DefaultMemoryMiB)
		if err == nil && (mem < 2 || mem > hvt.MaxMemory>>20 || req.MemMiB != 0 && mem != req.MemMiB) {
			return nil, errors.New("checkAddImage accepted a memory size out of range")
		}
		return req, err
	},
	"GET /v1/images/{name}":    name,
	"DELETE /v1/images/{name}": name,
	"GET /v1/sessions":         nothing,
	"POST /v1/sessions": func(w http.ResponseWriter, r *http.Request) (any, error) {
		var spec api.SessionSpec
		if err := decode(w, r, maxBody, &spec); err != nil {
			return nil, err
		}
		return spec, checkSpec(spec, fuzzMaxConsole)
	},
	"GET /v1/sessions/{id}":        id,
	"DELETE /v1/sessions/{id}":     id,
	"POST /v1/sessions/{id}/start": bodilessID,
	"POST /v1/sessions/{id}/kill":  bodilessID,
	"GET /v1/sessions/{id}/wait": func(w http.ResponseWriter, r *http.Request) (any, error) {
		if _, err := sessionID(r); err != nil {
			return nil, err
		}
		t, err := waitTimeout(r.URL.Query())
		if err == nil && (t < 0 || t > maxWait) {
			return nil, errors.New("waitTimeout accepted a timeout out of range")
		}
		return nil, err
	},
	"GET /v1/sessions/{id}/console": func(w http.ResponseWriter, r *http.Request) (any, error) {
		if _, err := sessionID(r); err != nil {
			return nil, err
		}
		off, _, err := consoleQuery(r.URL.Query())
		if err == nil && off < 0 {
			return nil, errors.New("consoleQuery accepted a negative offset")
		}
		return nil, err
	},
	"POST /v1/invoke": func(w http.ResponseWriter, r *http.Request) (any, error) {
		var req api.Invoke
		if err := decode(w, r, maxBody, &req); err != nil {
			return nil, err
		}
		if err := checkInvoke(req); err != nil {
			return nil, err
		}
		return req, checkSpec(api.SessionSpec{Image: req.Image, Args: req.Args, MemMiB: req.MemMiB, Input: req.Input, Limits: req.Limits, Libraries: req.Libraries}, fuzzMaxConsole)
	},
	"GET /v1/residency": func(_ http.ResponseWriter, r *http.Request) (any, error) { return nil, noBody(r) },
	"GET /v1/events": func(w http.ResponseWriter, r *http.Request) (any, error) {
		_, err := eventsSince(r.URL.Query())
		return nil, err
	},
}

func nothing(http.ResponseWriter, *http.Request) (any, error) { return nil, nil }

// name: the handler passes {name} to a lookup as it is.
func name(http.ResponseWriter, *http.Request) (any, error) { return nil, nil }

func bodilessName(_ http.ResponseWriter, r *http.Request) (any, error) { return nil, noBody(r) }

func id(_ http.ResponseWriter, r *http.Request) (any, error) {
	_, err := sessionID(r)
	return nil, err
}

func bodilessID(_ http.ResponseWriter, r *http.Request) (any, error) {
	if err := noBody(r); err != nil {
		return nil, err
	}
	_, err := sessionID(r)
	return nil, err
}

// TestDecodersCoverRoutes: the fuzz target knows every route the daemon
// serves, and no route it does not.
func TestDecodersCoverRoutes(t *testing.T) {
	seen := map[string]bool{}
	for _, rt := range Routes() {
		key := rt.Method + " " + rt.Path
		seen[key] = true
		if decoders[key] == nil {
			t.Errorf("route %s has no decoder in decode_fuzz_test.go: add the steps its handler takes", key)
		}
	}
	for key := range decoders {
		if !seen[key] {
			t.Errorf("decoder for %s, which is not a route", key)
		}
	}
}

// FuzzRequest sends a fuzzed request — a route, its path value, a raw
// query and a body — through the decoding its handler does: checkQuery,
// then the route's body decoding and value checks. Nothing may panic; an
// error is the request's fault (ErrInvalid, ErrNotFound for a session id
// that is not one, or a body over its limit) on one line; what is accepted
// is within the API's bounds and encodes to JSON that decodes, through the
// same steps, to the same value.
func FuzzRequest(f *testing.F) {
	idx := func(method, path string) uint8 {
		for i, rt := range routes {
			if rt.Method == method && rt.Path == path {
				return uint8(i)
			}
		}
		f.Fatalf("no route %s %s", method, path)
		return 0
	}
	inv, ses := idx("POST", "/v1/invoke"), idx("POST", "/v1/sessions")
	f.Add(inv, "", "", []byte(`{"image":"demo","args":["a","b"],"mem_mib":8,"input":"aGVsbG8=","limits":{"timeout_ms":100,"call_timeout_ms":10,"max_console_bytes":4096},"deadline_ms":5}`))
	f.Add(inv, "", "", []byte(`{"image":"demo","limits":{"timeout_ms":9223372036855}}`))
	f.Add(inv, "", "", []byte(`{"image":"demo","deadline_ms":-1}`))
	f.Add(inv, "", "", []byte(`{"image":"demo"} {}`))
	f.Add(inv, "", "", []byte(`{"image":"demo","input":"!!"}`))
	f.Add(inv, "", "x=1", []byte(`{}`))
	f.Add(ses, "", "", []byte(`{"image":"/a/b.hvt","start":true,"limits":{"max_console_bytes":1048577}}`))
	f.Add(ses, "", "", []byte(`{"image":"x","mem_mib":-2,"args":["\u0000"]}`))
	f.Add(ses, "", "", []byte(`{"image":"x","libraries":{"sha256":"tenant_a_sha256","crc32":"9bad"}}`))
	f.Add(idx("POST", "/v1/libraries"), "", "", []byte(`{"name":"sha256","path":"/l/sha256.hvt","pin":true}`))
	f.Add(idx("POST", "/v1/libraries"), "", "", []byte(`{"name":"9x","path":""}`))
	f.Add(idx("POST", "/v1/images"), "", "", []byte(`{"name":"demo","path":"d.hvt","mem_mib":4097}`))
	f.Add(idx("POST", "/v1/images"), "", "", []byte(`{"name":"a.hvt","path":"d.hvt"}`))
	f.Add(idx("GET", "/v1/sessions/{id}/wait"), "7", "timeout=1m", []byte{})
	f.Add(idx("GET", "/v1/sessions/{id}/wait"), "7", "timeout=-1s&timeout=2s", []byte{})
	f.Add(idx("GET", "/v1/sessions/{id}/console"), "18446744073709551615", "follow=true&offset=12", []byte{})
	f.Add(idx("GET", "/v1/sessions/{id}/console"), "0", "offset=-1", []byte{})
	f.Add(idx("POST", "/v1/sessions/{id}/kill"), "1", "", []byte("x"))
	f.Add(idx("PUT", "/v1/libraries/{name}/pin"), "sha256", "", []byte{})
	f.Add(idx("GET", "/v1/events"), "", "since=18446744073709551616", []byte{})
	f.Add(idx("GET", "/healthz"), "", "%zz", []byte{})
	f.Fuzz(func(t *testing.T, route uint8, pathValue, rawQuery string, body []byte) {
		rt := routes[int(route)%len(routes)]
		dec := decoders[rt.Method+" "+rt.Path]
		r := httptest.NewRequest(rt.Method, "/", bytes.NewReader(body))
		r.URL.RawQuery = rawQuery
		for _, p := range []string{"name", "id"} {
			if strings.Contains(rt.Path, "{"+p+"}") {
				r.SetPathValue(p, pathValue)
			}
		}
		w := httptest.NewRecorder()
		v, err := decodeRoute(rt, dec, w, r)
		if err != nil {
			var mbe *http.MaxBytesError
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrNotFound) && !errors.As(err, &mbe) {
				t.Fatalf("%s %s: error %v (%T) is not the request's fault", rt.Method, rt.Path, err, err)
			}
			if msg := message(err); msg == "" || strings.Contains(msg, "\n") {
				t.Fatalf("%s %s: error %q is not one non-empty line", rt.Method, rt.Path, msg)
			}
			return
		}
		if v == nil {
			return
		}
		checkAccepted(t, v)
		// What was accepted, encoded again, is accepted again as the same.
		again, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("%s %s: accepted %#v does not encode: %v", rt.Method, rt.Path, v, err)
		}
		r2 := httptest.NewRequest(rt.Method, "/", bytes.NewReader(again))
		v2, err := decodeRoute(rt, dec, httptest.NewRecorder(), r2)
		if err != nil {
			t.Fatalf("%s %s: accepted %s, refused it encoded again: %v", rt.Method, rt.Path, body, err)
		}
		if third, _ := json.Marshal(v2); !bytes.Equal(third, again) {
			t.Fatalf("%s %s: round trip changed the request:\n %s\n %s", rt.Method, rt.Path, again, third)
		}
	})
}

// decodeRoute runs what Handler runs for rt before the handler, then the
// route's decoder.
func decodeRoute(rt Route, dec func(http.ResponseWriter, *http.Request) (any, error), w http.ResponseWriter, r *http.Request) (any, error) {
	if err := checkQuery(r, rt.query); err != nil {
		return nil, err
	}
	return dec(w, r)
}

// checkAccepted checks an accepted body against the API's bounds.
func checkAccepted(t *testing.T, v any) {
	t.Helper()
	var input []byte
	var lim api.Limits
	var mem int
	switch v := v.(type) {
	case api.SessionSpec:
		input, lim, mem = v.Input, v.Limits, v.MemMiB
	case api.Invoke:
		input, lim, mem = v.Input, v.Limits, v.MemMiB
		if v.DeadlineMs < 0 || v.DeadlineMs > api.MaxMs {
			t.Fatalf("accepted deadline_ms %d", v.DeadlineMs)
		}
		if d := time.Duration(v.DeadlineMs) * time.Millisecond; d < 0 {
			t.Fatalf("deadline_ms %d overflows", v.DeadlineMs)
		}
	case api.LoadLibrary:
		if v.Name == "" || v.Path == "" || len(v.Name) > 31 {
			t.Fatalf("accepted library %+v", v)
		}
		return
	case api.AddImage:
		if v.Name == "" || v.Path == "" || looksLikePath(v.Name) {
			t.Fatalf("accepted image %+v", v)
		}
		return
	default:
		t.Fatalf("accepted a %T", v)
	}
	if len(input) > api.MaxInput || mem < 0 {
		t.Fatalf("accepted input of %d bytes, mem_mib %d", len(input), mem)
	}
	for _, ms := range []int64{lim.TimeoutMs, lim.CallTimeoutMs} {
		if ms < 0 || time.Duration(ms)*time.Millisecond < 0 {
			t.Fatalf("accepted limits %+v: a duration out of range", lim)
		}
	}
	if lim.MaxConsoleBytes < 0 || lim.MaxConsoleBytes > fuzzMaxConsole {
		t.Fatalf("accepted max_console_bytes %d over the daemon's %d", lim.MaxConsoleBytes, fuzzMaxConsole)
	}
}
