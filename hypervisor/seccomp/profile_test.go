package seccomp

import (
	"encoding/binary"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/elastic/go-seccomp-bpf/arch"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/vmfunc"
)

var profiles = []Profile{Runner, RunnerDumpCore, Daemon}

// TestSyscallsKnown: every syscall number a profile uses is in
// go-seccomp-bpf's x86_64 table (an independent copy of the kernel's), and
// each profile compiles into a program the kernel takes.
func TestSyscallsKnown(t *testing.T) {
	for _, p := range profiles {
		t.Run(p.Name, func(t *testing.T) {
			var names []string
			for _, nr := range p.Syscalls() {
				name, ok := arch.X86_64.SyscallNumbers[nr]
				if !ok {
					t.Errorf("%s: no syscall %d on x86_64", p.Name, nr)
				}
				names = append(names, name)
			}
			prog := assemble(t, p, Kill)
			t.Logf("%s: %d syscalls, %d BPF instructions: %s", p.Name, len(names), len(prog), strings.Join(names, " "))
		})
	}
}

// TestNoLibraryAtRuntime: the package links neither go-seccomp-bpf (whose
// syscall tables for five architectures cost a cold start 0.1–0.3 ms of
// package initialisation, measured) nor x/net; tests use them as the
// reference.
func TestNoLibraryAtRuntime(t *testing.T) {
	gocmd, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("go command not found: %v", err)
	}
	out, err := exec.Command(gocmd, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/elastic/") || strings.HasPrefix(dep, "golang.org/x/net") {
			t.Errorf("package seccomp depends on %s", dep)
		}
	}
}

