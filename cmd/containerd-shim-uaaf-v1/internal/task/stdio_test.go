package task

import (
	"context"
	"io"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/fifo"
)

// TestUnread: the shim can see how much of its output the reader of a FIFO
// has not taken yet, which closeOutput waits on.
func TestUnread(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out")
	r, err := fifo.OpenFifo(ctx, path, syscall.O_RDONLY|syscall.O_CREAT|syscall.O_NONBLOCK, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := fifo.OpenFifo(ctx, path, syscall.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := io.WriteString(w, "0123456789"); err != nil {
		t.Fatal(err)
	}
	if n, err := unread(w); err != nil || n != 10 {
		t.Fatalf("unread before reading: %d, %v; want 10", n, err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatal(err)
	}
	if n, err := unread(w); err != nil || n != 6 {
		t.Fatalf("unread after reading 4: %d, %v; want 6", n, err)
	}
	rest := make([]byte, 6)
	if _, err := io.ReadFull(r, rest); err != nil {
		t.Fatal(err)
	}
	if n, err := unread(w); err != nil || n != 0 {
		t.Fatalf("unread after reading all: %d, %v", n, err)
	}
}

// TestReaderGone: the shim sees when nobody reads a FIFO any more, so that
// closeOutput does not wait for output nobody will take.
func TestReaderGone(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "out")
	r, err := fifo.OpenFifo(ctx, path, syscall.O_RDONLY|syscall.O_CREAT|syscall.O_NONBLOCK, 0o700)
	if err != nil {
		t.Fatal(err)
	}
	w, err := fifo.OpenFifo(ctx, path, syscall.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := io.WriteString(w, "unread"); err != nil {
		t.Fatal(err)
	}
	if readerGone(w) {
		t.Fatal("readerGone with the reader open")
	}
	r.Close()
	if !readerGone(w) {
		t.Fatal("readerGone false after the reader closed")
	}
	if n, err := unread(w); err != nil || n != 6 {
		t.Errorf("unread = %d, %v: the data stays in the pipe", n, err)
	}
	done := make(chan struct{})
	go func() { waitDrained(w, time.Now().Add(time.Hour)); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("waitDrained waits for a reader that is gone")
	}
}
