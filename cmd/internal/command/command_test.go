package command

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{"success", nil, 0, ""},
		{"guest status", &ExitError{Code: 7}, 7, ""},
		{"wrapped guest status", fmt.Errorf("run: %w", &ExitError{Code: 255}), 255, ""},
		{"uaaf error", errors.New("x.hvt: Could not open: no such file or directory"), 1,
			"uaaf: x.hvt: Could not open: no such file or directory\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := ExitCode(tt.err, &stderr); code != tt.code || stderr.String() != tt.stderr {
				t.Errorf("ExitCode = %d, stderr %q; want %d, %q", code, stderr.String(), tt.code, tt.stderr)
			}
		})
	}
}