// TestIoctlNumbers recomputes the KVM request numbers with _IOC and
// hypervisor/kvm's struct sizes (whose layout_test proves them against
// <linux/kvm.h>).
func TestIoctlNumbers(t *testing.T) {
	ioc := func(dir, nr, size uint64) uint64 { return dir<<30 | size<<16 | 0xAE<<8 | nr }
	const none, w, r = 0, 1, 2
	tests := []struct {
		name      string
		got, want uint64
	}{
		{"KVM_GET_API_VERSION", kvmGetAPIVersion, ioc(none, 0x00, 0)},
		{"KVM_CREATE_VM", kvmCreateVM, ioc(none, 0x01, 0)},
		{"KVM_CHECK_EXTENSION", kvmCheckExtension, ioc(none, 0x03, 0)},
		{"KVM_GET_VCPU_MMAP_SIZE", kvmGetVCPUMmapSize, ioc(none, 0x04, 0)},
		{"KVM_GET_SUPPORTED_CPUID", kvmGetSupportedCPUID, ioc(r|w, 0x05, 8)},
		{"KVM_CREATE_VCPU", kvmCreateVCPU, ioc(none, 0x41, 0)},
		{"KVM_SET_USER_MEMORY_REGION", kvmSetUserMemoryRegion, ioc(w, 0x46, kvm.SizeofUserspaceMemoryRegion)},
		{"KVM_RUN", kvmRun, ioc(none, 0x80, 0)},
		{"KVM_GET_REGS", kvmGetRegs, ioc(r, 0x81, kvm.SizeofRegs)},
		{"KVM_SET_REGS", kvmSetRegs, ioc(w, 0x82, kvm.SizeofRegs)},
		{"KVM_GET_SREGS", kvmGetSregs, ioc(r, 0x83, kvm.SizeofSregs)},
		{"KVM_SET_SREGS", kvmSetSregs, ioc(w, 0x84, kvm.SizeofSregs)},
		{"KVM_SET_CPUID2", kvmSetCPUID2, ioc(w, 0x90, 8)},
		{"KVM_GET_TSC_KHZ", kvmGetTSCKHz, ioc(none, 0xa3, 0)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}

func TestBadProfiles(t *testing.T) {
	tests := []struct {
		name string
		p    Profile
	}{
		{"empty", Profile{Name: "empty"}},
		{"negative syscall", Profile{Name: "x", Groups: [][]Rule{{{Syscall: -1}}}}},
		{"x32 number", Profile{Name: "x", Groups: [][]Rule{{{Syscall: 1<<30 | unix.SYS_WRITE}}}}},
		{"arg out of range", Profile{Name: "x", Groups: [][]Rule{{{Syscall: unix.SYS_IOCTL, Arg: 6, Values: []uint64{1}}}}}},
		{"negative arg", Profile{Name: "x", Groups: [][]Rule{{{Syscall: unix.SYS_IOCTL, Arg: -1, Values: []uint64{1}}}}}},
		{"two checks", Profile{Name: "x", Groups: [][]Rule{{{Syscall: unix.SYS_KILL, Values: []uint64{1}, PID: true}}}}},
		{"arg without check", Profile{Name: "x", Groups: [][]Rule{{{Syscall: unix.SYS_READ, Arg: 2}}}}},
		{"errno with a check", Profile{Name: "x", Groups: [][]Rule{{{Syscall: unix.SYS_CLONE3, Errno: unix.ENOSYS, NoBits: 1}}}}},
		{"errno beside another rule", Profile{Name: "x", Groups: [][]Rule{{{Syscall: unix.SYS_CLONE3, Errno: unix.ENOSYS}, {Syscall: unix.SYS_CLONE3}}}}},
		{"errno out of range", Profile{Name: "x", Groups: [][]Rule{{{Syscall: unix.SYS_CLONE3, Errno: 0x1000}}}}},
		{"too many alternatives", Profile{Name: "x", Groups: [][]Rule{{{Syscall: unix.SYS_IOCTL, Arg: 1, Values: make([]uint64, 60)}}}}},
	}
	for i := range tests[len(tests)-1].p.Groups[0][0].Values {
		tests[len(tests)-1].p.Groups[0][0].Values[i] = uint64(i)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.p.program(unix.AUDIT_ARCH_X86_64, unix.SECCOMP_RET_KILL_PROCESS, 1); !errors.Is(err, ErrProfile) {
				t.Fatalf("program: %v, want ErrProfile", err)
			}
			if err := Install(Kill, tt.p); !errors.Is(err, ErrProfile) {
				t.Fatalf("Install: %v, want ErrProfile", err)
			}
		})
	}
	if err := Install("trap", Runner); !errors.Is(err, ErrMode) {
		t.Fatalf("Install(trap): %v, want ErrMode", err)
	}
	if err := Install(Off, Profile{}); err != nil {
		t.Fatalf("Install(Off) of anything: %v", err)
	}
}

const testPID = 4242

// assemble compiles p for x86_64 with pid testPID and returns it as x/net/bpf
// instructions, for its interpreter.
func assemble(t *testing.T, p Profile, mode Mode) []bpf.Instruction {
	t.Helper()
	def := uint32(unix.SECCOMP_RET_KILL_PROCESS)
	if mode == Log {
		def = unix.SECCOMP_RET_LOG
	}
	prog, err := p.program(unix.AUDIT_ARCH_X86_64, def, testPID)
	if err != nil {
		t.Fatal(err)
	}
	insts := make([]bpf.Instruction, len(prog))
	for i, f := range prog {
		insts[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}.Disassemble()
	}
	return insts
}

// seccompData lays out struct seccomp_data for x/net/bpf's VM. That VM
// loads words big-endian where the kernel loads them in native (little)
// endianness, so each 32-bit word goes in big-endian at the kernel's
// offset: nr at 0, arch at 4, argument i's low word at 16+8i, high at +4.
func seccompData(archID uint32, nr int, args ...uint64) []byte {
	b := make([]byte, 64)
	be := binary.BigEndian
	be.PutUint32(b[0:], uint32(nr))
	be.PutUint32(b[4:], archID)
	for i, a := range args {
		be.PutUint32(b[16+8*i:], uint32(a))
		be.PutUint32(b[16+8*i+4:], uint32(a>>32))
	}
	return b
}

