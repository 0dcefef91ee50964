package switcher

import (
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
	"github.com/uaaf/uaaf/libfuncs/libvm"
)

// Outcomes of a fuzzed call into a fake instance.
const (
	outOK = iota
	outFault
	outDeadline
	outHostErr
	outNoStart
	outStop // Stop the backend before the call
	nOutcomes
)

// scriptCallee is a fake instance whose calls end as the script says.
type scriptCallee struct {
	next   *int
	closed bool
	enters uint64
}

func (c *scriptCallee) Enter(time.Time) error {
	c.enters++
	switch *c.next {
	case outFault:
		return &monitor.GuestError{Msg: "library lib: trap"}
	case outDeadline:
		return monitor.ErrDeadline
	case outHostErr:
		return errors.New("KVM_RUN: EIO")
	}
	return nil
}
func (c *scriptCallee) Stop()         {}
func (c *scriptCallee) Exits() uint64 { return c.enters }
func (c *scriptCallee) Close() error  { c.closed = true; return nil }

// FuzzSwitch drives the exit backend — what serves a session's OUT to the
// switch port, whose value the guest chooses freely — with a fuzzed
// sequence of (view index, outcome) pairs over three library views. After
// every switch: an index that names no view gets UAAF_ENOENT; a call that
// ended well leaves the callee's result in the call area and no verdict; a
// fault, a missed deadline, a host error or an instance that cannot start
// gets its code as the monitor's verdict (in the view data page) and in the
// call area; a stopped backend refuses calls with vcpu.ErrStopped. The S-F
// counters add up, broken instances are closed, and Close closes the rest.
func FuzzSwitch(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, outOK, 2, 0, 0, 0, outFault, 2, 0, 0, 0, outOK})
	f.Add([]byte{0, 0, 0, 0, outOK, 4, 0, 0, 0, outOK, 0xff, 0xff, 0xff, 0xff, outOK})
	f.Add([]byte{3, 0, 0, 0, outDeadline, 3, 0, 0, 0, outNoStart, 3, 0, 0, 0, outHostErr})
	f.Add([]byte{1, 0, 0, 0, outOK, 1, 0, 0, 0, outStop, 9, 0, 0, 0, outOK})
	f.Fuzz(func(t *testing.T, script []byte) {
		const nViews = 3
		const result = uaafabi.Status(4242) // what a callee writes on success
		area, vd := make([]byte, uaafabi.CallSize), make([]byte, 4096)
		libs := make([]*libvm.Library, nViews)
		for i := range libs {
			libs[i] = &libvm.Library{Name: "lib"}
		}
		sb, err := New(nil, Config{Libraries: libs, CallArea: area, ViewData: vd, Console: io.Discard, Log: io.Discard})
		if err != nil {
			t.Fatal(err)
		}
		b := sb.(*exitBackend)
		outcome := outOK
		var made []*scriptCallee
		b.newInstance = func(*libvm.Library, Config) (callee, error) {
			if outcome == outNoStart {
				return nil, errors.New("no memory")
			}
			c := &scriptCallee{next: &outcome}
			made = append(made, c)
			return c, nil
		}
		var want Stats
		stopped := false
		for ; len(script) >= 5; script = script[5:] {
			index := binary.LittleEndian.Uint32(script)
			outcome = int(script[4]) % nOutcomes
			if outcome == outStop {
				b.Stop()
				stopped, outcome = true, outOK
			}
			// The guest clears the verdict; a callee that returns well
			// leaves its result in the call area.
			uaafabi.PutVerdict(vd, 0)
			uaafabi.PutStatus(area, result)
			valid := index >= 1 && index <= nViews
			err := b.Switch(index)
			verdict := uaafabi.Status(binary.LittleEndian.Uint32(vd[uaafabi.OffVDVerdict:]))
			status := uaafabi.ReadStatus(area)
			want.Calls++
			var code uaafabi.Status
			switch {
			case !valid:
				want.BadIndex++
				code = uaafabi.ENoEnt
			case outcome == outNoStart && b.views[index-1].inst == nil:
				want.Unavailable++
				code = uaafabi.EUnavail
			case stopped:
				if !errors.Is(err, vcpu.ErrStopped) {
					t.Fatalf("switch to view %d after Stop: %v, want ErrStopped", index, err)
				}
				continue
			case outcome == outFault, outcome == outHostErr:
				want.Faults++
				code = uaafabi.EFault
			case outcome == outDeadline:
				want.Timeouts++
				code = uaafabi.ETimedOut
			}
			if err != nil {
				t.Fatalf("switch to %d (outcome %d): %v; a callee's fate is a status", index, outcome, err)
			}
			if code == 0 {
				if verdict != 0 || status != result {
					t.Fatalf("call to view %d ended well, but verdict %v, status %v", index, verdict, status)
				}
			} else if verdict != code || status != code {
				t.Fatalf("switch to %d (outcome %d): verdict %v, status %v; want %v", index, outcome, verdict, status, code)
			}
			if got := b.Stats(); got != want {
				t.Fatalf("stats %+v, want %+v", got, want)
			}
		}
		var calls, faults uint64
		live := 0
		for _, v := range b.Views() {
			calls += v.Calls
			faults += v.Faults
			if v.Instance == "live" {
				live++
			}
		}
		st := b.Stats()
		if calls != st.Calls-st.BadIndex || faults != st.Faults+st.Timeouts {
			t.Fatalf("views count %d calls, %d faults; stats %+v", calls, faults, st)
		}
		open := 0
		for _, c := range made {
			if !c.closed {
				open++
			}
		}
		if open != live {
			t.Fatalf("%d instances open, %d views live: broken instances must be closed", open, live)
		}
		b.Close()
		for _, c := range made {
			if !c.closed {
				t.Fatal("Close left an instance open")
			}
		}
	})
}
