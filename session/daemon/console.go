package daemon

import "sync"

// console keeps a session's console output, up to a limit, for readers that
// read it whole or follow it as it grows. Write never fails (a guest's PUTS
// result is ignored, as in solo5-hvt); output beyond the limit is dropped
// and counted. Safe for concurrent use: the vCPU thread writes, HTTP
// handlers read.
type console struct {
	mu      sync.Mutex
	buf     []byte
	max     int64
	dropped int64
	closed  bool
	changed chan struct{} // closed (and replaced) on every write and on close
}

func newConsole(max int64) *console {
	return &console{max: max, changed: make(chan struct{})}
}

func (c *console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	keep := int64(len(p))
	if room := c.max - int64(len(c.buf)); keep > room {
		keep = max(room, 0)
	}
	c.buf = append(c.buf, p[:keep]...)
	c.dropped += int64(len(p)) - keep
	if keep > 0 {
		close(c.changed)
		c.changed = make(chan struct{})
	}
	return len(p), nil
}

// close marks the output complete: followers stop once they have read it.
func (c *console) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.changed)
	}
}

// consoleChunk bounds what one read of a console copies: a request for a
// console holds at most this much of it at a time, however many readers
// are slow.
const consoleChunk = 64 << 10

// from returns at most consoleChunk bytes of the output from offset off on,
// whether the output is complete, and a channel closed when there is more
// (or it completes). A full chunk means more may be there at once.
func (c *console) from(off int64) (data []byte, done bool, more <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if off < int64(len(c.buf)) {
		end := min(int64(len(c.buf)), max(off, 0)+consoleChunk)
		data = append([]byte(nil), c.buf[max(off, 0):end]...)
	}
	return data, c.closed, c.changed
}

// size returns the bytes kept and whether any were dropped.
func (c *console) size() (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.buf)), c.dropped > 0
}

// String returns the whole output kept.
func (c *console) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.buf)
}