const (
	allow = uint32(unix.SECCOMP_RET_ALLOW)
	kill  = uint32(unix.SECCOMP_RET_KILL_PROCESS)
	logs  = uint32(unix.SECCOMP_RET_LOG)
)

// TestFilterDecisions runs the compiled programs in x/net/bpf's interpreter
// on calls the monitor makes and calls it must not make. Syscall numbers
// come from go-seccomp-bpf's table by name, independent of the profiles'
// unix.SYS_* numbers.
func TestFilterDecisions(t *testing.T) {
	x86 := uint32(arch.X86_64.ID)
	nr := func(name string) int {
		n, ok := arch.X86_64.SyscallNames[name]
		if !ok {
			t.Fatalf("no syscall %s", name)
		}
		return n
	}
	type call struct {
		what string
		arch uint32
		nr   int
		args []uint64
	}
	c := func(what, name string, args ...uint64) call { return call{what, x86, nr(name), args} }
	const (
		forkFlags  = uint64(unix.SIGCHLD)
		vforkFlags = uint64(unix.CLONE_VM | unix.CLONE_VFORK | unix.SIGCHLD)
		tcgets     = 0x5401
	)
	runnerAllows := []call{
		c("KVM_RUN", "ioctl", 5, kvmRun, 0),
		c("KVM_GET_REGS", "ioctl", 5, kvmGetRegs),
		c("lazy KVM_CREATE_VM", "ioctl", 3, kvmCreateVM),
		c("lazy KVM_SET_USER_MEMORY_REGION", "ioctl", 4, kvmSetUserMemoryRegion),
		c("vmfunc status", "ioctl", 7, vmfunc.IocStatus),
		c("console", "write", 1, 0xc000, 13),
		c("block read", "pread64", 3, 0, 512, 4096),
		c("block write", "pwrite64", 3, 0, 512, 4096),
		c("poll", "ppoll", 0, 2, 0, 0),
		c("thread", "clone", goThreadCloneFlags, 0),
		c("futex wait", "futex", 0, futexWaitPrivate, 0),
		c("futex wake", "futex", 0, futexWakePrivate, 1),
		c("kick", "tgkill", testPID, testPID+1, uint64(unix.SIGURG)),
		c("heap", "mmap", 0, 1<<20, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS),
		c("read-only text", "mprotect", 0, 4096, unix.PROT_READ),
		c("monotonic clock", "clock_gettime", unix.CLOCK_MONOTONIC, 0),
		c("wall clock", "clock_gettime", unix.CLOCK_REALTIME, 0),
		c("vma name", "prctl", unix.PR_SET_VMA, unix.PR_SET_VMA_ANON_NAME),
		c("Self", "prctl", unix.PR_GET_SECCOMP),
		c("scavenger", "madvise", 0, 4096, unix.MADV_DONTNEED),
		c("GOMAXPROCS", "sched_getaffinity", 0, 8192, 0),
		c("exit", "exit_group", 0),
	}
	runnerKills := []call{
		c("terminal ioctl", "ioctl", 1, tcgets),
		// go-seccomp-bpf's Policy.Assemble (v1.6.0) lets these two through:
		// after ioctl's checks fail it compares the argument word left in
		// the accumulator with the numbers of the syscalls after ioctl
		// (write is 1, futex 202).
		c("KVM_RUN with high bits", "ioctl", 5, 1<<32|kvmRun),
		c("request = a later syscall's number", "ioctl", 5, 202),
		c("tap set-up", "ioctl", 3, unix.TUNSETIFF),
		c("KVM_CHECK_EXTENSION", "ioctl", 3, kvmCheckExtension),
		c("socket", "socket", unix.AF_INET, unix.SOCK_STREAM, 0),
		c("open", "openat", uint64(0xffffff9c), 0, unix.O_RDONLY),
		c("fork", "clone", forkFlags, 0),
		c("vfork", "clone", vforkFlags, 0),
		c("clone3", "clone3", 0, 88),
		c("execve", "execve", 0, 0, 0),
		c("signal another process", "tgkill", 1, 1, uint64(unix.SIGKILL)),
		c("kill another process", "kill", 1, uint64(unix.SIGKILL)),
		c("executable mapping", "mmap", 0, 4096, unix.PROT_READ|unix.PROT_EXEC, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS),
		c("make executable", "mprotect", 0, 4096, unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC),
		c("shared futex", "futex", 0, 0, 0),
		c("boot clock", "clock_gettime", unix.CLOCK_BOOTTIME, 0),
		c("other prctl", "prctl", unix.PR_SET_DUMPABLE, 1),
		c("madvise dontfork", "madvise", 0, 4096, unix.MADV_DONTFORK),
		c("ptrace", "ptrace", unix.PTRACE_ATTACH, 1),
		{"i386 ABI", uint32(arch.I386.ID), 1, nil},
	}
	tests := []struct {
		p     Profile
		mode  Mode
		calls []call
		want  uint32
	}{
		{Runner, Kill, runnerAllows, allow},
		{Runner, Kill, runnerKills, kill},
		{Runner, Log, runnerKills, logs},
		{RunnerDumpCore, Kill, runnerAllows, allow},
		{RunnerDumpCore, Kill, []call{
			c("core file", "openat", uint64(0xffffff9c), 0, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600),
		}, allow},
		{RunnerDumpCore, Kill, []call{
			c("open for reading", "openat", uint64(0xffffff9c), 0, unix.O_RDONLY|unix.O_CLOEXEC),
			c("open existing for writing", "openat", uint64(0xffffff9c), 0, unix.O_WRONLY|unix.O_CLOEXEC),
			c("socket", "socket", unix.AF_INET, unix.SOCK_STREAM, 0),
		}, kill},
		{Daemon, Kill, append(runnerAllows,
			c("image", "openat", uint64(0xffffff9c), 0, unix.O_RDONLY|unix.O_CLOEXEC),
			c("accept", "accept4", 3, 0, 0, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK),
			c("unix listener", "socket", unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0),
			c("tap", "ioctl", 3, unix.TUNSETIFF),
			c("KVM_CHECK_EXTENSION", "ioctl", 3, kvmCheckExtension),
		), allow},
		{Daemon, Kill, []call{
			c("terminal ioctl", "ioctl", 1, tcgets),
			c("inet6 socket", "socket", unix.AF_INET6, unix.SOCK_STREAM, 0),
			c("fork", "clone", forkFlags, 0),
			c("execve", "execve", 0, 0, 0),
			c("ptrace", "ptrace", unix.PTRACE_ATTACH, 1),
		}, kill},
	}
	for _, tt := range tests {
		vm, err := bpf.NewVM(assemble(t, tt.p, tt.mode))
		if err != nil {
			t.Fatal(err)
		}
		for _, cl := range tt.calls {
			got, err := vm.Run(seccompData(cl.arch, cl.nr, cl.args...))
			if err != nil {
				t.Fatal(err)
			}
			if uint32(got) != tt.want {
				t.Errorf("%s/%s: %s: action %#x, want %#x", tt.p.Name, tt.mode, cl.what, uint32(got), tt.want)
			}
		}
	}
	// The x32 ABI (numbers with bit 30 set) matches nothing.
	vm, _ := bpf.NewVM(assemble(t, Runner, Kill))
	if got, _ := vm.Run(seccompData(x86, nr("write")|0x40000000, 1)); uint32(got) != kill {
		t.Errorf("x32 write: action %#x, want kill", uint32(got))
	}
}

