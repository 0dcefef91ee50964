package monitor

import (
	"github.com/uaaf/uaaf/hypervisor/hvt"

	"fmt"
	"strconv"
	"strings"
)

// Usage is the synopsis and option list of the monitor's command line:
// solo5-hvt's, with the same spellings and meanings. `uaaf run` adds its
// own options (see cmd/internal/runcmd).
const Usage = `usage: uaaf run [OPTIONS] [--] KERNEL [ARGS...]

KERNEL is an hvt unikernel image (built by Solo5's toolchain or uaaf's guest/
SDK); ARGS are passed to it as its command line.

Options (the same spellings and meanings as solo5-hvt):
  --mem=MiB                       guest memory in MiB (default 512, max 4096,
                                  rounded down to a multiple of 2)
  --block:NAME=PATH               attach file PATH as block device NAME
  --block-sector-size:NAME=N      sector size of NAME: a power of two >= 512
                                  (default 512)
  --net:NAME=IFACE                attach tap interface IFACE as net device NAME
  --net:NAME=@FD                  attach the already open tap fd FD instead
  --net-mac:NAME=HWADDR           MAC address of NAME (default: random)
  --dumpcore=DIR                  write an ELF core to DIR if the guest aborts
  --version                       print uaaf's version and the hvt ABI version,
                                  and exit
  --help                          print this help and exit
`

// Args is a parsed `uaaf run` / solo5-hvt command line.
type Args struct {
	Config Config
	// MemAdjusted is set when --mem was rounded; the caller warns with
	// "adjusting memory to N bytes" as solo5-hvt does.
	MemAdjusted bool
	// Help and Version are set by --help and --version; nothing else is
	// checked then.
	Help, Version bool
}

// usageLine ends the message of a command line without KERNEL.
const usageLine = "usage: uaaf run [OPTIONS] [--] KERNEL [ARGS...] (see uaaf run --help)"

// takesValue reports whether option key (without "=") needs a value, which
// may then be the next word ("--mem 32" as well as solo5-hvt's "--mem=32").
func takesValue(key string) bool {
	switch {
	case strings.Contains(key, "="):
		return false
	case key == "--mem", key == "--dumpcore":
		return true
	}
	for _, p := range []string{"--block:", "--block-sector-size:", "--net:", "--net-mac:"} {
		if strings.HasPrefix(key, p) && len(key) > len(p) {
			return true
		}
	}
	return false
}

// ParseArgs parses solo5-hvt's command line: options, then KERNEL (the first
// word not starting with '-', or the word after "--"), then the guest's
// arguments. An option's value may also be the next word ("--mem 32").
// Errors wrap ErrUsage and read like solo5-hvt's.
func ParseArgs(argv []string) (*Args, error) {
	a := &Args{}
	argv, err := joinValues(argv)
	if err != nil {
		return nil, err
	}
	kernel := -1
	for i, w := range argv {
		if w == "--" {
			if i+1 < len(argv) {
				kernel = i + 1
			}
			break
		}
		if w == "--help" || w == "-h" {
			a.Help = true
			return a, nil
		}
		if w == "--version" {
			a.Version = true
			return a, nil
		}
		if !strings.HasPrefix(w, "-") {
			kernel = i
			break
		}
	}
	if kernel < 0 {
		return nil, usageErr("Missing KERNEL operand; " + usageLine)
	}
	a.Config.Kernel = argv[kernel]
	a.Config.Args = append([]string(nil), argv[kernel+1:]...)

	sectors := map[string]uint16{}
	macs := map[string]string{}
	opts := argv[:kernel]
	for i := 0; i < len(opts); i++ {
		w := opts[i]
		if w == "--" {
			continue
		}
		if err := a.option(w, sectors, macs); err != nil {
			return nil, err
		}
	}
	for name, n := range sectors {
		i := a.blockIndex(name)
		if i < 0 {
			return nil, usageErr(fmt.Sprintf("--block-sector-size:%s given, but no --block:%s", name, name))
		}
		a.Config.Blocks[i].SectorSize = n
	}
	for name, mac := range macs {
		i := a.netIndex(name)
		if i < 0 {
			return nil, usageErr(fmt.Sprintf("--net-mac:%s given, but no --net:%s", name, name))
		}
		a.Config.Nets[i].MAC = mac
	}
	return a, nil
}

