package monitor

import (
	"errors"
	"strings"
	"testing"
)

// TestCmdline: the arguments are joined with spaces; a command line that
// does not fit and an argument holding a NUL byte are usage errors.
func TestCmdline(t *testing.T) {
	tests := []struct {
		args []string
		want string
		err  string
	}{
		{args: nil, want: ""},
		{args: []string{"a", "b c"}, want: "a b c"},
		{args: []string{strings.Repeat("x", 8191)}, want: strings.Repeat("x", 8191)},
		{args: []string{strings.Repeat("x", 8192)}, err: "Guest command line too long (max=8191 characters)"},
		{args: []string{"ok", "a\x00b"}, err: "guest argument 2 contains a NUL byte"},
		{args: []string{"\x00"}, err: "guest argument 1 contains a NUL byte"},
	}
	for _, tt := range tests {
		m := &Monitor{cfg: Config{Args: tt.args}}
		got, err := m.cmdline()
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("cmdline(%.20q) = %.20q, %v; want %.20q", tt.args, got, err, tt.want)
		case tt.err != "" && (err == nil || err.Error() != tt.err || !errors.Is(err, ErrUsage)):
			t.Errorf("cmdline(%.20q) error %v; want %q (ErrUsage)", tt.args, err, tt.err)
		}
	}
}