// TestMerge: rules for one syscall in several groups are alternatives, and
// one without a check allows every argument.
func TestMerge(t *testing.T) {
	p := Profile{Name: "merge", Groups: [][]Rule{{
		{Syscall: unix.SYS_IOCTL, Arg: 1, Values: []uint64{1, 2}},
		{Syscall: unix.SYS_WRITE},
	}, {
		{Syscall: unix.SYS_IOCTL, Arg: 1, Values: []uint64{2, 3}},
		{Syscall: unix.SYS_READ, Arg: 0, Values: []uint64{0}},
		{Syscall: unix.SYS_READ},
		{Syscall: unix.SYS_MMAP, Arg: 2, NoBits: 1<<40 | unix.PROT_EXEC},
	}}}
	if got := p.Syscalls(); len(got) != 4 || got[0] != unix.SYS_IOCTL || got[1] != unix.SYS_WRITE || got[2] != unix.SYS_READ {
		t.Fatalf("Syscalls = %v", got)
	}
	vm, err := bpf.NewVM(assemble(t, p, Kill))
	if err != nil {
		t.Fatal(err)
	}
	x86 := uint32(arch.X86_64.ID)
	for _, tt := range []struct {
		nr   string
		args []uint64
		want uint32
	}{
		{"ioctl", []uint64{0, 1}, allow},
		{"ioctl", []uint64{0, 2}, allow},
		{"ioctl", []uint64{0, 3}, allow},
		{"ioctl", []uint64{0, 4}, kill},
		{"ioctl", []uint64{0, 1<<32 | 1}, kill},
		{"read", []uint64{7}, allow},
		{"write", []uint64{7}, allow},
		{"close", []uint64{7}, kill},
		{"mmap", []uint64{0, 4096, unix.PROT_READ}, allow},
		{"mmap", []uint64{0, 4096, unix.PROT_READ | unix.PROT_EXEC}, kill},
		{"mmap", []uint64{0, 4096, 1<<40 | unix.PROT_READ}, kill},
		{"mmap", []uint64{0, 4096, 1<<41 | unix.PROT_READ}, allow},
	} {
		got, _ := vm.Run(seccompData(x86, arch.X86_64.SyscallNames[tt.nr], tt.args...))
		if uint32(got) != tt.want {
			t.Errorf("%s%v: %#x, want %#x", tt.nr, tt.args, uint32(got), tt.want)
		}
	}
}

