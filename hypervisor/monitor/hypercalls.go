package monitor

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// hypercallFunc serves one hypercall. gpa is the guest's (untrusted) argument
// pointer. A non-nil error ends the guest.
type hypercallFunc func(m *Monitor, gpa uint64) error

// registerHypercalls fills the hypercall table the way solo5-hvt's modules
// do: the core calls always, block calls only when a block device was
// attached, net calls only when a net device was. Any other number is an
// invalid hypercall.
func (m *Monitor) registerHypercalls() {
	m.handlers[hvt.HypercallWalltime] = (*Monitor).hcWalltime
	m.handlers[hvt.HypercallPuts] = (*Monitor).hcPuts
	m.handlers[hvt.HypercallPoll] = (*Monitor).hcPoll
	m.handlers[hvt.HypercallHalt] = (*Monitor).hcHalt
	if len(m.cfg.Blocks) > 0 {
		m.handlers[hvt.HypercallBlockWrite] = (*Monitor).hcBlockWrite
		m.handlers[hvt.HypercallBlockRead] = (*Monitor).hcBlockRead
	}
	if len(m.cfg.Nets) > 0 {
		m.handlers[hvt.HypercallNetWrite] = (*Monitor).hcNetWrite
		m.handlers[hvt.HypercallNetRead] = (*Monitor).hcNetRead
	}
}

// guestSlice checks a guest pointer the monitor only reads through and turns
// a bad one into the fatal GuestError solo5-hvt gives.
func (m *Monitor) guestSlice(what string, gpa, size uint64) ([]byte, error) {
	return m.guestBuf(what, gpa, size, false)
}

// guestSliceW is guestSlice for memory the monitor writes: it must also lie
// outside the pages the host made read-only.
func (m *Monitor) guestSliceW(what string, gpa, size uint64) ([]byte, error) {
	return m.guestBuf(what, gpa, size, true)
}

// guestBuf checks the size bytes at gpa; hostWrites says whether the monitor
// will write them (a result, or a buffer a read fills).
func (m *Monitor) guestBuf(what string, gpa, size uint64, hostWrites bool) ([]byte, error) {
	var ro []hvt.Range
	if hostWrites {
		ro = m.ro
	}
	b, err := m.mem.SliceW(gpa, size, ro)
	if err != nil {
		return nil, m.guestFault("%s: %v", what, err)
	}
	return b, nil
}

// hcWalltime writes the wall clock time into the guest's result.
func (m *Monitor) hcWalltime(gpa uint64) error {
	b, err := m.guestSliceW("WALLTIME", gpa, hvt.SizeWalltime)
	if err != nil {
		return err
	}
	binary.LittleEndian.PutUint64(b[hvt.OffWalltimeNsecs:], uint64(time.Now().UnixNano()))
	return nil
}

// hcPuts writes the guest's bytes to the console in one write whose result
// is ignored (as solo5-hvt: a closed stdout must not kill the guest).
func (m *Monitor) hcPuts(gpa uint64) error {
	b, err := m.guestSlice("PUTS", gpa, hvt.SizePuts)
	if err != nil {
		return err
	}
	p := hvt.DecodePuts(b)
	data, err := m.guestSlice("PUTS", p.Data, p.Len)
	if err != nil {
		return err
	}
	_, _ = m.console.Write(data)
	return nil
}

// hcPoll waits until a net device is readable or the relative timeout
// passes, and reports the ready devices by manifest index.
func (m *Monitor) hcPoll(gpa uint64) error {
	b, err := m.guestSliceW("POLL", gpa, hvt.SizePoll)
	if err != nil {
		return err
	}
	timeout := hvt.DecodePoll(b).TimeoutNsecs
	if timeout > math.MaxInt64 {
		timeout = math.MaxInt64
	}
	deadline := time.Now().Add(time.Duration(timeout))
	fds := m.pollFDs
	for {
		for i := range fds {
			fds[i].Revents = 0
		}
		left := max(time.Until(deadline), 0)
		ts := unix.NsecToTimespec(int64(left))
		_, err := unix.Ppoll(fds, &ts, nil)
		if m.vcpu.Stopped() {
			return vcpu.ErrStopped
		}
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return &Error{Kind: ErrHost, Msg: "poll: " + err.Error(), Err: err}
		}
		break
	}
	var ready uint64
	var n int32
	for i, idx := range m.pollIndex {
		if fds[i].Revents&unix.POLLIN != 0 {
			ready |= 1 << idx
			n++
		}
	}
	hvt.EncodePollResult(b, ready, n)
	return nil
}

func (m *Monitor) hcHalt(gpa uint64) error {
	b, err := m.guestSlice("HALT", gpa, hvt.SizeHalt)
	if err != nil {
		return err
	}
	h := hvt.DecodeHalt(b)
	var frame []byte
	if h.Cookie != 0 {
		if frame, err = m.guestSlice("HALT", h.Cookie, hvt.HaltCookieSize); err != nil {
			return err
		}
	}
	m.halted = true
	m.status = int(h.Status & 0xff)
	if m.status == hvt.ExitAbort && m.cfg.DumpCoreDir != "" {
		if err := m.dumpCore(frame); err != nil {
			logf(m.log, "dumpcore: %v", err)
		}
	}
	return nil
}
