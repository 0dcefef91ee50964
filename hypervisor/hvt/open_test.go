package hvt

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestOpen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "image.hvt")
	if err := os.WriteFile(file, []byte("\x7fELF"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		fails      bool
		want       error // what a failure must wrap, if anything particular
	}{
		{"regular file", file, false, nil},
		{"missing", filepath.Join(dir, "missing.hvt"), true, fs.ErrNotExist},
		{"file as directory", filepath.Join(file, "x"), true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Open(tt.path)
			if !tt.fails {
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				b := make([]byte, 4)
				if _, err := f.ReadAt(b, 0); err != nil || string(b) != "\x7fELF" {
					t.Errorf("ReadAt = %q, %v", b, err)
				}
				if f.Name() != tt.path {
					t.Errorf("Name = %q", f.Name())
				}
				return
			}
			var pe *os.PathError
			if err == nil || !errors.As(err, &pe) || pe.Path != tt.path || pe.Op != "open" {
				t.Fatalf("err = %v, want an *os.PathError for open %s", err, tt.path)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
