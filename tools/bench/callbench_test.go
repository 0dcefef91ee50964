package bench

import (
	"errors"
	"testing"
)

func TestParseBench(t *testing.T) {
	tests := []struct {
		name   string
		out    string
		n, ns  uint64
		failed bool
	}{
		{"calls", "uaaf guest: starting\nBENCH calls 1000 ns 201900000\nuaaf guest: exit 0\n", 1000, 201900000, false},
		{"hypercalls", "BENCH hypercalls 20 ns 334000", 20, 334000, false},
		{"zero operations", "BENCH calls 0 ns 5", 0, 0, true},
		{"not a number", "BENCH calls x ns 5", 0, 0, true},
		{"other word", "BENCH loops 5 ns 5", 0, 0, true},
		{"missing", "FAILURE: call 3: -5\n", 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, ns, err := ParseBench(tc.out)
			if (err != nil) != tc.failed {
				t.Fatalf("error %v, want failure %v", err, tc.failed)
			}
			if err != nil && !errors.Is(err, ErrBench) {
				t.Errorf("error %v does not wrap ErrBench", err)
			}
			if n != tc.n || ns != tc.ns {
				t.Errorf("got %d, %d; want %d, %d", n, ns, tc.n, tc.ns)
			}
		})
	}
}
