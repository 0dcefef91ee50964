package seccomp

import (
	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/vmfunc"
)

// This file is the allowlist: every system call uaaf may make once its
// filter is in place, grouped by who needs it, each with the reason. How it
// was derived (strace of every kind of run, then Log mode and the kernel
// log) is in README.md next to this file. Order matters for speed only:
// the filter tests the syscalls with argument checks in the order of their
// first rule here, the hottest (ioctl, KVM_RUN) first of all; the kernel
// answers a syscall allowed with any arguments from its seccomp action
// cache (Linux 5.11) without running the filter.

// KVM ioctl request numbers: _IO/_IOR/_IOW/_IOWR(0xAE, nr, size) with the
// sizes of hypervisor/kvm's struct mirrors (TestIoctlNumbers recomputes
// them).
const (
	kvmGetAPIVersion       = 0xAE00
	kvmCreateVM            = 0xAE01
	kvmCheckExtension      = 0xAE03
	kvmGetVCPUMmapSize     = 0xAE04
	kvmGetSupportedCPUID   = 0xC008AE05 // _IOWR, struct kvm_cpuid2 header (8)
	kvmCreateVCPU          = 0xAE41
	kvmSetUserMemoryRegion = 0x4020AE46 // _IOW, struct kvm_userspace_memory_region (32)
	kvmRun                 = 0xAE80
	kvmGetRegs             = 0x8090AE81 // _IOR, struct kvm_regs (144)
	kvmSetRegs             = 0x4090AE82 // _IOW, struct kvm_regs
	kvmGetSregs            = 0x8138AE83 // _IOR, struct kvm_sregs (312)
	kvmSetSregs            = 0x4138AE84 // _IOW, struct kvm_sregs
	kvmSetCPUID2           = 0x4008AE90 // _IOW, struct kvm_cpuid2 header
	kvmGetTSCKHz           = 0xAEA3
)

// The only futex operations the Go runtime issues (runtime.futexsleep and
// futexwakeup); golang.org/x/sys/unix has no FUTEX_* constants.
const (
	futexWaitPrivate = 0 | 128 // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
	futexWakePrivate = 1 | 128 // FUTEX_WAKE | FUTEX_PRIVATE_FLAG
)

// goThreadCloneFlags are the clone flags of runtime.newosproc (cloneFlags in
// runtime/os_linux.go): a thread of this process, never a new process.
const goThreadCloneFlags = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND |
	unix.CLONE_SYSVSEM | unix.CLONE_SETTLS | unix.CLONE_THREAD

// runLoop is the vCPU run loop and what serves the hvt hypercalls: `uaaf
// run` of a plain guest after set-up needs this and goRuntime, nothing else.
var runLoop = []Rule{
	// ioctl on a vCPU fd. KVM_RUN: the run loop (monitor.Run's step,
	// libfuncs.Instance.Enter for every library call on the exit backend).
	// KVM_SET_SREGS, KVM_SET_REGS: Run gives the vCPU its boot state on the
	// vCPU thread (monitor's initVCPU), so after the filter. KVM_GET_REGS:
	// the guest's rip in the message of a fault that ends it, and the
	// registers of a --dumpcore core. KVM_GET_SREGS: dumpcore.
	{Syscall: unix.SYS_IOCTL, Arg: 1, Values: []uint64{kvmRun, kvmSetSregs, kvmSetRegs, kvmGetRegs, kvmGetSregs}},
	// clock_gettime of CLOCK_THREAD_CPUTIME_ID: Run reads the vCPU
	// thread's CPU time at its start and end (Stats.CPU); the vDSO does
	// not serve this clock, so it is always a syscall.
	{Syscall: unix.SYS_CLOCK_GETTIME, Arg: 0, Values: []uint64{unix.CLOCK_THREAD_CPUTIME_ID}},
	// write: PUTS to the console (fd 1, or any Config.Console writer) and the
	// monitor's log (fd 2); NET_WRITE to the tap fd; Monitor.Stop's write to
	// the waker eventfd that ends a blocked POLL.
	{Syscall: unix.SYS_WRITE},
	// read: NET_READ from the tap fd (non-blocking).
	{Syscall: unix.SYS_READ},
	// pread64, pwrite64: BLOCK_READ and BLOCK_WRITE on the backing file
	// (os.File.ReadAt/WriteAt).
	{Syscall: unix.SYS_PREAD64},
	{Syscall: unix.SYS_PWRITE64},
	// ppoll: POLL (solo5_yield) waits on the tap fds and the waker eventfd
	// with the guest's timeout.
	{Syscall: unix.SYS_PPOLL},
	// gettid, getpid, tgkill (own process only): hypervisor.VCPU.Start
	// records the vCPU thread, and VCPU.Stop kicks it out of KVM_RUN with
	// SIGURG (Monitor.Stop on a signal or context end; a library call's
	// deadline timer). The Go runtime needs the same three, see goRuntime.
	{Syscall: unix.SYS_GETTID},
	{Syscall: unix.SYS_GETPID},
	{Syscall: unix.SYS_TGKILL, Arg: 0, PID: true},
	// close: a vCPU fd and run page at the end of Run (release path), an
	// instance's VM and vCPU fds when a library instance is discarded.
	{Syscall: unix.SYS_CLOSE},
	// fstat: the host memory of a library's pristine image (the blocks of
	// its memfd), for `uaaf run --stats` and the daemon's metrics.
	{Syscall: unix.SYS_FSTAT},
	// munmap: a vCPU's kvm_run page on Close; a discarded library
	// instance's private RAM.
	{Syscall: unix.SYS_MUNMAP},
	// exit_group: the process ends from the halt handler (runcmd's fast
	// path) or when main returns.
	{Syscall: unix.SYS_EXIT_GROUP},
}

