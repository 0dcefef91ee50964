package client

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAPIError(t *testing.T) {
	for _, tc := range []struct {
		status int
		msg    string
		text   string
		is     error
	}{
		{400, `unknown field "x"`, `invalid request: unknown field "x"`, ErrInvalid},
		{401, "missing or wrong bearer token", "unauthorized: missing or wrong bearer token", ErrUnauthorized},
		{404, "session 7", "not found: session 7", ErrNotFound},
		{409, "library in use", "conflict: library in use", ErrConflict},
		{413, "http: request body too large", "request too large: http: request body too large", ErrTooLarge},
		{429, "at capacity", "busy: at capacity", ErrBusy},
		{503, "shutting down", "unavailable: shutting down", ErrUnavailable},
		{500, "KVM: out of memory", "daemon error: KVM: out of memory", nil},
		{418, "", "i'm a teapot", nil},
		{599, "x", "HTTP status 599: x", nil},
	} {
		e := &APIError{Status: tc.status, Message: tc.msg}
		if e.Error() != tc.text {
			t.Errorf("%d %q: Error() = %q, want %q", tc.status, tc.msg, e.Error(), tc.text)
		}
		for s := range statusSentinel {
			if got := errors.Is(e, s); got != (s == tc.is) {
				t.Errorf("%d: errors.Is(%v) = %v", tc.status, s, got)
			}
		}
		if errors.Is(e, ErrNoDaemon) {
			t.Errorf("%d matches ErrNoDaemon", tc.status)
		}
	}
}

func TestReadAPIError(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		status int
		header string
		body   string
		msg    string
		retry  time.Duration
	}{
		{429, "1", `{"error": "at capacity"}`, "at capacity", time.Second},
		{503, "5", "{\n  \"error\": \"shutting down\"\n}\n", "shutting down", 5 * time.Second},
		{503, now.Add(90 * time.Second).Format(http.TimeFormat), `{"error":"x"}`, "x", 90 * time.Second},
		{503, now.Add(-time.Minute).Format(http.TimeFormat), `{"error":"x"}`, "x", 0},
		{429, "soon", `{"error":"x"}`, "x", 0},
		{429, "-1", `{"error":"x"}`, "x", 0},
		{502, "", "Bad Gateway", "Bad Gateway", 0},
		{502, "", "<html>\n<body>proxy</body>\n</html>", "", 0},
		{404, "", "", "", 0},
	} {
		resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
		if tc.header != "" {
			resp.Header.Set("Retry-After", tc.header)
		}
		err := readAPIError(resp)
		var ae *APIError
		if !errors.As(err, &ae) || ae.Status != tc.status || ae.Message != tc.msg {
			t.Errorf("%d %q: %#v", tc.status, tc.body, err)
			continue
		}
		if got := parseRetryAfter(tc.header, now); got != tc.retry {
			t.Errorf("Retry-After %q: %v, want %v", tc.header, got, tc.retry)
		}
	}
}

// FuzzParseRetryAfter: any header value gives a delay that is not
// negative, without panicking.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "1", "120", "-3", "99999999999999999999", "Sun, 06 Dec 2026 12:01:30 GMT", "Sunday, 06-Dec-26 12:01:30 GMT", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 {
			t.Errorf("%q: %v", v, d)
		}
	})
}