// joinValues rewrites "KEY VALUE" into "KEY=VALUE" for the options that
// take a value, up to KERNEL.
func joinValues(argv []string) ([]string, error) {
	out := make([]string, 0, len(argv))
	for i := 0; i < len(argv); i++ {
		w := argv[i]
		if w == "--" || !strings.HasPrefix(w, "-") {
			return append(out, argv[i:]...), nil
		}
		if takesValue(w) {
			if i+1 >= len(argv) || argv[i+1] == "--" {
				return nil, usageErr(fmt.Sprintf("%s needs a value: %s=VALUE or %s VALUE (see uaaf run --help)", w, w, w))
			}
			w += "=" + argv[i+1]
			i++
		}
		out = append(out, w)
	}
	return out, nil
}

func (a *Args) option(w string, sectors map[string]uint16, macs map[string]string) error {
	invalid := usageErr(fmt.Sprintf("Invalid option: `%s' (see uaaf run --help)", w))
	key, val, hasVal := strings.Cut(w, "=")
	if !hasVal {
		return invalid
	}
	switch {
	case key == "--mem":
		mib, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			return memErr(val)
		}
		size, adj, err := MemSizeFromMiB(mib)
		if err != nil {
			return err
		}
		a.Config.MemSize, a.MemAdjusted = size, adj
	case key == "--dumpcore":
		if val == "" {
			return usageErr("--dumpcore needs a directory")
		}
		a.Config.DumpCoreDir = val
	case strings.HasPrefix(key, "--block:"):
		name := strings.TrimPrefix(key, "--block:")
		if !validDeviceName(name) || val == "" {
			return invalid
		}
		if a.blockIndex(name) >= 0 {
			return usageErr(fmt.Sprintf("Block device '%s' given more than once", name))
		}
		a.Config.Blocks = append(a.Config.Blocks, BlockSpec{Name: name, Path: val})
	case strings.HasPrefix(key, "--block-sector-size:"):
		name := strings.TrimPrefix(key, "--block-sector-size:")
		if !validDeviceName(name) {
			return invalid
		}
		n, err := strconv.ParseUint(val, 10, 16)
		if err != nil || n < 512 || n&(n-1) != 0 {
			return usageErr("Block size must be a multiple of 2 greater than or equal 512: " + w)
		}
		sectors[name] = uint16(n)
	case strings.HasPrefix(key, "--net:"):
		name := strings.TrimPrefix(key, "--net:")
		if !validDeviceName(name) || val == "" {
			return invalid
		}
		if a.netIndex(name) >= 0 {
			return usageErr(fmt.Sprintf("Net device '%s' given more than once", name))
		}
		spec := NetSpec{Name: name, Iface: val, FD: -1}
		if fd, ok := strings.CutPrefix(val, "@"); ok {
			n, err := strconv.Atoi(fd)
			if err != nil || n < 0 {
				return usageErr(fmt.Sprintf("Malformed file descriptor in %s", w))
			}
			spec.Iface, spec.FD = "", n
		}
		a.Config.Nets = append(a.Config.Nets, spec)
	case strings.HasPrefix(key, "--net-mac:"):
		name := strings.TrimPrefix(key, "--net-mac:")
		if !validDeviceName(name) {
			return invalid
		}
		if _, err := parseMAC(val); err != nil {
			return usageErr(fmt.Sprintf("Malformed MAC address in %s", w))
		}
		macs[name] = val
	default:
		return invalid
	}
	return nil
}

func (a *Args) blockIndex(name string) int {
	for i, b := range a.Config.Blocks {
		if b.Name == name {
			return i
		}
	}
	return -1
}

func (a *Args) netIndex(name string) int {
	for i, n := range a.Config.Nets {
		if n.Name == name {
			return i
		}
	}
	return -1
}

// validDeviceName reports whether name can be a manifest device name:
// 1 to 67 ASCII letters and digits.
func validDeviceName(name string) bool {
	if len(name) == 0 || len(name) > 67 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// parseMAC parses xx:xx:xx:xx:xx:xx (hex digits, either case).
func parseMAC(s string) ([6]byte, error) {
	var mac [6]byte
	parts := strings.Split(s, ":")
	if len(parts) != 6 {
		return mac, fmt.Errorf("want 6 colon-separated bytes")
	}
	for i, p := range parts {
		if len(p) != 2 {
			return mac, fmt.Errorf("byte %d: want 2 hex digits", i)
		}
		v, err := strconv.ParseUint(p, 16, 8)
		if err != nil {
			return mac, fmt.Errorf("byte %d: %w", i, err)
		}
		mac[i] = byte(v)
	}
	return mac, nil
}

func usageErr(msg string) error { return &Error{Kind: ErrUsage, Msg: msg} }

// memErr is solo5-hvt's message for a bad --mem, saying what is valid.
func memErr(val string) error {
	return usageErr(fmt.Sprintf("Malformed argument to --mem: %q (want a number of MiB from 1 to %d; it is rounded down to a multiple of 2, at least 2)",
		val, hvt.MaxMemory>>20))
}
