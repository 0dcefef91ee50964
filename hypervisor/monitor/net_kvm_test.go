package monitor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// The net tests run the net guest behind a tap inside a network namespace of
// their own: host side 10.0.0.1/24 on tap0, the guest answers for 10.0.0.2.
// Nothing is sent anywhere else, and the namespace (with its tap) is deleted
// when the test ends.
const (
	netHostIP  = "10.0.0.1"
	netGuestIP = "10.0.0.2"
	netTap     = "tap0"
	netReplies = 3 // the guest exits after this many echo replies
	netMaxPing = 20
	netPingGap = 200 * time.Millisecond
)

// inNetns runs fn on an OS thread switched into network namespace ns, so the
// sockets and tap fds fn opens belong to ns. The thread is switched back
// afterwards; if that fails it stays locked and the runtime discards it when
// the goroutine ends, so no other goroutine ever runs in ns by accident.
func inNetns(ns string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restored := false
		defer func() {
			if restored {
				runtime.UnlockOSThread()
			}
		}()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			restored = true
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open(filepath.Join("/run/netns", ns), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			restored = true
			errc <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			restored = true
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		ferr := fn()
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- errors.Join(ferr, fmt.Errorf("setns back: %w", err))
			return
		}
		restored = true
		errc <- ferr
	}()
	return <-errc
}

