package seccomp

import (
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// Rule allows one system call: with any arguments, or only when one argument
// passes one check. At most one of Values, NoBits and PID may be set. A rule
// with Errno refuses the call instead (with that errno, not the profile's
// action): it takes no check and is the syscall's only rule.
type Rule struct {
	// Syscall is the call's amd64 number (unix.SYS_PREAD64).
	Syscall int
	// Arg is the index (0–5) of the argument the check applies to.
	Arg int
	// Values, if non-empty, are the values argument Arg may have, compared
	// in this order on all 64 bits (put the hottest first).
	Values []uint64
	// NoBits, if non-zero, are bits argument Arg must not have set.
	NoBits uint64
	// PID requires argument Arg to be the pid of the process that installs
	// the filter (known only then).
	PID bool
	// Errno, if non-zero, makes the call fail with this errno: for a call
	// whose arguments seccomp cannot see (clone3's flags are in memory)
	// but whose caller falls back to one it can check.
	Errno unix.Errno
}

// Profile is a named allowlist: the rules of its groups, in order. Several
// rules for one syscall are alternatives (a call passing any of them is
// allowed), and a rule without a check makes the others moot. The filter
// tests the syscalls with argument checks first, in the order of their
// first rule (put the hottest first), then the others. (Groups rather than
// one list keeps the package's profiles static data: nothing to build when
// uaaf starts.)
type Profile struct {
	Name   string
	Groups [][]Rule
}

// rules returns p's rules in order.
func (p Profile) rules() []Rule {
	var rs []Rule
	for _, g := range p.Groups {
		rs = append(rs, g...)
	}
	return rs
}

// Syscalls returns the distinct syscall numbers p allows, in the order of
// their first rule.
func (p Profile) Syscalls() []int {
	var nrs []int
	for _, r := range p.rules() {
		if !slices.Contains(nrs, r.Syscall) {
			nrs = append(nrs, r.Syscall)
		}
	}
	return nrs
}

// check is one alternative of a syscall's argument checks: argument arg
// equals value, or (noBits) has none of value's bits set.
type check struct {
	arg    int
	value  uint64
	noBits bool
}

// checks validates r and returns its alternatives (nil: any arguments),
// with PID resolved to pid.
func (r Rule) checks(pid int) ([]check, error) {
	kinds := 0
	for _, set := range []bool{len(r.Values) > 0, r.NoBits != 0, r.PID} {
		if set {
			kinds++
		}
	}
	switch {
	case r.Syscall < 0 || r.Syscall >= 1<<30: // bit 30 is the x32 ABI's
		return nil, fmt.Errorf("%w: syscall number %d", ErrProfile, r.Syscall)
	case kinds > 1:
		return nil, fmt.Errorf("%w: syscall %d: Values, NoBits and PID are exclusive", ErrProfile, r.Syscall)
	case r.Arg < 0 || r.Arg > 5:
		return nil, fmt.Errorf("%w: syscall %d: argument index %d not in 0..5", ErrProfile, r.Syscall, r.Arg)
	case kinds == 0 && r.Arg != 0:
		return nil, fmt.Errorf("%w: syscall %d: argument %d named without a check", ErrProfile, r.Syscall, r.Arg)
	case r.Errno != 0 && kinds > 0:
		return nil, fmt.Errorf("%w: syscall %d: Errno takes no check", ErrProfile, r.Syscall)
	case r.Errno > 0xfff:
		return nil, fmt.Errorf("%w: syscall %d: errno %d out of range", ErrProfile, r.Syscall, int(r.Errno))
	}
	var cs []check
	for _, v := range r.Values {
		cs = append(cs, check{arg: r.Arg, value: v})
	}
	if r.NoBits != 0 {
		cs = append(cs, check{arg: r.Arg, value: r.NoBits, noBits: true})
	}
	if r.PID {
		cs = append(cs, check{arg: r.Arg, value: uint64(pid)})
	}
	return cs, nil
}

// Classic BPF as seccomp runs it (linux/filter.h, linux/seccomp.h).
const (
	bpfLoad = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS // A = 32-bit word at K of struct seccomp_data
	bpfJEq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	bpfJSet = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	bpfRet  = unix.BPF_RET | unix.BPF_K

	bpfMaxInsns = 4096 // BPF_MAXINSNS
	bpfMaxJump  = 255  // a conditional jump's offsets are 8 bits

	// Offsets in struct seccomp_data: nr, arch, then args[6] as 64-bit
	// words, each little-endian on amd64 (low half first).
	dataNR   = 0
	dataArch = 4
	dataArgs = 16
)

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

// program compiles p into a seccomp BPF program for arch (an AUDIT_ARCH_*
// value) that returns SECCOMP_RET_ALLOW for the calls p allows and def for
// every other call, including calls of another ABI (i386 through int 0x80;
// x32 numbers, which have bit 30 set, match nothing). pid resolves PID
// rules.
//
// Layout: check the arch, load the syscall number; then per syscall with
// argument checks, in filter order, "if nr == N" followed by its
// alternatives, each ending in "return allow", and a final "return def". A
// syscall's checks are entered only when its number matched and never fall
// through to the next syscall's test, which needs the number in the
// accumulator. Then the syscalls allowed with any arguments, whose tests
// jump to a shared "return allow". Every jump is short (8 bits).
func (p Profile) program(arch, def uint32, pid int) ([]unix.SockFilter, error) {
	rules := p.rules()
	if len(rules) == 0 {
		return nil, fmt.Errorf("%w: profile %q is empty", ErrProfile, p.Name)
	}
	type merged struct {
		any   bool // some rule allows every argument
		cs    []check
		errno unix.Errno
		rules int
	}
	calls := map[int]*merged{}
	for _, r := range rules {
		cs, err := r.checks(pid)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %w", p.Name, err)
		}
		m := calls[r.Syscall]
		if m == nil {
			m = &merged{}
			calls[r.Syscall] = m
		}
		m.rules++
		if r.Errno != 0 {
			m.errno = r.Errno
		} else if cs == nil {
			m.any = true
		}
		if m.errno != 0 && m.rules > 1 {
			return nil, fmt.Errorf("%w: profile %s: syscall %d: a rule with Errno must be its only rule", ErrProfile, p.Name, r.Syscall)
		}
		for _, c := range cs {
			if !slices.Contains(m.cs, c) {
				m.cs = append(m.cs, c)
			}
		}
	}

	allow := stmt(bpfRet, unix.SECCOMP_RET_ALLOW)
	deny := stmt(bpfRet, def)
	prog := []unix.SockFilter{
		stmt(bpfLoad, dataArch),
		jump(bpfJEq, arch, 1, 0),
		deny,
		stmt(bpfLoad, dataNR),
	}
	var free []uint32 // syscalls allowed with any arguments
	for _, nr := range p.Syscalls() {
		m := calls[nr]
		if m.errno != 0 {
			prog = append(prog, jump(bpfJEq, uint32(nr), 0, 1),
				stmt(bpfRet, unix.SECCOMP_RET_ERRNO|uint32(m.errno)))
			continue
		}
		if m.any {
			free = append(free, uint32(nr))
			continue
		}
		var block []unix.SockFilter
		for _, c := range m.cs {
			lo, hi := uint32(c.value), uint32(c.value>>32)
			offLo := uint32(dataArgs + 8*c.arg)
			if c.noBits {
				if hi != 0 { // a forbidden high bit: on to the next alternative
					block = append(block, stmt(bpfLoad, offLo+4), jump(bpfJSet, hi, 3, 0))
				}
				block = append(block, stmt(bpfLoad, offLo), jump(bpfJSet, lo, 1, 0), allow)
				continue
			}
			block = append(block,
				stmt(bpfLoad, offLo+4), jump(bpfJEq, hi, 0, 3), // high half differs: next alternative
				stmt(bpfLoad, offLo), jump(bpfJEq, lo, 0, 1), // low half differs: skip the allow
				allow)
		}
		block = append(block, deny)
		if len(block) > bpfMaxJump {
			return nil, fmt.Errorf("%w: profile %s: syscall %d has too many alternatives", ErrProfile, p.Name, nr)
		}
		prog = append(prog, jump(bpfJEq, uint32(nr), 0, uint8(len(block))))
		prog = append(prog, block...)
	}
	// The syscalls without checks, in runs that share one "return allow"
	// (the kernel's action cache answers these without running the
	// program, so their place does not matter at run time).
	for len(free) > 0 {
		run := free[:min(len(free), bpfMaxJump)]
		free = free[len(run):]
		for i, nr := range run {
			prog = append(prog, jump(bpfJEq, nr, uint8(len(run)-1-i), 0))
		}
		prog[len(prog)-1].Jf = 1 // the run's last test skips the allow
		prog = append(prog, allow)
	}
	prog = append(prog, deny)
	if len(prog) > bpfMaxInsns {
		return nil, fmt.Errorf("%w: profile %s: %d BPF instructions, the kernel takes %d", ErrProfile, p.Name, len(prog), bpfMaxInsns)
	}
	return prog, nil
}
