package monitor

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name    string
		argv    []string
		want    Config
		adj     bool
		help    bool
		version bool
		err     string // substring of the error, "" for success
	}{
		{name: "kernel only", argv: []string{"k.hvt"}, want: Config{Kernel: "k.hvt", Args: []string{}}},
		{name: "kernel and args", argv: []string{"k.hvt", "a", "--b"}, want: Config{Kernel: "k.hvt", Args: []string{"a", "--b"}}},
		{name: "dashdash", argv: []string{"--mem=4", "--", "k.hvt", "--solo5:quiet"},
			want: Config{Kernel: "k.hvt", MemSize: 4 << 20, Args: []string{"--solo5:quiet"}}},
		{name: "dashdash kernel starting with dash", argv: []string{"--", "-k.hvt"}, want: Config{Kernel: "-k.hvt", Args: []string{}}},
		{name: "mem rounded", argv: []string{"--mem=5", "k"}, want: Config{Kernel: "k", MemSize: 4 << 20, Args: []string{}}, adj: true},
		{name: "mem 1 becomes 2", argv: []string{"--mem=1", "k"}, want: Config{Kernel: "k", MemSize: 2 << 20, Args: []string{}}, adj: true},
		{name: "mem max", argv: []string{"--mem=4096", "k"}, want: Config{Kernel: "k", MemSize: 4 << 30, Args: []string{}}},
		{name: "mem too big", argv: []string{"--mem=4097", "k"}, err: "exceeds the max size 4096 MiB"},
		{name: "mem huge", argv: []string{"--mem=99999999999999999", "k"}, err: "exceeds the max size"},
		{name: "mem overflow", argv: []string{"--mem=99999999999999999999", "k"}, err: "Malformed argument to --mem"},
		{name: "mem zero", argv: []string{"--mem=0", "k"}, err: "Malformed argument to --mem"},
		{name: "mem negative", argv: []string{"--mem=-3", "k"}, err: "Malformed argument to --mem"},
		{name: "mem text", argv: []string{"--mem=lots", "k"}, err: `Malformed argument to --mem: "lots" (want a number of MiB from 1 to 4096; it is rounded down to a multiple of 2, at least 2)`},
		{name: "mem as two words", argv: []string{"--mem", "32", "k"}, want: Config{Kernel: "k", MemSize: 32 << 20, Args: []string{}}},
		{name: "every option as two words", argv: []string{"--block:s", "/x", "--block-sector-size:s", "4096", "--net:n", "tap0", "--net-mac:n", "02:00:00:00:00:01", "--dumpcore", "/d", "k", "--mem", "2"},
			want: Config{Kernel: "k", Args: []string{"--mem", "2"}, DumpCoreDir: "/d", Blocks: []BlockSpec{{Name: "s", Path: "/x", SectorSize: 4096}},
				Nets: []NetSpec{{Name: "n", Iface: "tap0", FD: -1, MAC: "02:00:00:00:00:01"}}}},
		{name: "mem without its value", argv: []string{"--mem"}, err: "--mem needs a value: --mem=VALUE or --mem VALUE (see uaaf run --help)"},
		{name: "block", argv: []string{"--block:storage=/tmp/x", "--block-sector-size:storage=4096", "k"},
			want: Config{Kernel: "k", Args: []string{}, Blocks: []BlockSpec{{Name: "storage", Path: "/tmp/x", SectorSize: 4096}}}},
		{name: "block sector odd", argv: []string{"--block:s=/x", "--block-sector-size:s=521", "k"}, err: "Block size must be a multiple of 2 greater than or equal 512"},
		{name: "block sector small", argv: []string{"--block:s=/x", "--block-sector-size:s=256", "k"}, err: "Block size must be a multiple of 2 greater than or equal 512"},
		{name: "block sector without block", argv: []string{"--block-sector-size:s=512", "k"}, err: "no --block:s"},
		{name: "block twice", argv: []string{"--block:s=/x", "--block:s=/y", "k"}, err: "more than once"},
		{name: "block bad name", argv: []string{"--block:s-1=/x", "k"}, err: "Invalid option: `--block:s-1=/x'"},
		{name: "block empty path", argv: []string{"--block:s=", "k"}, err: "Invalid option"},
		{name: "net iface", argv: []string{"--net:service0=tap0", "--net-mac:service0=02:00:00:00:00:01", "k"},
			want: Config{Kernel: "k", Args: []string{}, Nets: []NetSpec{{Name: "service0", Iface: "tap0", FD: -1, MAC: "02:00:00:00:00:01"}}}},
		{name: "net fd", argv: []string{"--net:n=@3", "k"}, want: Config{Kernel: "k", Args: []string{}, Nets: []NetSpec{{Name: "n", FD: 3}}}},
		{name: "net bad fd", argv: []string{"--net:n=@x", "k"}, err: "Malformed file descriptor"},
		{name: "net bad mac", argv: []string{"--net:n=tap0", "--net-mac:n=02:00", "k"}, err: "Malformed MAC"},
		{name: "dumpcore", argv: []string{"--dumpcore=/tmp", "k"}, want: Config{Kernel: "k", Args: []string{}, DumpCoreDir: "/tmp"}},
		{name: "unknown", argv: []string{"--frobnicate", "k"}, err: "Invalid option: `--frobnicate'"},
		{name: "unknown with value", argv: []string{"--frob=1", "k"}, err: "Invalid option: `--frob=1'"},
		{name: "missing kernel", argv: []string{"--mem=2"}, err: "Missing KERNEL operand; usage: uaaf run [OPTIONS] [--] KERNEL [ARGS...] (see uaaf run --help)"},
		{name: "nothing", argv: nil, err: "Missing KERNEL operand"},
		{name: "dashdash only", argv: []string{"--"}, err: "Missing KERNEL operand"},
		{name: "help", argv: []string{"--mem=2", "--help", "k"}, help: true},
		{name: "version", argv: []string{"--version"}, version: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := ParseArgs(tt.argv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want one containing %q", err, tt.err)
				}
				if !errors.Is(err, ErrUsage) {
					t.Errorf("err %v does not wrap ErrUsage", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Help != tt.help || a.Version != tt.version {
				t.Fatalf("help %v version %v, want %v %v", a.Help, a.Version, tt.help, tt.version)
			}
			if tt.help || tt.version {
				return
			}
			if len(a.Config.Args) == 0 && len(tt.want.Args) == 0 {
				a.Config.Args, tt.want.Args = nil, nil
			}
			if !reflect.DeepEqual(a.Config, tt.want) {
				t.Errorf("config = %+v\nwant     %+v", a.Config, tt.want)
			}
			if a.MemAdjusted != tt.adj {
				t.Errorf("MemAdjusted = %v, want %v", a.MemAdjusted, tt.adj)
			}
		})
	}
}
