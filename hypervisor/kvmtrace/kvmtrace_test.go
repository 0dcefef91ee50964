package kvmtrace

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/monitor"
)

// TestCountsMatchMonitor runs the hello guest and checks the eBPF counts
// against what the monitor itself saw: every exit the monitor handled is a
// kvm_userspace_exit, and every hypercall a kvm_pio. The counts are
// host-wide, so they may only be larger.
func TestCountsMatchMonitor(t *testing.T) {
	kvmtest.Require(t)
	c, err := New(UserspaceExit, PIO, EmulateInsn)
	if errors.Is(err, ErrUnavailable) && !kvmtest.Required() {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var out bytes.Buffer
	m, err := monitor.New(monitor.Config{Kernel: kvmtest.GuestImage(t, "hello"), MemSize: 4 << 20, Args: []string{"Hello_Solo5"}, Console: &out, Log: &out})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	before, err := c.Read()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if st, err := m.Run(ctx); err != nil || st != 0 {
		t.Fatalf("hello: %d %v", st, err)
	}
	after, err := c.Read()
	if err != nil {
		t.Fatal(err)
	}
	st := m.Stats()
	var hypercalls uint64
	for _, n := range st.Hypercalls {
		hypercalls += n
	}
	exits := after[UserspaceExit] - before[UserspaceExit]
	pio := after[PIO] - before[PIO]
	if exits < st.Exits {
		t.Errorf("kvm_userspace_exit counted %d, the monitor handled %d exits", exits, st.Exits)
	}
	if pio < hypercalls {
		t.Errorf("kvm_pio counted %d, the monitor served %d hypercalls", pio, hypercalls)
	}
	t.Logf("hello: %d exits (monitor %d), %d pio, %d emulated instructions",
		exits, st.Exits, pio, after[EmulateInsn]-before[EmulateInsn])
}

// TestUnknownEvent checks that a bad event name fails cleanly, releasing
// what was already attached.
func TestUnknownEvent(t *testing.T) {
	c, err := New(UserspaceExit, "no_such_kvm_event")
	if err == nil {
		c.Close()
		t.Fatal("attaching an unknown tracepoint succeeded")
	}
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("err = %v, want ErrUnavailable", err)
	}
}
