package monitor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/guestmem"
	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

// Layout of the fuzzed guest memory: small, so that the fuzzer reaches its
// top easily. Seeds put argument structs at fuzzArg and buffers at fuzzBuf.
const (
	fuzzMemSize  = 64 << 10
	fuzzTextGPA  = 0x4000 // a read-only page inside the fuzzed guest memory
	fuzzArg      = 0x1000
	fuzzBuf      = 0x2000
	fuzzDiskSize = 8 << 10
	fuzzBlkIdx   = 1 // manifest index of the block device
	fuzzNetIdx   = 2 // manifest index of the net device
)

// fuzzMem returns a guest memory image with the words at fuzzArg set to
// words and data at fuzzBuf.
func fuzzMem(data []byte, words ...uint64) []byte {
	b := make([]byte, fuzzBuf+len(data))
	for i, w := range words {
		binary.LittleEndian.PutUint64(b[fuzzArg+8*i:], w)
	}
	copy(b[fuzzBuf:], data)
	return b
}

// FuzzHypercall calls every hypercall handler but POLL (which blocks) with a
// fuzzed argument pointer over fuzzed guest memory. A handler must never
// panic, and every error must be the guest's (*GuestError) or the host's
// (ErrHost), on one line. The block backing file must never change size.
func FuzzHypercall(f *testing.F) {
	sector := make([]byte, 512)
	for i := range sector {
		sector[i] = byte(i)
	}
	// PUTS
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzArg), fuzzMem([]byte("hello\n"), fuzzBuf, 6))
	// Results aimed at the read-only page: refused, never written.
	f.Add(uint8(hvt.HypercallWalltime), uint64(fuzzTextGPA), []byte{})
	f.Add(uint8(hvt.HypercallHalt), uint64(fuzzTextGPA+8), []byte{})
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzArg), fuzzMem(nil, fuzzBuf, ^uint64(0)))
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzArg), fuzzMem(nil, fuzzBuf, fuzzMemSize-fuzzBuf))
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzArg), fuzzMem(nil, ^uint64(0)-2, 8))
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzMemSize), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzMemSize-hvt.SizePuts), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallPuts), ^uint64(0)-7, fuzzMem(nil))
	// WALLTIME at the top of memory: ending exactly at the top is invalid.
	f.Add(uint8(hvt.HypercallWalltime), uint64(fuzzMemSize-hvt.SizeWalltime), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallWalltime), uint64(fuzzMemSize-hvt.SizeWalltime-1), fuzzMem(nil))
	// BLOCK_READ / BLOCK_WRITE: handle, offset, data, len.
	f.Add(uint8(hvt.HypercallBlockRead), uint64(fuzzArg), fuzzMem(nil, fuzzBlkIdx, 0, fuzzBuf, 512))
	f.Add(uint8(hvt.HypercallBlockWrite), uint64(fuzzArg), fuzzMem(sector, fuzzBlkIdx, 512, fuzzBuf, 512))
	f.Add(uint8(hvt.HypercallBlockWrite), uint64(fuzzArg), fuzzMem(sector, fuzzBlkIdx, fuzzDiskSize-512, fuzzBuf, 512))
	f.Add(uint8(hvt.HypercallBlockWrite), uint64(fuzzArg), fuzzMem(sector, fuzzBlkIdx, fuzzDiskSize, fuzzBuf, 512))
	f.Add(uint8(hvt.HypercallBlockWrite), uint64(fuzzArg), fuzzMem(sector, fuzzBlkIdx, fuzzDiskSize-256, fuzzBuf, 512))
	f.Add(uint8(hvt.HypercallBlockRead), uint64(fuzzArg), fuzzMem(nil, fuzzBlkIdx, ^uint64(0)-255, fuzzBuf, 512))
	f.Add(uint8(hvt.HypercallBlockRead), uint64(fuzzArg), fuzzMem(nil, fuzzBlkIdx, 0, fuzzBuf, ^uint64(0)))
	f.Add(uint8(hvt.HypercallBlockRead), uint64(fuzzArg), fuzzMem(nil, fuzzBlkIdx, 0, fuzzMemSize-256, 512))
	f.Add(uint8(hvt.HypercallBlockRead), uint64(fuzzArg), fuzzMem(nil, 0, 0, fuzzBuf, 512))
	f.Add(uint8(hvt.HypercallBlockRead), uint64(fuzzArg), fuzzMem(nil, fuzzNetIdx, 0, fuzzBuf, 512))
	f.Add(uint8(hvt.HypercallBlockWrite), uint64(fuzzArg), fuzzMem(nil, 63, 0, fuzzBuf, 512))
	f.Add(uint8(hvt.HypercallBlockWrite), uint64(fuzzArg), fuzzMem(nil, ^uint64(0), 0, fuzzBuf, 512))
	// NET_WRITE / NET_READ: handle, data, len.
	f.Add(uint8(hvt.HypercallNetWrite), uint64(fuzzArg), fuzzMem(sector[:60], fuzzNetIdx, fuzzBuf, 60))
	f.Add(uint8(hvt.HypercallNetRead), uint64(fuzzArg), fuzzMem(nil, fuzzNetIdx, fuzzBuf, 1514))
	f.Add(uint8(hvt.HypercallNetRead), uint64(fuzzArg), fuzzMem(nil, fuzzBlkIdx, fuzzBuf, 1514))
	f.Add(uint8(hvt.HypercallNetWrite), uint64(fuzzArg), fuzzMem(nil, fuzzNetIdx, fuzzBuf, ^uint64(0)))
	// HALT: cookie, status.
	f.Add(uint8(hvt.HypercallHalt), uint64(fuzzArg), fuzzMem(nil, 0, 255))
	f.Add(uint8(hvt.HypercallHalt), uint64(fuzzArg), fuzzMem(nil, fuzzBuf, 255))
	f.Add(uint8(hvt.HypercallHalt), uint64(fuzzArg), fuzzMem(nil, fuzzMemSize-hvt.HaltCookieSize, 1))
	// Hypercall numbers without a handler.
	f.Add(uint8(0), uint64(fuzzArg), fuzzMem(nil))
	f.Add(uint8(200), uint64(fuzzArg), fuzzMem(nil))

	dir := f.TempDir()
	disk := filepath.Join(dir, "disk.img")
	if err := os.WriteFile(disk, make([]byte, fuzzDiskSize), 0o600); err != nil {
		f.Fatal(err)
	}
	blk, err := openBlock(BlockSpec{Name: "storage", Path: disk})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(blk.close)
	// The net backend is one end of a datagram socket pair: writes go to
	// the other end (drained after each call), reads find nothing (EAGAIN).
	sp, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		f.Fatal(err)
	}
	nd := &netDevice{fd: sp[0], mtu: 1500}
	f.Cleanup(func() { unix.Close(sp[0]); unix.Close(sp[1]) })
	drain := make([]byte, fuzzMemSize)

	f.Fuzz(func(t *testing.T, nr uint8, gpa uint64, memSeed []byte) {
		call := hvt.Hypercall(nr)
		if call == hvt.HypercallPoll {
			return
		}
		// Guest RAM as the monitor has it: an mmap whose "text" page is
		// read-only on the host, so a handler that wrote there would crash
		// the fuzzer instead of passing.
		ram, err := guestmem.Alloc(fuzzMemSize)
		if err != nil {
			t.Fatal(err)
		}
		defer guestmem.Free(ram)
		copy(ram, memSeed)
		if err := guestmem.ProtectReadOnly(ram, fuzzTextGPA, guestmem.PageSize); err != nil {
			t.Fatal(err)
		}
		m := &Monitor{
			cfg: Config{
				Blocks: []BlockSpec{{Name: "storage", Path: disk}},
				Nets:   []NetSpec{{Name: "service0", FD: sp[0]}},
			},
			console: io.Discard,
			log:     io.Discard,
			ram:     ram,
			mem:     hvt.Memory(ram),
			devices: []device{nil, blk, nd},
			waker:   -1,
			ro:      []hvt.Range{{Start: fuzzTextGPA, End: fuzzTextGPA + guestmem.PageSize}},
		}
		m.registerHypercalls()
		if int(nr) >= len(m.handlers) || m.handlers[call] == nil {
			// The run loop turns these into "Invalid guest port access" or
			// "Invalid guest hypercall" before any handler runs.
			if call >= hvt.HypercallWalltime && call <= hvt.HypercallHalt && call != hvt.HypercallPoll {
				t.Fatalf("no handler for %v with block and net devices attached", call)
			}
			return
		}
		err = m.handlers[call](m, gpa)
		for {
			if _, err := unix.Read(sp[1], drain); err != nil {
				break
			}
		}
		if err != nil {
			var ge *GuestError
			if !errors.As(err, &ge) && !errors.Is(err, ErrHost) {
				t.Fatalf("%v(gpa=%#x) = %T %v: neither a GuestError nor ErrHost", call, gpa, err, err)
			}
			if strings.Contains(err.Error(), "\n") || err.Error() == "" {
				t.Fatalf("%v(gpa=%#x): error %q is not one non-empty line", call, gpa, err)
			}
		}
		fi, serr := blk.f.Stat()
		if serr != nil {
			t.Fatal(serr)
		}
		if fi.Size() != fuzzDiskSize {
			t.Fatalf("%v(gpa=%#x): backing file size changed to %d", call, gpa, fi.Size())
		}
		if call == hvt.HypercallHalt && err == nil && !m.halted {
			t.Fatalf("HALT succeeded but the guest is not halted")
		}
	})
}

