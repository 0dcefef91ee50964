package seccomp

import (
	"errors"
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	tests := []struct {
		in   string
		want Mode
		ok   bool
	}{
		{"kill", Kill, true},
		{"log", Log, true},
		{"off", Off, true},
		{"", "", false},
		{"KILL", "", false},
		{" kill", "", false},
		{"allow", "", false},
		{"trap", "", false},
	}
	for _, tt := range tests {
		got, err := ParseMode(tt.in)
		if tt.ok {
			if err != nil || got != tt.want {
				t.Errorf("ParseMode(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			continue
		}
		if !errors.Is(err, ErrMode) {
			t.Errorf("ParseMode(%q) = %q, %v; want ErrMode", tt.in, got, err)
			continue
		}
		for _, v := range []string{"kill", "log", "off"} {
			if !strings.Contains(err.Error(), v) {
				t.Errorf("ParseMode(%q) error %q does not name %q", tt.in, err, v)
			}
		}
	}
}
