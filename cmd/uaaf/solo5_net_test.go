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

// TestSolo5Net runs Solo5's own test_net.hvt under `uaaf run` the way
// Solo5's tests.bats does: a tap in a network namespace of the test's own,
// `ping -f -c 100000` at the guest (10.0.0.2), which exits with SUCCESS once
// it answered them all. It takes about 90 s here, so besides SOLO5_TESTS it
// needs SOLO5_NET=1; it also needs iputils' ping.
func TestSolo5Net(t *testing.T) {
	tests := os.Getenv(solo5TestsEnv)
	if tests == "" || os.Getenv("SOLO5_NET") != "1" {
		t.Skipf("optional: set %s and SOLO5_NET=1 to run Solo5's test_net under uaaf", solo5TestsEnv)
	}
	kvmtest.Require(t)
	ping, err := exec.LookPath("ping")
	if err != nil {
		t.Skip("no ping (Debian: iputils-ping)")
	}
	bin := binary(t)
	ns := fmt.Sprintf("uaaf-solo5-%d", os.Getpid())
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "delete", ns).Run() })
	ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
	ip("netns", "exec", ns, "ip", "tuntap", "add", "dev", "tap100", "mode", "tap")
	ip("netns", "exec", ns, "ip", "addr", "add", "10.0.0.1/24", "dev", "tap100")
	ip("netns", "exec", ns, "ip", "link", "set", "tap100", "up")

	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	guest := exec.CommandContext(ctx, "ip", "netns", "exec", ns, bin, "run", "--mem=4096",
		"--net:service0=tap100", "--", filepath.Join(tests, "test_net", "test_net.hvt"), "limit")
	pinger := exec.CommandContext(ctx, "ip", "netns", "exec", ns, ping, "-fq", "-c", "100000", "-w", "140", "10.0.0.2")
	go func() {
		time.Sleep(2 * time.Second) // let the guest come up, as tests.bats does
		pinger.Run()
	}()
	out, err := guest.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "SUCCESS") {
		t.Fatalf("test_net under uaaf: %v\n%s", err, out)
	}
}