// openTapIn opens the tap tap0 of ns as IFF_TAP|IFF_NO_PI and returns its fd.
func openTapIn(t *testing.T, ns string) int {
	t.Helper()
	fd := -1
	err := inNetns(ns, func() error {
		f, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		ifr, err := unix.NewIfreq(netTap)
		if err != nil {
			unix.Close(f)
			return err
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(f, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(f)
			return fmt.Errorf("TUNSETIFF %s: %w", netTap, err)
		}
		fd = f
		return nil
	})
	if err != nil {
		kvmtest.Unavailable(t, "cannot open %s in %s: %v", netTap, ns, err)
	}
	return fd
}

// socketIn opens a socket inside ns; it stays bound to ns. The socket is
// closed by t.Cleanup.
func socketIn(t *testing.T, ns string, domain, typ, proto int) int {
	t.Helper()
	fd := -1
	err := inNetns(ns, func() error {
		var err error
		fd, err = unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
		return err
	})
	if err != nil {
		t.Fatalf("socket(%d, %d, %d) in %s: %v", domain, typ, proto, ns, err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// inetChecksum is the RFC 1071 Internet checksum of b.
func inetChecksum(b []byte) uint16 {
	var sum uint32
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}

// echoRequest builds an ICMP echo request with id, seq and a payload that
// names both.
func echoRequest(id, seq uint16) []byte {
	payload := fmt.Sprintf("uaaf net test id=%d seq=%d", id, seq)
	b := make([]byte, 8+len(payload))
	b[0] = 8 // echo request
	binary.BigEndian.PutUint16(b[4:], id)
	binary.BigEndian.PutUint16(b[6:], seq)
	copy(b[8:], payload)
	binary.BigEndian.PutUint16(b[2:], inetChecksum(b))
	return b
}

// pingResult is what the pinger saw.
type pingResult struct {
	sent    int
	replies map[uint16]bool // echo replies by sequence number
	bad     []string        // malformed or mismatched replies from the guest
}

// pingGuest sends echo requests from ns to the guest, one every netPingGap,
// at most netMaxPing of them, and stops once exited is closed (after
// draining the replies in flight). Each reply from the guest must be a valid
// echo reply carrying the request's id, sequence number and payload.
func pingGuest(t *testing.T, ns string, exited <-chan struct{}) pingResult {
	t.Helper()
	fd := socketIn(t, ns, unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP)
	tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	dst := &unix.SockaddrInet4{Addr: [4]byte(net.ParseIP(netGuestIP).To4())}
	id := uint16(os.Getpid())
	res := pingResult{replies: map[uint16]bool{}}
	buf := make([]byte, 2048)
	receive := func(until time.Time) {
		for time.Now().Before(until) {
			n, from, err := unix.Recvfrom(fd, buf, 0)
			if err != nil {
				continue // timeout (EAGAIN) or EINTR: look at the clock again
			}
			if sa, ok := from.(*unix.SockaddrInet4); !ok || net.IP(sa.Addr[:]).String() != netGuestIP {
				continue
			}
			res.check(buf[:n], id)
		}
	}
	stopped := false
	for seq := uint16(1); int(seq) <= netMaxPing && !stopped; seq++ {
		if err := unix.Sendto(fd, echoRequest(id, seq), 0, dst); err != nil {
			// Before the guest has answered ARP the kernel may report the
			// host unreachable; that request is simply not counted.
			t.Logf("sendto seq %d: %v", seq, err)
		} else {
			res.sent++
		}
		deadline := time.Now().Add(netPingGap)
		select {
		case <-exited:
			stopped = true
			deadline = time.Now().Add(500 * time.Millisecond)
		default:
		}
		receive(deadline)
	}
	return res
}

// check validates one IPv4 packet from the guest as an echo reply to us.
func (r *pingResult) check(pkt []byte, id uint16) {
	if len(pkt) < 20 {
		r.bad = append(r.bad, fmt.Sprintf("short packet %x", pkt))
		return
	}
	ihl := int(pkt[0]&0xf) * 4
	if ihl < 20 || len(pkt) < ihl+8 {
		r.bad = append(r.bad, fmt.Sprintf("bad IP header %x", pkt))
		return
	}
	if inetChecksum(pkt[:ihl]) != 0 {
		r.bad = append(r.bad, "bad IP header checksum")
	}
	icmp := pkt[ihl:]
	if icmp[0] != 0 || icmp[1] != 0 || binary.BigEndian.Uint16(icmp[4:]) != id {
		return // not an echo reply to this test
	}
	seq := binary.BigEndian.Uint16(icmp[6:])
	if inetChecksum(icmp) != 0 {
		r.bad = append(r.bad, fmt.Sprintf("seq %d: bad ICMP checksum", seq))
		return
	}
	want := echoRequest(id, seq)
	if !bytes.Equal(icmp[8:], want[8:]) {
		r.bad = append(r.bad, fmt.Sprintf("seq %d: payload %q, want %q", seq, icmp[8:], want[8:]))
		return
	}
	r.replies[seq] = true
}

// checkARPReplies checks that the guest answered ARP, always with MAC mac.
func checkARPReplies(t *testing.T, macs []net.HardwareAddr, mac string) {
	t.Helper()
	if len(macs) == 0 {
		t.Error("no ARP reply from the guest seen on the tap")
	}
	for _, got := range macs {
		if got.String() != mac {
			t.Errorf("ARP reply sender MAC %s, want %s", got, mac)
		}
	}
}

// arpWatch captures ARP frames on tap0 in ns until stop is called, and
// returns the sender MACs of ARP replies that claim netGuestIP.
func arpWatch(t *testing.T, ns string) (stop func() []net.HardwareAddr) {
	t.Helper()
	proto := uint16(unix.ETH_P_ARP)
	htons := proto<<8 | proto>>8
	fd := socketIn(t, ns, unix.AF_PACKET, unix.SOCK_RAW, int(htons))
	var ifindex int
	if err := inNetns(ns, func() error {
		ifi, err := net.InterfaceByName(netTap)
		if err == nil {
			ifindex = ifi.Index
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons, Ifindex: ifindex}); err != nil {
		t.Fatal(err)
	}
	tv := unix.NsecToTimeval(int64(50 * time.Millisecond))
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		macs []net.HardwareAddr
		quit atomic.Bool
		wg   sync.WaitGroup
	)
	guestIP := net.ParseIP(netGuestIP).To4()
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 1600)
		for !quit.Load() {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			if err != nil || n < 14+28 {
				continue
			}
			a := buf[14:n]
			// Ethernet/IPv4 ARP reply (op 2) whose sender IP is the guest.
			if binary.BigEndian.Uint16(a[0:]) != 1 || binary.BigEndian.Uint16(a[2:]) != 0x0800 ||
				a[4] != 6 || a[5] != 4 || binary.BigEndian.Uint16(a[6:]) != 2 || !bytes.Equal(a[14:18], guestIP) {
				continue
			}
			mu.Lock()
			macs = append(macs, net.HardwareAddr(bytes.Clone(a[8:14])))
			mu.Unlock()
		}
	}()
	return func() []net.HardwareAddr {
		quit.Store(true)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return macs
	}
}

// lineSignal is a console writer that keeps everything written and closes
// ready when a line starting with prefix has been written.
type lineSignal struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	prefix string
	ready  chan struct{}
	once   sync.Once
}

func newLineSignal(prefix string) *lineSignal {
	return &lineSignal{prefix: prefix, ready: make(chan struct{})}
}

func (w *lineSignal) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for _, l := range strings.Split(w.buf.String(), "\n") {
		if strings.HasPrefix(l, w.prefix) {
			w.once.Do(func() { close(w.ready) })
		}
	}
	return len(p), nil
}

func (w *lineSignal) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// checkPing checks what the pinger saw against what the guest promised.
func checkPing(t *testing.T, res pingResult) {
	t.Helper()
	for _, b := range res.bad {
		t.Errorf("bad reply: %s", b)
	}
	if len(res.replies) < netReplies {
		t.Errorf("%d echo replies to %d requests, want at least %d", len(res.replies), res.sent, netReplies)
	}
	if len(res.replies) > netReplies {
		t.Errorf("%d echo replies, but the guest was to stop after %d", len(res.replies), netReplies)
	}
}

