package monitor

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/vcpu"
)

// runGuest runs guest image name with cfg on real KVM and returns its exit
// status, console output, monitor log and error.
func runGuest(t *testing.T, name string, cfg Config) (int, string, string, error) {
	t.Helper()
	kvmtest.Require(t)
	cfg.Kernel = kvmtest.GuestImage(t, name)
	if cfg.MemSize == 0 {
		cfg.MemSize = 32 << 20
	}
	var console, log bytes.Buffer
	cfg.Console, cfg.Log = &console, &log
	m, err := New(cfg)
	if err != nil {
		return 0, "", "", err
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	status, err := m.Run(ctx)
	return status, console.String(), log.String(), err
}

func blockFile(t *testing.T, size int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(p, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestGuests runs the conformance guests of guest/tests and checks exit
// status and output the way Solo5's own test suite does.
func TestGuests(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		mem      uint64
		blocks   func(t *testing.T) []BlockSpec
		status   int
		contains []string
		excludes []string
		guestErr string // non-empty: Run must fail with a GuestError containing this
	}{
		{name: "hello", args: []string{"Hello_Solo5"}, contains: []string{"Hello, World", "Hello_Solo5", "SUCCESS"}},
		{name: "hello", args: []string{"wrong"}, status: 1, excludes: []string{"SUCCESS"}},
		{name: "quiet", args: []string{"--solo5:quiet"}, contains: []string{"SUCCESS"}, excludes: []string{"uaaf guest: starting"}},
		{name: "globals", contains: []string{"SUCCESS"}},
		{name: "tls", contains: []string{"SUCCESS"}},
		{name: "time", contains: []string{"SUCCESS"}},
		{name: "bigbss", contains: []string{"SUCCESS"}},
		{name: "output", args: []string{"Output_Solo5"}, contains: []string{"Output_Solo5"}},
		{name: "exitcode", args: []string{"7"}, status: 7},
		{name: "exitcode", args: []string{"255"}, status: 255},
		{name: "exitcode", args: []string{"0"}, status: 0},
		{name: "exception", status: 255, contains: []string{"ABORT"}, excludes: []string{"SUCCESS"}},
		{name: "zeropage", status: 255, contains: []string{"ABORT"}, excludes: []string{"SUCCESS"}},
		{name: "ssp", status: 255, contains: []string{"ABORT"}, excludes: []string{"SUCCESS"}},
		{name: "blk", blocks: func(t *testing.T) []BlockSpec {
			return []BlockSpec{{Name: "storage", Path: blockFile(t, 4<<20)}}
		}, contains: []string{"SUCCESS"}},
		{name: "blk", blocks: func(t *testing.T) []BlockSpec {
			return []BlockSpec{{Name: "storage", Path: blockFile(t, 4<<20), SectorSize: 4096}}
		}, contains: []string{"SUCCESS"}},
		{name: "maxdevices", blocks: func(t *testing.T) []BlockSpec {
			var specs []BlockSpec
			for i := 0; i < 63; i++ {
				specs = append(specs, BlockSpec{Name: "storage" + itoa(i), Path: blockFile(t, 4096)})
			}
			return specs
		}, contains: []string{"SUCCESS"}},
		// Hostile guests: each must end with the monitor's message, never a
		// panic, never SUCCESS.
		{name: "badport", guestErr: "Invalid guest port access: port=0x5ff"},
		{name: "badptr", guestErr: "Invalid guest access: gpa=0xfffff000"},
		{name: "badlen", guestErr: "sz=18446744073709551615"},
		{name: "badhalt", guestErr: "HALT: Invalid guest access"},
		{name: "triplefault", guestErr: "exit_reason=0x8"},
		{name: "writetext", guestErr: "host/guest translation fault"},
		// A hypercall asking the monitor to write into read-only text must
		// end the guest, not fault the monitor.
		{name: "walltext", guestErr: "WALLTIME: Invalid guest access: gpa=0x1"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+strings.Join(tt.args, "_"), func(t *testing.T) {
			cfg := Config{Args: tt.args, MemSize: tt.mem}
			if tt.blocks != nil {
				cfg.Blocks = tt.blocks(t)
			}
			status, out, _, err := runGuest(t, tt.name, cfg)
			if tt.guestErr != "" {
				var ge *GuestError
				if !errors.As(err, &ge) || !strings.Contains(err.Error(), tt.guestErr) {
					t.Fatalf("err = %v, want a GuestError containing %q (output %q)", err, tt.guestErr, out)
				}
				if strings.Contains(out, "SUCCESS") {
					t.Errorf("hostile guest printed SUCCESS")
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v (output %q)", err, out)
			}
			if status != tt.status {
				t.Errorf("status = %d, want %d; output:\n%s", status, tt.status, out)
			}
			for _, s := range tt.contains {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tt.excludes {
				if strings.Contains(out, s) {
					t.Errorf("output has %q:\n%s", s, out)
				}
			}
		})
	}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// TestBlockData checks that what the blk guest wrote is on the host file,
// byte for byte: blocks 0..7 and the last one hold the guest's pattern
// (byte i of block b is b*31+i mod 256), every other block is untouched.
func TestBlockData(t *testing.T) {
	const size, bs = 4 << 20, 512
	p := blockFile(t, size)
	status, out, _, err := runGuest(t, "blk", Config{Blocks: []BlockSpec{{Name: "storage", Path: p}}})
	if err != nil || status != 0 {
		t.Fatalf("status %d err %v output %q", status, err, out)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	last := size/bs - 1
	for _, b := range []int{0, 1, 2, 3, 4, 5, 6, 7, last} {
		for i := 0; i < bs; i++ {
			want[b*bs+i] = byte(b*31 + i)
		}
	}
	if len(data) != size {
		t.Fatalf("backing file is %d bytes, want %d", len(data), size)
	}
	for b := 0; b <= last; b++ {
		if got := data[b*bs : (b+1)*bs]; !bytes.Equal(got, want[b*bs:(b+1)*bs]) {
			t.Fatalf("block %d of the backing file: % x…, want % x…", b, got[:8], want[b*bs:b*bs+8])
		}
	}
}

// notELF writes a 100-byte file that is not an ELF image.
func notELF(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "not-elf")
	if err := os.WriteFile(p, bytes.Repeat([]byte("#!"), 50), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name  string
		image string
		cfg   Config
		kind  error
		msg   string
	}{
		{name: "undeclared block", image: "hello", cfg: Config{Blocks: []BlockSpec{{Name: "nope", Path: "/dev/null"}}}, kind: ErrUsage, msg: "Resource not declared in manifest: 'nope'"},
		{name: "block as net", image: "blk", cfg: Config{Nets: []NetSpec{{Name: "storage", Iface: "lo"}}}, kind: ErrUsage, msg: "Resource not declared in manifest: 'storage'"},
		{name: "unattached", image: "blk", kind: ErrUsage, msg: "Device 'storage' of type BLOCK_BASIC declared but not attached"},
		{name: "missing backing", image: "blk", cfg: Config{Blocks: []BlockSpec{{Name: "storage", Path: "/nonexistent/disk"}}}, kind: ErrConfig, msg: "Could not open backing storage"},
		{name: "misaligned backing", image: "blk", cfg: Config{Blocks: []BlockSpec{{Name: "storage", SectorSize: 4096}}}, kind: ErrConfig, msg: "Backing storage size must be block aligned (4096 bytes)"},
		{name: "cmdline too long", image: "hello", cfg: Config{Args: []string{strings.Repeat("x", 8192)}}, kind: ErrUsage, msg: "Guest command line too long (max=8191 characters)"},
		{name: "missing image", image: "", cfg: Config{Kernel: "/nonexistent.hvt"}, kind: ErrConfig, msg: "Could not open"},
		{name: "not elf", image: "", cfg: Config{Kernel: notELF(t)}, kind: ErrConfig, msg: "not-elf: invalid or unsupported executable (no ELF magic)"},
		{name: "short file", image: "", cfg: Config{Kernel: "/dev/null"}, kind: ErrConfig, msg: "/dev/null: not a regular file"},
		{name: "directory", image: "", cfg: Config{Kernel: "/"}, kind: ErrConfig, msg: "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if tt.image != "" {
				cfg.Kernel = kvmtest.GuestImage(t, tt.image)
			}
			for i := range cfg.Blocks {
				if cfg.Blocks[i].Path == "" {
					cfg.Blocks[i].Path = blockFile(t, 6<<10)
				}
			}
			cfg.MemSize = 4 << 20
			before := kvmtest.KVMFDs(t)
			m, err := New(cfg)
			if err == nil {
				m.Close()
				t.Fatal("New succeeded")
			}
			if n := kvmtest.KVMFDs(t); n != before {
				t.Errorf("%d KVM fds open after the failed New, want %d", n, before)
			}
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %v, want kind %v containing %q", err, tt.kind, tt.msg)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
		})
	}
}

// TestMachine checks Config.Machine: New uses a machine started for it,
// replaces one started from another device, and reports one that failed with
// solo5-hvt's wording; whatever happens, no KVM fd outlives the Monitor.
func TestMachine(t *testing.T) {
	kvmtest.Require(t)
	tests := []struct {
		name    string
		kvmPath string // Config.KVMPath
		machine string // device the given machine is started from
		memSize uint64
		wantErr string // "" means the hello guest runs
	}{
		{name: "prestarted", machine: kvm.DefaultPath},
		{name: "other device", machine: "/nonexistent/kvm"},
		{name: "failed machine", kvmPath: "/nonexistent/kvm", machine: "/nonexistent/kvm",
			wantErr: "(is KVM enabled, and may this user open /nonexistent/kvm?)"},
		{name: "New fails first", machine: kvm.DefaultPath, memSize: 3 << 20,
			wantErr: "not a multiple of 2 MiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := kvmtest.KVMFDs(t)
			var console bytes.Buffer
			cfg := Config{
				Kernel: kvmtest.GuestImage(t, "hello"), Args: []string{"Hello_Solo5"}, MemSize: 32 << 20, KVMPath: tt.kvmPath,
				Machine: kvm.StartMachine(tt.machine), Console: &console, Log: &bytes.Buffer{},
			}
			if tt.memSize != 0 {
				cfg.MemSize = tt.memSize
			}
			m, err := New(cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New = %v, want an error containing %q", err, tt.wantErr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				status, err := m.Run(context.Background())
				if err != nil || status != 0 || !strings.Contains(console.String(), "Hello, World") {
					t.Errorf("Run = %d, %v; console %q", status, err, console.String())
				}
				m.Close()
			}
			if n := kvmtest.KVMFDs(t); n != before {
				t.Errorf("%d KVM fds open afterwards, want %d", n, before)
			}
		})
	}
}

// TestStop checks that a guest blocked in a long poll can be stopped from
// another goroutine and that the run reports why.
func TestStop(t *testing.T) {
	kvmtest.Require(t)
	// The net guest with no limit serves forever: it polls with a long
	// timeout, which Stop must interrupt. It needs a net device; use a tap
	// fd substitute: a pipe read end is pollable and never readable.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	cfg := Config{
		Kernel:  kvmtest.GuestImage(t, "net"),
		MemSize: 32 << 20,
		Nets:    []NetSpec{{Name: "service0", FD: int(r.Fd())}},
		Console: &bytes.Buffer{}, Log: &bytes.Buffer{},
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = m.Run(ctx)
	if !errors.Is(err, vcpu.ErrStopped) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run = %v, want ErrStopped caused by the deadline", err)
	}
}

// TestSoleGuest runs guests whose vCPU keeps its P while in the guest
// (Config.SoleGuest): they run as usual, and a guest computing in the guest
// forever is still stopped by a context deadline — whose timer needs a P —
// even when there is a single P, which the runtime then takes back by
// preempting the vCPU goroutine.
func TestSoleGuest(t *testing.T) {
	kvmtest.Require(t)
	t.Run("hello", func(t *testing.T) {
		status, out, _, err := runGuest(t, "hello", Config{SoleGuest: true, Args: []string{"Hello_Solo5"}})
		if err != nil || status != 0 || !strings.Contains(out, "Hello, World") {
			t.Errorf("status %d err %v output %q", status, err, out)
		}
	})
	for _, procs := range []int{1, 2} {
		for _, sole := range []bool{false, true} {
			t.Run(fmt.Sprintf("spin stopped, GOMAXPROCS=%d, SoleGuest=%v", procs, sole), func(t *testing.T) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
				var out bytes.Buffer
				m, err := New(Config{
					Kernel: kvmtest.GuestImage(t, "spin"), MemSize: 32 << 20, SoleGuest: sole,
					Console: &out, Log: &out,
				})
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
				defer cancel()
				if _, err := m.Run(ctx); !errors.Is(err, vcpu.ErrStopped) || !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Run = %v, want ErrStopped by the deadline", err)
				}
				if !strings.Contains(out.String(), "spin: spinning") {
					t.Errorf("the guest never ran: output %q", out.String())
				}
			})
		}
	}
}