// FuzzCalleeHypercall calls the hypercalls a library instance may make
// (PUTS, WALLTIME, HALT) and the numbers it may not, with a fuzzed argument
// pointer over fuzzed memory in which the call area is inaccessible on the
// host: in a real instance those GPAs are the calling session's pages, so a
// handler that read or wrote there would serve the library from (or into)
// memory that is not its own. Touching them crashes the fuzzer. A library's
// HALT is always a fault; every error is a *GuestError naming the library,
// on one line.
func FuzzCalleeHypercall(f *testing.F) {
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzArg), fuzzMem([]byte("hi\n"), fuzzBuf, 3))
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzArg), fuzzMem(nil, uaafabi.CallGPA+64, 8))
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzArg), fuzzMem(nil, uaafabi.CallGPA-4, 8))
	f.Add(uint8(hvt.HypercallPuts), uint64(fuzzArg), fuzzMem(nil, 0xfffffffffffff000, 8192))
	f.Add(uint8(hvt.HypercallPuts), uint64(uaafabi.CallGPA), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallPuts), uint64(uaafabi.CallGPA-8), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallWalltime), uint64(uaafabi.WindowEnd-4), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallWalltime), uint64(uaafabi.WindowEnd), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallWalltime), uint64(fuzzTextGPA), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallHalt), uint64(fuzzArg), fuzzMem(nil, 0, 255))
	f.Add(uint8(hvt.HypercallHalt), uint64(uaafabi.CallGPA+8), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallBlockWrite), uint64(fuzzArg), fuzzMem(nil))
	f.Add(uint8(hvt.HypercallPoll), uint64(fuzzArg), fuzzMem(nil))
	// One guest memory per fuzzing process, protected once; the writable
	// parts are rewritten from each input.
	ram, err := guestmem.Alloc(fuzzMemSize)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { guestmem.Free(ram) })
	if err := guestmem.ProtectReadOnly(ram, fuzzTextGPA, guestmem.PageSize); err != nil {
		f.Fatal(err)
	}
	if err := unix.Mprotect(ram[uaafabi.CallGPA:uaafabi.WindowEnd], unix.PROT_NONE); err != nil {
		f.Fatal(err)
	}
	writable := [][2]int{{0, fuzzTextGPA}, {fuzzTextGPA + guestmem.PageSize, uaafabi.CallGPA}, {uaafabi.WindowEnd, fuzzMemSize}}
	f.Fuzz(func(t *testing.T, nr uint8, gpa uint64, memSeed []byte) {
		for _, w := range writable {
			clear(ram[w[0]:w[1]])
			if w[0] < len(memSeed) {
				copy(ram[w[0]:w[1]], memSeed[w[0]:])
			}
		}
		var console bytes.Buffer
		m := &Monitor{
			callee: &callee{name: "lib"}, console: &console, log: io.Discard, waker: -1,
			ram: ram, mem: hvt.Memory(ram), ramBorrowed: true,
			ro: []hvt.Range{{Start: fuzzTextGPA, End: fuzzTextGPA + guestmem.PageSize}},
		}
		m.registerCalleeHypercalls()
		call := hvt.Hypercall(nr)
		if int(nr) >= len(m.handlers) || m.handlers[call] == nil {
			if call == hvt.HypercallPuts || call == hvt.HypercallWalltime || call == hvt.HypercallHalt {
				t.Fatalf("no handler for %v in a library instance", call)
			}
			return // the run loop's "Invalid guest hypercall" fault
		}
		err = m.handlers[call](m, gpa)
		if err == nil {
			if call == hvt.HypercallHalt {
				t.Fatalf("a library's HALT(gpa=%#x) was served", gpa)
			}
			return
		}
		var ge *GuestError
		if !errors.As(err, &ge) || !strings.HasPrefix(err.Error(), "library lib: ") {
			t.Fatalf("%v(gpa=%#x) = %T %v: not a GuestError naming the library", call, gpa, err, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("%v(gpa=%#x): error %q is not one line", call, gpa, err)
		}
	})
}
