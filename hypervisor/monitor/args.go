package monitor

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Usage is the `uaaf run` synopsis and option list, in solo5-hvt's terms.
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
  --version                       print the hvt ABI version and exit
  --help                          print this help and exit

UaaF options (sessions that import library functions):
  --lib NAME=PATH                 preload library-function image PATH as NAME
                                  (repeatable; also --lib=NAME=PATH)
  --lib-path DIR[:DIR...]         where to look for NAME.hvt for imports not
                                  given with --lib (also $UAAF_LIB_PATH)
  --lib-mem=MiB                   guest memory of each library view (default 4)
  --switch auto|exit|vmfunc       view-switch backend (default auto: vmfunc
                                  where the uaaf module supports it, else exit)
  --call-timeout=DURATION         deadline of one library call (default 10s)
  --eager                         start library instances at bind time, not
                                  at their first call
  --stats                         print JSON run statistics to stderr at exit
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
	// UaaF holds the session options.
	UaaF UaaFArgs
}

// UaaFArgs are the `uaaf run` options for sessions and library functions.
type UaaFArgs struct {
	Libs        []LibSpec
	LibPath     []string
	LibMemSize  uint64 // bytes; 0 = default
	Switch      string // "", auto, exit, vmfunc
	CallTimeout time.Duration
	Eager       bool
	Stats       bool
}

// LibSpec is one --lib NAME=PATH.
type LibSpec struct{ Name, Path string }

// uaafValueOptions take a value, either as --opt=value or as the next word.
var uaafValueOptions = map[string]bool{
	"--lib": true, "--lib-path": true, "--switch": true, "--call-timeout": true, "--lib-mem": true,
}

// ParseArgs parses solo5-hvt's command line: options, then KERNEL (the first
// word not starting with '-', or the word after "--"), then the guest's
// arguments. Errors wrap ErrUsage and read like solo5-hvt's.
func ParseArgs(argv []string) (*Args, error) {
	a := &Args{}
	kernel := -1
	skip := false
	for i, w := range argv {
		if skip {
			skip = false
			continue
		}
		if uaafValueOptions[w] {
			skip = true // the value is the next word, not KERNEL
			continue
		}
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
		return nil, usageErr("Missing KERNEL operand")
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
		if uaafValueOptions[w] {
			if i+1 >= len(opts) || opts[i+1] == "--" {
				return nil, usageErr(fmt.Sprintf("%s needs a value (see uaaf run --help)", w))
			}
			w = w + "=" + opts[i+1]
			i++
		}
		handled, err := a.uaafOption(w)
		if err != nil {
			return nil, err
		}
		if handled {
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
			return usageErr("Malformed argument to --mem")
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

// uaafOption parses one UaaF option; handled is false for other options.
func (a *Args) uaafOption(w string) (handled bool, err error) {
	if w == "--stats" {
		a.UaaF.Stats = true
		return true, nil
	}
	if w == "--eager" {
		a.UaaF.Eager = true
		return true, nil
	}
	key, val, ok := strings.Cut(w, "=")
	if !ok || !uaafValueOptions[key] {
		return false, nil
	}
	switch key {
	case "--lib":
		name, path, ok := strings.Cut(val, "=")
		if !ok || name == "" || path == "" {
			return true, usageErr(fmt.Sprintf("--lib wants NAME=PATH, got %q", val))
		}
		for _, l := range a.UaaF.Libs {
			if l.Name == name {
				return true, usageErr(fmt.Sprintf("library '%s' given more than once", name))
			}
		}
		a.UaaF.Libs = append(a.UaaF.Libs, LibSpec{Name: name, Path: path})
	case "--lib-path":
		for _, d := range strings.Split(val, ":") {
			if d != "" {
				a.UaaF.LibPath = append(a.UaaF.LibPath, d)
			}
		}
	case "--lib-mem":
		mib, err := strconv.ParseInt(val, 10, 64)
		if err != nil || mib < 2 || mib > 4096 {
			return true, usageErr("--lib-mem wants MiB from 2 to 4096, got " + val)
		}
		a.UaaF.LibMemSize = uint64(mib) << 20 &^ (2<<20 - 1)
	case "--switch":
		switch val {
		case "auto", "exit", "vmfunc":
			a.UaaF.Switch = val
		default:
			return true, usageErr(fmt.Sprintf("--switch wants auto, exit or vmfunc, got %q", val))
		}
	case "--call-timeout":
		d, err := time.ParseDuration(val)
		if err != nil || d <= 0 {
			return true, usageErr(fmt.Sprintf("--call-timeout wants a positive duration such as 500ms or 10s, got %q", val))
		}
		a.UaaF.CallTimeout = d
	}
	return true, nil
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