// lazyInstance is what a session needs to start a library instance at its
// first call to that library (libvm's Library.NewInstance, called from the
// switch handler on the vCPU thread), unless --eager started them all
// before the filter.
//
// Not here: opening /dev/kvm. libvm's Runtime opens its KVM device at its
// first instance, which comes after the filter (measured: openat of
// /dev/kvm O_RDWR, then KVM_GET_API_VERSION); an openat rule cannot check
// the path, so it would let a subverted monitor open any file read-write.
// Whoever installs Runner before a session runs must have the instances'
// KVM device open first: libvm.Config.Machines over a kvm.System opened
// before Install (the tests do this), or the runtime opened early.
var lazyInstance = []Rule{
	// ioctl: the instance's own VM and vCPU. KVM_GET_VCPU_MMAP_SIZE and
	// KVM_GET_SUPPORTED_CPUID are asked once per KVM device, possibly at
	// the first instance; then KVM_CREATE_VM, three memslots
	// (KVM_SET_USER_MEMORY_REGION), KVM_CREATE_VCPU, KVM_SET_CPUID2 and the
	// parked vCPU's KVM_SET_SREGS/KVM_SET_REGS (in runLoop).
	{Syscall: unix.SYS_IOCTL, Arg: 1, Values: []uint64{
		kvmCreateVM, kvmSetUserMemoryRegion, kvmCreateVCPU, kvmSetCPUID2,
		kvmGetVCPUMmapSize, kvmGetSupportedCPUID,
	}},
	// mmap (never executable): the copy-on-write MAP_PRIVATE mapping of the
	// library's memfd, and the vCPU's kvm_run page (MAP_SHARED on its fd).
	{Syscall: unix.SYS_MMAP, Arg: 2, NoBits: unix.PROT_EXEC},
	// mprotect (never executable): the library's text, rodata and
	// trampoline made read-only on the host (hypervisor.ProtectReadOnly).
	{Syscall: unix.SYS_MPROTECT, Arg: 2, NoBits: unix.PROT_EXEC},
}

// vmfuncSession is what the VMFUNC switch backend does on /dev/uaaf once the
// session runs (switcher's vmfuncSwitcher, vmfunc.Device): Attach, the view
// definitions and Enable run in the monitor's VCPUReady hook on the vCPU
// thread, Status on every hypercall (CheckHypercall) and on a view fault,
// Detach at Close. Derived from the code: no machine here has VMFUNC.
var vmfuncSession = []Rule{
	{Syscall: unix.SYS_IOCTL, Arg: 1, Values: []uint64{
		vmfunc.IocStatus, vmfunc.IocAttach, vmfunc.IocDefineView, vmfunc.IocEnable, vmfunc.IocDetach,
	}},
}

