// Package seccomp confines a uaaf process that runs hostile guest code to
// the system calls it needs once its guests are set up, as solo5-hvt does
// before its run loop: a seccomp BPF allowlist, loaded for every thread.
//
// Use: after monitor.New (or session.New) and before Run,
//
//	if err := seccomp.Install(mode, seccomp.Runner); err != nil { ... }
//
// with mode from ParseMode(--seccomp value), Kill by default. Kill ends the
// process with SIGSYS at the first call outside the profile
// (SECCOMP_RET_KILL_PROCESS), Log lets it through and has the kernel log it
// (SECCOMP_RET_LOG: "audit: type=1326 ... syscall=N ... code=0x7ffc0000" in
// dmesg), Off does nothing. Self reports the state under the filter (for
// --stats and `uaaf probe`), Status reads another process's.
//
// Profiles are data, all in allowlist.go, each syscall with who needs it:
// Runner (a process whose guests already exist: run loop, hypercalls, Stop,
// lazily started library instances given a KVM device opened before
// Install, the VMFUNC backend, the Go runtime),
// RunnerDumpCore (Runner plus writing a --dumpcore file) and Daemon
// (Runner plus creating guests and serving HTTP on a unix socket). How they
// were derived and what each costs is in README.md.
//
// Arguments are checked where it holds: ioctl request numbers, clone flags
// (threads only), futex operations, clock ids, tgkill/kill targets (this
// process), mmap/mprotect never executable, madvise advice, prctl options,
// socket families. File descriptors are not: the console may be any writer
// and block, tap and eventfd numbers are only known after set-up.
//
// The BPF program is compiled here, not with github.com/elastic/go-seccomp-bpf
// (which the tests use as the reference syscall table, with x/net/bpf's
// interpreter): linking that library costs every uaaf start 0.1–0.3 ms of
// package initialisation (syscall tables of five architectures), its
// Policy.Assemble (v1.6.0) mis-compiles argument checks (after a failed
// check it compares the next syscall number with an argument word: ioctl
// with a request whose high half is 1 passes a policy that allows write),
// and its LoadFilter takes a thread that TSYNC could not synchronise for
// success and may set no_new_privs on another thread than it loads on.
package seccomp
