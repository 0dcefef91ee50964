package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvmtest"
)

// solo5NetCase is one of Solo5's hvt net tests, as tests.bats runs it.
type solo5NetCase struct {
	name  string
	image string   // relative to SOLO5_TESTS
	args  []string // guest arguments
	taps  []solo5Tap
	want  string // besides SUCCESS
}

// solo5Tap is a tap in the test's network namespace and the pings sent to
// the guest through it (0: none).
type solo5Tap struct {
	name, hostIP, guestIP string
	mtu                   int
	pings                 int
	pattern               string
}

var solo5NetCases = []solo5NetCase{
	{name: "net", image: "test_net/test_net.hvt", args: []string{"limit"},
		taps: []solo5Tap{{name: "tap100", hostIP: "10.0.0.1", guestIP: "10.0.0.2", pings: 100000}}},
	{name: "net_2if", image: "test_net_2if/test_net_2if.hvt", args: []string{"limit"},
		taps: []solo5Tap{
			{name: "tap100", hostIP: "10.0.0.1", guestIP: "10.0.0.2", pings: 50000},
			{name: "tap101", hostIP: "10.1.0.1", guestIP: "10.1.0.2", pings: 50000},
		}},
	{name: "net_mtu", image: "test_net_mtu/test_net_mtu.hvt",
		taps: []solo5Tap{{name: "tap102", hostIP: "10.2.0.1", mtu: 9000}}, want: "MTU is 9000"},
	{name: "net_ring", image: "test_net_ring/test_net_ring.hvt",
		taps: []solo5Tap{{name: "tap100", hostIP: "10.0.0.1", guestIP: "10.0.0.2", pings: 10000, pattern: "deadbeef"}}},
}

// TestSolo5Net runs Solo5's own net test unikernels under `uaaf run` the
// way Solo5's tests.bats does: taps in a network namespace of the test's
// own, `ping -f` floods at the guest's addresses, SUCCESS expected (net_ring
// too: uaaf offers no ring, and the guest falls back to the NET_*
// hypercalls). The floods take minutes here, so besides SOLO5_TESTS it needs
// SOLO5_NET=1; it also needs iputils' ping.
func TestSolo5Net(t *testing.T) {
	tests := os.Getenv(solo5TestsEnv)
	if tests == "" || os.Getenv("SOLO5_NET") != "1" {
		t.Skipf("optional: set %s and SOLO5_NET=1 to run Solo5's net tests under uaaf", solo5TestsEnv)
	}
	kvmtest.Require(t)
	ping, err := exec.LookPath("ping")
	if err != nil {
		t.Skip("no ping (Debian: iputils-ping)")
	}
	bin := binary(t)
	for i, c := range solo5NetCases {
		t.Run(c.name, func(t *testing.T) {
			ns := fmt.Sprintf("uaaf-solo5-%d-%d", os.Getpid(), i)
			ip := func(args ...string) {
				t.Helper()
				if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
					t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
				}
			}
			ip("netns", "add", ns)
			t.Cleanup(func() { exec.Command("ip", "netns", "delete", ns).Run() })
			ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
			args := []string{"run", "--mem=4096"}
			for k, tap := range c.taps {
				ip("netns", "exec", ns, "ip", "tuntap", "add", "dev", tap.name, "mode", "tap")
				ip("netns", "exec", ns, "ip", "addr", "add", tap.hostIP+"/24", "dev", tap.name)
				if tap.mtu != 0 {
					ip("netns", "exec", ns, "ip", "link", "set", tap.name, "mtu", fmt.Sprint(tap.mtu))
				}
				ip("netns", "exec", ns, "ip", "link", "set", tap.name, "up")
				args = append(args, fmt.Sprintf("--net:service%d=%s", k, tap.name))
			}
			args = append(append(args, "--", filepath.Join(tests, c.image)), c.args...)

			ctx, cancel := context.WithTimeout(context.Background(), 170*time.Second)
			defer cancel()
			for _, tap := range c.taps {
				if tap.pings == 0 {
					continue
				}
				pargs := []string{"netns", "exec", ns, ping, "-fq", "-c", fmt.Sprint(tap.pings), "-w", "160"}
				if tap.pattern != "" {
					pargs = append(pargs, "-p", tap.pattern)
				}
				pinger := exec.CommandContext(ctx, "ip", append(pargs, tap.guestIP)...)
				go func() {
					time.Sleep(2 * time.Second) // let the guest come up, as tests.bats does
					pinger.Run()
				}()
			}
			out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns, bin}, args...)...).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "SUCCESS") || !strings.Contains(string(out), c.want) {
				t.Fatalf("%s under uaaf: %v\n%s", c.name, err, out)
			}
		})
	}
}
