package seccomp

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseStatus(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
		err  bool
	}{
		{"filter", "Name:\tuaaf\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n", 2, false},
		{"none", "Name:\tbash\nSeccomp:\t0\nSeccomp_filters:\t0\n", 0, false},
		{"strict", "Seccomp:\t1\n", 1, false},
		{"spaces", "Seccomp:   2   \n", 2, false},
		{"filters line only", "Seccomp_filters:\t1\n", 0, true},
		{"missing", "Name:\tx\n", 0, true},
		{"empty", "", 0, true},
		{"bad value", "Seccomp:\tx\n", 0, true},
		{"out of range", "Seccomp:\t3\n", 0, true},
		{"negative", "Seccomp:\t-1\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatus(strings.NewReader(tt.in))
			if tt.err {
				if !errors.Is(err, ErrStatus) {
					t.Fatalf("parseStatus = %d, %v; want ErrStatus", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseStatus = %d, %v; want %d", got, err, tt.want)
			}
		})
	}
}

// FuzzParseStatus: the /proc status parser returns a seccomp state in range
// or an error wrapping ErrStatus, never a panic.
func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{
		"Seccomp:\t2\n", "Seccomp:\t0\nSeccomp_filters:\t0\n", "Seccomp:", "Seccomp:\t99999999999999999999\n",
		"Name:\tx\nSeccomp:\t1", "\x00Seccomp:\t2",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, err := parseStatus(strings.NewReader(string(b)))
		if err == nil && (n < StateDisabled || n > StateFilter) {
			t.Fatalf("parseStatus(%q) = %d without error", b, n)
		}
		if err != nil && !errors.Is(err, ErrStatus) {
			t.Fatalf("parseStatus(%q): %v does not wrap ErrStatus", b, err)
		}
	})
}

// TestStatusOfThisProcess: the test process itself is not filtered (the
// filtered ones are children, see install_test.go).
func TestStatusOfThisProcess(t *testing.T) {
	st, err := Status(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	self, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	if st != self {
		t.Fatalf("Status = %d, Self = %d", st, self)
	}
	if _, err := Status(-1); err == nil {
		t.Fatal("Status(-1) succeeded")
	}
}