// goRuntime is what the Go runtime (and os/signal) of a static uaaf binary
// calls on its own after start-up, while goroutines run, block and move
// between threads. A C tender needs only a few of these; Go needs threads,
// signals for preemption, a scheduler monitor (sysmon) and a poller.
var goRuntime = []Rule{
	// futex: every lock, note and park/unpark that crosses threads
	// (runtime.futexsleep, futexwakeup): only the two private operations.
	{Syscall: unix.SYS_FUTEX, Arg: 1, Values: []uint64{futexWaitPrivate, futexWakePrivate}},
	// clone: runtime.newosproc when the scheduler starts another thread (M)
	// — after LockOSThread of a vCPU goroutine, or when a thread blocks in
	// KVM_RUN or ppoll: thread flags only, so no new process.
	{Syscall: unix.SYS_CLONE, Arg: 0, Values: []uint64{goThreadCloneFlags}},
	// prctl: PR_SET_VMA (runtime.setVMAName, Go 1.25+) names every heap
	// mapping the runtime adds, so it comes with heap growth at any time
	// (kernels without CONFIG_ANON_VMA_NAME answer EINVAL and Go stops
	// asking); PR_GET_SECCOMP is Self.
	{Syscall: unix.SYS_PRCTL, Arg: 0, Values: []uint64{unix.PR_SET_VMA, unix.PR_GET_SECCOMP}},
	// clock_gettime (CLOCK_REALTIME, CLOCK_MONOTONIC only): runtime.walltime
	// and nanotime go through the vDSO, which falls back to the syscall when
	// the clocksource has no vDSO mode (measured: never here, with tsc).
	// The monitor's WALLTIME reads time.Now.
	{Syscall: unix.SYS_CLOCK_GETTIME, Arg: 0, Values: []uint64{unix.CLOCK_MONOTONIC, unix.CLOCK_REALTIME}},
	// sched_getaffinity (of the caller, pid 0): sysmon re-derives the
	// default GOMAXPROCS once a second (Go 1.25+, runtime.getCPUCount) and
	// re-reads the cgroup CPU limit with pread64 on fds opened at start.
	// The uaaf binary turns this off (//go:debug updatemaxprocs=0 in
	// cmd/uaaf); test binaries and other main packages do not.
	{Syscall: unix.SYS_SCHED_GETAFFINITY, Arg: 0, Values: []uint64{0}},
	// kill (own process only): runtime.raiseproc, on a fatal signal with
	// GOTRACEBACK=crash.
	{Syscall: unix.SYS_KILL, Arg: 0, PID: true},
	// eventfd2 (EFD_CLOEXEC|EFD_NONBLOCK): the poller's wake-up fd, created
	// with the poller (see epoll_create1).
	{Syscall: unix.SYS_EVENTFD2, Arg: 1, Values: []uint64{unix.EFD_CLOEXEC | unix.EFD_NONBLOCK}},
	// epoll_create1, epoll_ctl: the runtime's poller starts at the first
	// timer (a call deadline's time.AfterFunc, a context timeout), which may
	// come after the filter.
	{Syscall: unix.SYS_EPOLL_CREATE1, Arg: 0, Values: []uint64{unix.EPOLL_CLOEXEC}},
	{Syscall: unix.SYS_EPOLL_CTL},
	// epoll_pwait: an idle thread waits for the next timer in the poller
	// (findRunnable), sysmon polls it.
	{Syscall: unix.SYS_EPOLL_PWAIT},
	// nanosleep: runtime.usleep (sysmon's 20 µs–10 ms naps, spinning
	// threads backing off).
	{Syscall: unix.SYS_NANOSLEEP},
	// sched_yield: runtime.osyield in spin loops (locks, GC, stopping the
	// world).
	{Syscall: unix.SYS_SCHED_YIELD},
	// mmap: heap arenas, goroutine and thread stacks (see lazyInstance for
	// the argument check, which is the same).
	{Syscall: unix.SYS_MMAP, Arg: 2, NoBits: unix.PROT_EXEC},
	// munmap: freed thread stacks and heap reservations.
	{Syscall: unix.SYS_MUNMAP},
	// madvise: the scavenger returns freed heap (MADV_FREE, MADV_DONTNEED)
	// and the runtime sets huge-page advice (MADV_HUGEPAGE, MADV_NOHUGEPAGE,
	// MADV_COLLAPSE) on heap metadata.
	{Syscall: unix.SYS_MADVISE, Arg: 2, Values: []uint64{
		unix.MADV_DONTNEED, unix.MADV_FREE, unix.MADV_HUGEPAGE, unix.MADV_NOHUGEPAGE, unix.MADV_COLLAPSE,
	}},
	// rt_sigreturn: the end of every signal handler — SIGURG preemption
	// (sysmon) and vCPU kicks arrive at any time.
	{Syscall: unix.SYS_RT_SIGRETURN},
	// rt_sigprocmask, sigaltstack: every new thread sets up its signal mask
	// and signal stack (runtime.minit), and undoes them when it exits;
	// newosproc blocks signals around clone.
	{Syscall: unix.SYS_RT_SIGPROCMASK},
	{Syscall: unix.SYS_SIGALTSTACK},
	// rt_sigaction: os/signal.Notify and Stop (uaaf run starts watching
	// SIGINT/SIGTERM on a goroutine that may finish after the filter), and
	// the runtime's dieFromSignal on a fatal signal.
	{Syscall: unix.SYS_RT_SIGACTION},
	// getpid, gettid, tgkill (own process only): runtime.preemptM sends
	// SIGURG to a thread running a goroutine for too long (signalM), raise
	// on a fatal signal; minit records each thread's id.
	{Syscall: unix.SYS_GETPID},
	{Syscall: unix.SYS_GETTID},
	{Syscall: unix.SYS_TGKILL, Arg: 0, PID: true},
	// read, write: draining and writing the poller's wake-up eventfd
	// (netpollBreak); fatal errors and tracebacks to fd 2.
	{Syscall: unix.SYS_READ},
	{Syscall: unix.SYS_WRITE},
	// pread64: the cgroup CPU limit (see sched_getaffinity).
	{Syscall: unix.SYS_PREAD64},
	// exit: a thread ends (runtime.mexit), e.g. when the goroutine locked to
	// a vCPU thread returns without unlocking it.
	{Syscall: unix.SYS_EXIT},
	// exit_group: the process ends.
	{Syscall: unix.SYS_EXIT_GROUP},
}

