package childtest

import (
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// Net tests run the net guest (guest/tests/net) and a pinger, both
// children, inside a network namespace of the test's own: Tap with
// 10.0.0.1/24 on the host side, the guest answering for GuestIP. Nothing
// leaves the namespace, which is deleted when the test ends.
const (
	Tap     = "tap0"
	Replies = 3 // the net guest's argument: it exits after this many echo replies
	// Pinger is the scenario that pings GuestIP until its stdin closes.
	Pinger = "pinger"
)

// GuestIP is the address the net guest answers for.
var GuestIP = [4]byte{10, 0, 0, 2}

func init() { Register(Pinger, pinger) }

// pinger sends an ICMP echo request to the guest every 100 ms until its
// stdin closes, for at most 20 s. Send errors are ignored: until the guest
// answers ARP the kernel may refuse.
func pinger() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(done)
	}()
	dst := &unix.SockaddrInet4{Addr: GuestIP}
	for seq := uint16(1); seq <= 200; seq++ {
		_ = unix.Sendto(fd, echoRequest(uint16(os.Getpid()), seq), 0, dst)
		select {
		case <-done:
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("pinger: the guest never finished")
}

// echoRequest is an ICMP echo request with id and seq.
func echoRequest(id, seq uint16) []byte {
	b := make([]byte, 16)
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], "seccomp!")
	var sum uint32
	for i := 0; i < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(b[2:], ^uint16(sum))
	return b
}

// NewTapNetns creates a namespace with lo and Tap up and 10.0.0.1/24 on
// Tap (kvmtest.TapNetns), deleted by t.Cleanup, and returns the `ip netns
// exec NS` prefix that starts a child inside it.
func NewTapNetns(t *testing.T) []string {
	t.Helper()
	ns := kvmtest.TapNetns(t, Tap, "10.0.0.1/24")
	ip, _ := exec.LookPath("ip") // found by TapNetns
	return []string{ip, "netns", "exec", ns}
}