// TestDumpCore checks the core file of an aborting guest: an ELF core whose
// memory segment covers guest RAM and holds the guest's text.
func TestDumpCore(t *testing.T) {
	dir := t.TempDir()
	status, _, log, err := runGuest(t, "exception", Config{DumpCoreDir: dir})
	if err != nil || status != 255 {
		t.Fatalf("status %d err %v", status, err)
	}
	if !strings.Contains(log, "dumpcore: dumping guest core to: ") {
		t.Errorf("log lacks dumpcore line: %q", log)
	}
	matches, _ := filepath.Glob(filepath.Join(dir, "core.solo5-hvt.*"))
	if len(matches) != 1 {
		t.Fatalf("core files: %v", matches)
	}
	f, err := elf.Open(matches[0])
	if err != nil {
		t.Fatalf("core is not ELF: %v", err)
	}
	defer f.Close()
	if f.Type != elf.ET_CORE || f.Machine != elf.EM_X86_64 || len(f.Progs) != 2 {
		t.Fatalf("core header: type %v machine %v %d phdrs", f.Type, f.Machine, len(f.Progs))
	}
	load := f.Progs[1]
	if load.Type != elf.PT_LOAD || load.Memsz != 32<<20 {
		t.Fatalf("PT_LOAD %+v", load.ProgHeader)
	}
	text := make([]byte, 16)
	if _, err := load.ReadAt(text, 0x100000); err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(text, make([]byte, 16)) {
		t.Error("core has no guest text at 0x100000")
	}
}