// controlPlane is what a long-lived uaaf process (the daemon) adds to run
// new guests after the filter and to serve HTTP on a unix socket: set-up of
// monitors, library preloads and taps, and net/http's listener. Measured
// with strace and in Log mode on `uaaf serve` (Install before Serve, its
// API driven through every route kind) and on the daemon test's child
// (daemontest), which installs Daemon before it even listens.
var controlPlane = []Rule{
	// ioctl: monitor.New and library preload: opening KVM
	// (KVM_GET_API_VERSION, KVM_CHECK_EXTENSION), the boot clock
	// (KVM_GET_TSC_KHZ); a tap by name (TUNSETIFF on /dev/net/tun,
	// SIOCGIFFLAGS/SIOCGIFMTU on a datagram socket: monitor's openNet); the
	// VMFUNC module's probe (version, capabilities; from the code).
	{Syscall: unix.SYS_IOCTL, Arg: 1, Values: []uint64{
		kvmGetAPIVersion, kvmCheckExtension, kvmGetTSCKHz,
		unix.TUNSETIFF, unix.SIOCGIFFLAGS, unix.SIOCGIFMTU,
		vmfunc.IocVersion, vmfunc.IocCaps,
	}},
	// socket: AF_INET datagram for the tap ioctls; AF_UNIX stream for the
	// listener (a reload may listen again).
	{Syscall: unix.SYS_SOCKET, Arg: 0, Values: []uint64{unix.AF_UNIX, unix.AF_INET}},
	// clock_gettime of any clock: a running session's CPU time is read
	// from its vCPU thread's CPU-time clock (monitor.ThreadCPU), whose id
	// is made from the thread's tid.
	{Syscall: unix.SYS_CLOCK_GETTIME},
	// seccomp(SECCOMP_SET_MODE_FILTER) and prctl(PR_SET_NO_NEW_PRIVS): each
	// session's vCPU thread adds the Runner filter to its own (InstallThread).
	// A filter can only narrow what a thread may do.
	{Syscall: unix.SYS_SECCOMP, Arg: 0, Values: []uint64{unix.SECCOMP_SET_MODE_FILTER}},
	{Syscall: unix.SYS_PRCTL, Arg: 0, Values: []uint64{unix.PR_SET_NO_NEW_PRIVS}},
	// net.Listen("unix") and http.Server: bind, listen, getsockname,
	// setsockopt (SO_REUSEADDR), accept4; shutdown when the server closes a
	// connection's write side (net/http's closeWriteAndWait); unlinkat when
	// the listener closes and removes its socket file.
	{Syscall: unix.SYS_BIND},
	{Syscall: unix.SYS_LISTEN},
	{Syscall: unix.SYS_GETSOCKNAME},
	{Syscall: unix.SYS_SETSOCKOPT},
	{Syscall: unix.SYS_ACCEPT4},
	{Syscall: unix.SYS_SHUTDOWN},
	{Syscall: unix.SYS_UNLINKAT},
	// openat: images (hvt.Open), library images, /dev/kvm, block backing
	// files (read-write), /dev/net/tun, /dev/uaaf, and
	// /proc/sys/net/core/somaxconn (net.Listen, once). The widest hole of
	// this profile: seccomp cannot check a path.
	{Syscall: unix.SYS_OPENAT},
	// fstat, newfstatat, lseek: File.Stat and os.Stat of images and library
	// paths, the loader's seeks.
	{Syscall: unix.SYS_FSTAT},
	{Syscall: unix.SYS_NEWFSTATAT},
	{Syscall: unix.SYS_LSEEK},
	// fcntl: os.OpenFile's and os.NewFile's non-blocking checks
	// (F_GETFL/F_SETFL); an @FD tap's F_GETFD check.
	{Syscall: unix.SYS_FCNTL, Arg: 1, Values: []uint64{unix.F_GETFL, unix.F_SETFL, unix.F_GETFD}},
	// memfd_create, ftruncate: a library preload's pristine memory.
	{Syscall: unix.SYS_MEMFD_CREATE},
	{Syscall: unix.SYS_FTRUNCATE},
	// getrandom: a net device's random MAC (monitor's randomMAC).
	{Syscall: unix.SYS_GETRANDOM},
	// bpf BPF_MAP_LOOKUP_ELEM: `uaaf serve` reads the kernel's VM-exit
	// counter (kvmtrace, eBPF) for /metrics; loading programs and maps
	// happens before the filter.
	{Syscall: unix.SYS_BPF, Arg: 0, Values: []uint64{unix.BPF_MAP_LOOKUP_ELEM}},
	// statfs: the Prometheus process collector of /metrics checks that
	// /proc is procfs before reading /proc/self/* (openat, read).
	{Syscall: unix.SYS_STATFS},
	// eventfd2: the monitor's waker (EFD_CLOEXEC|EFD_NONBLOCK, as the
	// poller's in goRuntime).
}

