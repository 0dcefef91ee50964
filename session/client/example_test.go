package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/uaaf/uaaf/session/api"
	"github.com/uaaf/uaaf/session/client"
)

// A scheduler registers a session image once, then invokes it per request
// and reads the exit status, the output and the start latency. Over the
// daemon's limits it backs off for as long as the daemon says.
//
// The example has no "Output:" comment, so `go test` compiles it but does
// not run it: it needs a running daemon (`uaaf serve`) and the images built
// by `make guest`.
func Example() {
	ctx := context.Background()
	c := client.New("") // $UAAF_SOCKET, else /run/uaaf/uaaf.sock
	defer c.Close()

	// Libraries that sessions import are loaded on demand (or preloaded
	// with LoadLibrary); the image is parsed and laid out once.
	if _, err := c.AddImage(ctx, api.AddImage{Name: "demo", Path: "guest/build/demo.hvt", MemMiB: 8}); err != nil {
		log.Fatal(err) // errors.Is(err, client.ErrNoDaemon): start `uaaf serve`
	}

	for {
		r, err := c.Invoke(ctx, api.Invoke{Image: "demo", Limits: api.Limits{TimeoutMs: 1000}})
		var ae *client.APIError
		if errors.Is(err, client.ErrBusy) && errors.As(err, &ae) {
			time.Sleep(ae.RetryAfter)
			continue
		}
		if err != nil {
			log.Fatal(err)
		}
		if r.State != api.StateExited {
			log.Fatalf("session %d %s: %s", r.ID, r.State, r.Error)
		}
		fmt.Printf("exit status %d, %d bytes of output\n", *r.ExitStatus, len(r.Output))
		fmt.Printf("start %v (queued %v), run %v, total %v, vCPU time %v\n",
			time.Duration(r.Timings.StartNs), time.Duration(r.Timings.QueuedNs),
			time.Duration(r.Timings.RunNs), time.Duration(r.Timings.TotalNs), time.Duration(r.Timings.CPUNs))
		for _, v := range r.Views { // the session's S-F row
			fmt.Printf("  %s#%d: %d calls\n", v.Library, v.Index, v.Calls)
		}
		return
	}
}