// TestErrnoRule: a rule with Errno answers its call with that errno, and
// the profile's other calls are decided as before.
func TestErrnoRule(t *testing.T) {
	p := Profile{Name: "x", Groups: [][]Rule{{
		{Syscall: unix.SYS_CLONE3, Errno: unix.ENOSYS},
		{Syscall: unix.SYS_CLONE, Arg: 0, Values: []uint64{goThreadCloneFlags}},
		{Syscall: unix.SYS_GETPID},
	}}}
	vm, err := bpf.NewVM(assemble(t, p, Kill))
	if err != nil {
		t.Fatal(err)
	}
	x86 := uint32(unix.AUDIT_ARCH_X86_64)
	for _, tc := range []struct {
		what string
		nr   int
		args []uint64
		want uint32
	}{
		{"clone3", unix.SYS_CLONE3, []uint64{0, 88}, unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)},
		{"thread clone", unix.SYS_CLONE, []uint64{goThreadCloneFlags}, allow},
		{"fork clone", unix.SYS_CLONE, []uint64{uint64(unix.SIGCHLD)}, kill},
		{"getpid", unix.SYS_GETPID, nil, allow},
		{"getppid", unix.SYS_GETPPID, nil, kill},
	} {
		got, err := vm.Run(seccompData(x86, tc.nr, tc.args...))
		if err != nil || uint32(got) != tc.want {
			t.Errorf("%s: %#x, %v; want %#x", tc.what, got, err, tc.want)
		}
	}
}
