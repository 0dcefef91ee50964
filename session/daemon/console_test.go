package daemon

import (
	"bytes"
	"testing"
)

// TestConsoleChunks: a console reads back in chunks of at most
// consoleChunk bytes that add up to what was kept; the limit drops the
// rest and says so; close completes it.
func TestConsoleChunks(t *testing.T) {
	c := newConsole(3*consoleChunk + 100)
	want := bytes.Repeat([]byte("0123456789abcdef"), (4*consoleChunk)/16)
	for i := 0; i < len(want); i += 1000 {
		c.Write(want[i:min(i+1000, len(want))])
	}
	var got []byte
	for {
		data, done, _ := c.from(int64(len(got)))
		if len(data) > consoleChunk || done {
			t.Fatalf("read of %d bytes, done %v", len(data), done)
		}
		if len(data) == 0 {
			break
		}
		got = append(got, data...)
	}
	if !bytes.Equal(got, want[:3*consoleChunk+100]) {
		t.Errorf("read back %d bytes, want the first %d written", len(got), 3*consoleChunk+100)
	}
	if n, dropped := c.size(); n != 3*consoleChunk+100 || !dropped {
		t.Errorf("size %d, dropped %v", n, dropped)
	}
	c.close()
	if data, done, _ := c.from(1 << 40); data != nil || !done {
		t.Errorf("past the end after close: %d bytes, done %v", len(data), done)
	}
	if data, _, _ := c.from(-5); len(data) != consoleChunk {
		t.Errorf("negative offset: %d bytes", len(data))
	}
}