// dumpCore is what --dumpcore DIR adds once the guest aborted
// (monitor.dumpCore), measured with strace and in Log mode.
var dumpCore = []Rule{
	// openat: the core file, created new, write only (Go's os.OpenFile
	// adds O_CLOEXEC; O_LARGEFILE is 0 on amd64).
	{Syscall: unix.SYS_OPENAT, Arg: 2, Values: []uint64{unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_CLOEXEC}},
	// fcntl F_GETFL/F_SETFL: os.OpenFile sets O_NONBLOCK to try the poller
	// (which starts now if it had not: epoll_create1, eventfd2, epoll_ctl,
	// in goRuntime), and clears it again when epoll refuses a regular file.
	{Syscall: unix.SYS_FCNTL, Arg: 1, Values: []uint64{unix.F_GETFL, unix.F_SETFL}},
	// mincore: only resident guest pages are written (hypervisor.Resident);
	// pwrite64 (in runLoop) writes them; ftruncate sizes the sparse file.
	{Syscall: unix.SYS_MINCORE},
	{Syscall: unix.SYS_FTRUNCATE},
}

// Runner is the profile of a process that runs guests whose VM and vCPU
// already exist: `uaaf run` after monitor.New (or session.New) and before
// Run. It covers the run loop and every hvt hypercall (console, block, net,
// poll, walltime, halt, dumpcore's register reads), Stop from any
// goroutine, library instances started lazily at a session's first call on
// the exit backend (from a KVM device opened before Install: see
// lazyInstance), the VMFUNC backend's device calls, and the Go runtime. It
// does not cover opening files: --dumpcore (which creates its core file
// after the guest aborted) needs RunnerDumpCore.
var Runner = Profile{Name: "runner", Groups: [][]Rule{runLoop, lazyInstance, vmfuncSession, goRuntime}}

// RunnerDumpCore is Runner plus creating the core file of --dumpcore DIR
// (monitor.dumpCore: os.OpenFile with O_WRONLY|O_CREATE|O_EXCL, then
// writes, File.Close). It lets a subverted monitor create new files
// wherever the process may, so use it only when --dumpcore is given.
var RunnerDumpCore = Profile{Name: "runner+dumpcore", Groups: [][]Rule{runLoop, lazyInstance, vmfuncSession, goRuntime, dumpCore}}

// Daemon is Runner plus the control plane of a long-lived server: creating
// monitors, preloading libraries and attaching taps after the filter, and
// serving HTTP on a unix socket. Opening any file (openat) is the biggest
// hole it adds; a process that runs only guests should use Runner.
var Daemon = Profile{Name: "daemon", Groups: [][]Rule{runLoop, lazyInstance, vmfuncSession, goRuntime, controlPlane}}
