package seccomp

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/seccomp/internal/childtest"
)

// Environment of the bench scenario.
const (
	envBenchCall = "UAAF_SECCOMP_BENCH_CALL"
	envBenchMode = "UAAF_SECCOMP_BENCH_MODE"
	envBenchN    = "UAAF_SECCOMP_BENCH_N"
)

// benchCalls are the system calls BenchmarkFilteredSyscall times: the
// run loop's KVM_RUN ioctl (checked on its request number, first in the
// program; on a bad fd so that only the syscall path is timed),
// clock_gettime by syscall (checked on its clock id, further down), and
// getpid (allowed with any arguments, so the kernel's action cache skips
// the program).
var benchCalls = map[string]func(){
	"ioctl-KVM_RUN": func() { unix.RawSyscall(unix.SYS_IOCTL, ^uintptr(0), kvmRun, 0) },
	"clock_gettime": func() {
		var ts unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	},
	"getpid": func() { unix.RawSyscall(unix.SYS_GETPID, 0, 0, 0) },
}

func init() { childtest.Register("bench", benchScenario) }

// benchScenario installs Runner in the mode given (or not, for off), makes
// the call N times and prints the elapsed nanoseconds.
func benchScenario() error {
	call := benchCalls[os.Getenv(envBenchCall)]
	n, err := strconv.Atoi(os.Getenv(envBenchN))
	if call == nil || err != nil {
		return fmt.Errorf("bench: call %q n %q", os.Getenv(envBenchCall), os.Getenv(envBenchN))
	}
	mode, err := ParseMode(os.Getenv(envBenchMode))
	if err != nil {
		return err
	}
	if err := installed(mode, Runner); err != nil {
		return err
	}
	start := time.Now()
	for range n {
		call()
	}
	fmt.Println(time.Since(start).Nanoseconds())
	return nil
}

// BenchmarkFilteredSyscall measures what the Runner filter (Kill mode)
// adds to a system call, against the same call in an unfiltered child in
// the same run. ns/op is the filtered call, x-unfiltered the ratio,
// ns-added/op the difference. Each child makes b.N calls in a tight loop.
func BenchmarkFilteredSyscall(b *testing.B) {
	for _, name := range []string{"ioctl-KVM_RUN", "clock_gettime", "getpid"} {
		b.Run(name, func(b *testing.B) {
			run := func(mode Mode) float64 {
				r := childtest.Run(b, "bench", envBenchCall+"="+name, envBenchMode+"="+string(mode), envBenchN+"="+strconv.Itoa(b.N))
				ns, err := strconv.ParseFloat(strings.TrimSpace(r.Stdout), 64)
				if r.Code != 0 || err != nil {
					b.Fatalf("bench child: %v", r)
				}
				return ns / float64(b.N)
			}
			off, kill := run(Off), run(Kill)
			b.ReportMetric(kill, "ns/op")
			b.ReportMetric(off, "ns-unfiltered/op")
			b.ReportMetric(kill-off, "ns-added/op")
			b.ReportMetric(kill/off, "x-unfiltered")
		})
	}
}

// BenchmarkProgram measures compiling Runner into BPF, which Install does
// on the caller's goroutine before the seccomp call (the kernel then
// checks the program and precomputes its action cache).
func BenchmarkProgram(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Runner.program(unix.AUDIT_ARCH_X86_64, unix.SECCOMP_RET_KILL_PROCESS, 1); err != nil {
			b.Fatal(err)
		}
	}
}
