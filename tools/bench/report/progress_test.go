package report

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

func TestProgress(t *testing.T) {
	tests := []struct {
		name string
		tty  bool
	}{
		{"not a terminal: silent", false},
		{"terminal: draws", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := newProgress(&buf, tc.tty, 10, "scale")
			p.Describe("scale uaaf")
			for range 10 {
				p.Add(1)
			}
			p.Finish()
			if !tc.tty && buf.Len() != 0 {
				t.Errorf("silent progress wrote %q", buf.String())
			}
			if tc.tty && (!strings.Contains(buf.String(), "scale") || !strings.Contains(buf.String(), "/10)")) {
				t.Errorf("terminal progress wrote %q, want the description and the count", buf.String())
			}
		})
	}
	var nilP *Progress
	nilP.Add(1)
	nilP.Describe("x")
	nilP.Finish()
}

func TestIsTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	if IsTerminal(w) {
		t.Error("a pipe is not a terminal")
	}
	f, err := os.CreateTemp(t.TempDir(), "f")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if IsTerminal(f) {
		t.Error("a regular file is not a terminal")
	}
}