// TestNetInProcess runs the net guest in this process on a tap fd the test
// opened itself inside its namespace (the @FD form of NetSpec).
func TestNetInProcess(t *testing.T) {
	kvmtest.Require(t)
	img := kvmtest.GuestImage(t, "net")
	ns := kvmtest.TapNetns(t, netTap, netHostIP+"/24")
	const mac = "02:00:5e:10:00:02"
	fd := openTapIn(t, ns)
	console := newLineSignal("net: serving")
	var log bytes.Buffer
	m, err := New(Config{
		Kernel:  img,
		MemSize: 32 << 20,
		Args:    []string{fmt.Sprint(netReplies)},
		Nets:    []NetSpec{{Name: "service0", FD: fd, MAC: mac}},
		Console: console,
		Log:     &log,
	})
	if err != nil {
		unix.Close(fd) // not attached: New failed before or while opening it
		t.Fatalf("New: %v", err)
	}
	defer m.Close() // closes fd
	arps := arpWatch(t, ns)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	exited := make(chan struct{})
	var status int
	var runErr error
	go func() {
		defer close(exited)
		status, runErr = m.Run(ctx)
	}()
	if !awaitServing(console.ready, exited, m.Stop) {
		t.Fatalf("guest ended or did not start serving: status %d err %v output %q", status, runErr, console.String())
	}
	res := pingGuest(t, ns, exited)
	awaitExit(exited, m.Stop)
	if runErr != nil || status != 0 {
		t.Fatalf("Run = %d, %v; output %q log %q", status, runErr, console.String(), log.String())
	}
	out := console.String()
	if !strings.Contains(out, "SUCCESS") || !strings.Contains(out, fmt.Sprintf("sent %d echo replies", netReplies)) {
		t.Errorf("output lacks SUCCESS / reply count:\n%s", out)
	}
	checkPing(t, res)
	st := m.Stats()
	reads, writes := st.Hypercalls[hvt.HypercallNetRead], st.Hypercalls[hvt.HypercallNetWrite]
	if reads == 0 || writes < netReplies {
		t.Errorf("NET_READ %d NET_WRITE %d hypercalls, want reads and at least %d writes", reads, writes, netReplies)
	}
	checkARPReplies(t, arps(), mac)
}

// awaitServing waits until the guest serves (true), or ends or takes more
// than 30 s to start (false; stop is called and the guest's end awaited).
func awaitServing(serving, exited <-chan struct{}, stop func()) bool {
	select {
	case <-serving:
		return true
	case <-exited:
	case <-time.After(30 * time.Second):
		stop()
		<-exited
	}
	return false
}

// awaitExit waits for a guest that reached its reply limit to exit, and
// stops it if it has not within 10 s (the test then fails on its status).
func awaitExit(exited <-chan struct{}, stop func()) {
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		stop()
		<-exited
	}
}

// buildUAAF builds cmd/uaaf into a temporary directory of t.
func buildUAAF(t *testing.T) string {
	t.Helper()
	bin, err := kvmtest.BuildUAAF(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestNetCLI runs the net guest through the uaaf binary inside the
// namespace, attached by interface name, with a MAC given on the command
// line; the guest's ARP replies must carry that MAC.
func TestNetCLI(t *testing.T) {
	kvmtest.Require(t)
	img := kvmtest.GuestImage(t, "net")
	ns := kvmtest.TapNetns(t, netTap, netHostIP+"/24")
	bin := buildUAAF(t)
	const mac = "02:00:5e:10:00:2a"
	ipCmd, _ := exec.LookPath("ip") // found by kvmtest.TapNetns
	cmd := exec.Command(ipCmd, "netns", "exec", ns, bin, "run", "--mem=32",
		"--net:service0="+netTap, "--net-mac:service0="+mac, "--", img, fmt.Sprint(netReplies))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	arps := arpWatch(t, ns)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer // written by the reader goroutine until exited closes
	serving := make(chan struct{})
	exited := make(chan struct{})
	var waitErr error
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		seen := false
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
			if !seen && strings.HasPrefix(sc.Text(), "net: serving") {
				seen = true
				close(serving)
			}
		}
		waitErr = cmd.Wait()
	}()
	kill := func() { cmd.Process.Kill() }
	if !awaitServing(serving, exited, kill) {
		t.Fatalf("uaaf ended or did not start serving: %v; stdout %q stderr %q", waitErr, out.String(), stderr.String())
	}
	res := pingGuest(t, ns, exited)
	awaitExit(exited, kill)
	if waitErr != nil {
		t.Fatalf("uaaf: %v; stdout %q stderr %q", waitErr, out.String(), stderr.String())
	}
	if !strings.Contains(out.String(), "SUCCESS") || !strings.Contains(out.String(), "serving 10.0.0.2 at "+mac) {
		t.Errorf("stdout lacks SUCCESS or the MAC %s:\n%s", mac, out.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr not empty: %q", stderr.String())
	}
	checkPing(t, res)
	checkARPReplies(t, arps(), mac)
}
