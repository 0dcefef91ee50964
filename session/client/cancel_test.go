package client_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
	"github.com/uaaf/uaaf/session/client/clienttest"
	"github.com/uaaf/uaaf/session/daemon"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// fdList names this process's open files, for a failure message.
func fdList() string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var names []string
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		names = append(names, e.Name()+"="+target)
	}
	return strings.Join(names, " ")
}

// TestCancel abandons a long poll and two streams by cancelling their
// contexts, and checks that each returns the context's error and that the
// goroutines and file descriptors of both ends (client and daemon share
// this process) come back to what they were.
func TestCancel(t *testing.T) {
	srv := clienttest.Start(t, daemon.Options{})
	c := client.New(srv.Socket)
	defer c.Close()
	bg, stop := context.WithTimeout(context.Background(), time.Minute)
	defer stop()
	spin, err := c.CreateSession(bg, api.SessionSpec{Image: kvmtest.GuestImage(t, "spin"), Start: true})
	if err != nil {
		t.Fatal(err)
	}
	// Let the pool refill after the spinning session took its VM.
	for {
		m, err := c.Metrics(bg)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m, "\nuaaf_pool_ready 2\n") {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The baseline: no connection open (the server side of the ones just
	// closed may take a moment to go).
	c.Close()
	baseG, baseFD := settle(t, c)

	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, cancel context.CancelFunc) error
	}{
		{"wait", func(ctx context.Context, cancel context.CancelFunc) error {
			ctx, stop := context.WithTimeout(ctx, 100*time.Millisecond)
			defer stop()
			s, err := c.WaitSession(ctx, spin.ID, time.Minute)
			if err == nil {
				t.Errorf("WaitSession returned %+v before its context ended", s)
			}
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("WaitSession: %v, want the context's deadline", err)
			}
			return err
		}},
		{"events", func(ctx context.Context, cancel context.CancelFunc) error {
			es, err := c.Events(ctx, 0)
			if err != nil {
				return err
			}
			defer es.Close()
			if !es.Next() {
				t.Errorf("no event: %v", es.Err())
			}
			cancel()
			for es.Next() { // what was read ahead, then the end
			}
			return es.Err()
		}},
		{"console", func(ctx context.Context, cancel context.CancelFunc) error {
			rc, err := c.Console(ctx, spin.ID, 0, true)
			if err != nil {
				return err
			}
			defer rc.Close()
			br := bufio.NewReader(rc)
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					t.Fatalf("console: %q, %v", line, err)
				}
				if line == "spin: spinning\n" {
					break
				}
			}
			cancel()
			_, err = rc.Read(make([]byte, 1))
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			err := tc.run(ctx, cancel)
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("after cancel: %v, want the context's error", err)
			}
			// Idle connections are fine; a connection still in use is not.
			var g, fd int
			for range 500 {
				c.Close()
				if g, fd = runtime.NumGoroutine(), openFDs(t); g <= baseG+1 && fd <= baseFD {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
			buf := make([]byte, 1<<20)
			t.Errorf("goroutines %d (were %d), fds %d (were %d): %s\n%s", g, baseG, fd, baseFD, fdList(), buf[:runtime.Stack(buf, true)])
		})
	}

	// The session spun through all of it.
	if s, err := c.KillSession(bg, spin.ID); err != nil {
		t.Fatal(err)
	} else if s, err = c.WaitSession(bg, s.ID, 10*time.Second); err != nil || s.State != api.StateKilled || s.Error != "killed" {
		t.Errorf("killed spin: %+v, %v", s, err)
	}
}

// settle returns the goroutine and fd counts once they have not changed
// for half a second (the daemon's pool may still be making VMs in the
// background for a while on a busy machine).
func settle(t *testing.T, c *client.Client) (goroutines, fds int) {
	t.Helper()
	same := 0
	for range 3000 {
		g, fd := runtime.NumGoroutine(), openFDs(t)
		if g == goroutines && fd == fds {
			if same++; same == 100 {
				return g, fd
			}
		} else {
			goroutines, fds, same = g, fd, 0
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("goroutines and fds never settled: %d, %d", goroutines, fds)
	return 0, 0
}