// TestTemplateGuests: guests of a template — New from it, with a machine
// of the pool's kind, and from a shell made ahead — run like any guest,
// and their text is read-only to them (read-only memslots, the host
// mapping left whole; or protected on the host, where KVM has no read-only
// memslots or the template asks for it): a store into it and a hypercall
// asking the monitor to write there end the guest with the monitor's
// message.
func TestTemplateGuests(t *testing.T) {
	kvmtest.Require(t)
	tests := []struct {
		name, arg string
		guestErr  string
	}{
		{name: "hello", arg: "Hello_Solo5"},
		{name: "writetext", guestErr: "host/guest translation fault"},
		{name: "walltext", guestErr: "WALLTIME: Invalid guest access: gpa=0x1"},
	}
	sys, err := kvm.Open(kvm.DefaultPath)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close()
	cpuid, err := sys.SupportedCPUID()
	if err != nil {
		t.Fatal(err)
	}
	type mode struct {
		shell       bool
		noROSlots   bool // as on a KVM without read-only memslots
		onHostAsked bool // Template.ProtectOnHost
	}
	var modes []mode
	for _, shell := range []bool{false, true} {
		modes = append(modes, mode{shell, false, false}, mode{shell, true, false}, mode{shell, false, true})
	}
	for _, tt := range tests {
		for _, c := range modes {
			shell := c.shell
			t.Run(fmt.Sprintf("%s/shell=%v/no-ro-memslots=%v/protect-on-host=%v", tt.name, c.shell, c.noROSlots, c.onHostAsked), func(t *testing.T) {
				img, err := OpenImage(kvmtest.GuestImage(t, tt.name))
				if err != nil {
					t.Fatal(err)
				}
				tmpl, err := NewTemplate(img, 8<<20, nil)
				img.Close()
				if err != nil {
					t.Fatal(err)
				}
				defer tmpl.Close()
				if c.onHostAsked {
					tmpl.ProtectOnHost()
				}
				machine, err := sys.NewMachine(cpuid)
				if err != nil {
					t.Fatal(err)
				}
				if c.noROSlots {
					// As on a KVM without read-only memslots.
					readOnlySlots(machine.VM)
					saved := roSupported
					roSupported = false
					defer func() { roSupported = saved }()
				}
				var console bytes.Buffer
				cfg := Config{Template: tmpl, Console: &console, Log: io.Discard}
				if tt.arg != "" {
					cfg.Args = []string{tt.arg}
				}
				if shell {
					if cfg.Shell, err = tmpl.NewShell(machine); err != nil {
						t.Fatal(err)
					}
				} else {
					cfg.ReadyMachine = machine
				}
				m, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer m.Close()
				// The host mapping of the text: read-only where it is
				// protected on the host, else writable, the memslot
				// read-only.
				text := uint64(reflect.ValueOf(m.RAM()).Pointer()) + hvt.GuestMinBase
				wantPerms := "rw-"
				if c.noROSlots || c.onHostAsked {
					wantPerms = "r--"
				}
				if perms := kvmtest.HostPerms(t, text); perms != wantPerms {
					t.Errorf("host mapping of the text: %q, want %q", perms, wantPerms)
				}
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				status, err := m.Run(ctx)
				out := console.String()
				if tt.guestErr == "" {
					if err != nil || status != 0 || !strings.Contains(out, "SUCCESS") {
						t.Fatalf("status %d, err %v, output %q; want 0 and SUCCESS", status, err, out)
					}
					return
				}
				var ge *GuestError
				if !errors.As(err, &ge) || !strings.Contains(err.Error(), tt.guestErr) || strings.Contains(out, "SUCCESS") {
					t.Fatalf("err = %v (output %q), want a GuestError containing %q", err, out, tt.guestErr)
				}
			})
		}
	}
}
