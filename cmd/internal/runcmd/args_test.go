package runcmd

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/seccomp"
)

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name  string
		argv  []string
		want  options
		blk   string   // the one --block path solo5-hvt's parser must see
		gargs []string // the guest's arguments
		err   string
	}{
		{name: "lib as two words", argv: []string{"--lib", "sha=/l/sha.hvt", "s.hvt"},
			want: options{Seccomp: seccomp.Kill, Libs: []libSpec{{"sha", "/l/sha.hvt"}}}},
		{name: "lib with =", argv: []string{"--lib=sha=/l/sha.hvt", "--lib", "crc=c.hvt", "s.hvt"},
			want: options{Seccomp: seccomp.Kill, Libs: []libSpec{{"sha", "/l/sha.hvt"}, {"crc", "c.hvt"}}}},
		{name: "lib path, switch, timeout, flags", argv: []string{"--lib-path", "/a:/b::/c", "--switch=exit", "--call-timeout", "250ms", "--lib-mem=8", "--eager", "--stats", "s.hvt"},
			want: options{Seccomp: seccomp.Kill, LibPath: []string{"/a", "/b", "/c"}, Switch: "exit", CallTimeout: 250 * time.Millisecond, LibMemSize: 8 << 20, Eager: true, Stats: true}},
		{name: "mixed with solo5-hvt options", argv: []string{"--block:d=/x", "--lib", "a=b", "--", "s.hvt", "--lib", "g"},
			want: options{Seccomp: seccomp.Kill, Libs: []libSpec{{"a", "b"}}}, blk: "/x", gargs: []string{"--lib", "g"}},
		{name: "lib-mem rounded down", argv: []string{"--lib-mem=5", "s.hvt"}, want: options{Seccomp: seccomp.Kill, LibMemSize: 4 << 20}},
		{name: "after KERNEL: guest arguments", argv: []string{"s.hvt", "--lib", "--stats"}, want: options{Seccomp: seccomp.Kill}, gargs: []string{"--lib", "--stats"}},
		{name: "stats to stderr, KERNEL next", argv: []string{"--stats", "s.hvt"}, want: options{Seccomp: seccomp.Kill, Stats: true}},
		{name: "stats to a file", argv: []string{"--stats=/tmp/st.json", "s.hvt"}, want: options{Seccomp: seccomp.Kill, Stats: true, StatsFile: "/tmp/st.json"}},
		{name: "stats file empty", argv: []string{"--stats=", "s.hvt"}, err: "--stats=FILE wants a file name (or --stats alone, for stderr)"},
		{name: "seccomp", argv: []string{"--seccomp=log", "s.hvt"}, want: options{Seccomp: seccomp.Log}},
		{name: "seccomp off, two words", argv: []string{"--seccomp", "off", "s.hvt"}, want: options{Seccomp: seccomp.Off}},
		{name: "bad seccomp", argv: []string{"--seccomp=strict", "s.hvt"}, err: `--seccomp wants kill, log or off, got "strict"`},
		{name: "lib value missing", argv: []string{"--lib", "--", "s.hvt"}, err: "--lib needs a value"},
		{name: "lib value missing at the end", argv: []string{"--lib-path"}, err: "--lib-path needs a value"},
		{name: "lib not NAME=PATH", argv: []string{"--lib", "sha", "s.hvt"}, err: "--lib wants NAME=PATH"},
		{name: "lib twice", argv: []string{"--lib=a=x", "--lib=a=y", "s.hvt"}, err: "library 'a' given more than once"},
		{name: "bad switch", argv: []string{"--switch", "fast", "s.hvt"}, err: "--switch wants auto, exit or vmfunc"},
		{name: "bad timeout", argv: []string{"--call-timeout=soon", "s.hvt"}, err: "--call-timeout wants a positive duration"},
		{name: "negative timeout", argv: []string{"--call-timeout=-1s", "s.hvt"}, err: "--call-timeout wants a positive duration"},
		{name: "lib-mem too small", argv: []string{"--lib-mem=1", "s.hvt"}, err: "--lib-mem wants MiB from 2 to 4096"},
		{name: "solo5-hvt's errors still", argv: []string{"--frob", "s.hvt"}, err: "Invalid option: `--frob'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, o, err := parseArgs(tt.argv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, monitor.ErrUsage) {
					t.Fatalf("err = %v, want a usage error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if a.Config.Kernel != "s.hvt" {
				t.Errorf("kernel %q", a.Config.Kernel)
			}
			if !reflect.DeepEqual(*o, tt.want) {
				t.Errorf("options = %+v\nwant      %+v", *o, tt.want)
			}
			if tt.blk != "" && (len(a.Config.Blocks) != 1 || a.Config.Blocks[0].Path != tt.blk) {
				t.Errorf("blocks %+v, want one at %s", a.Config.Blocks, tt.blk)
			}
			if !reflect.DeepEqual(a.Config.Args, tt.gargs) && len(a.Config.Args)+len(tt.gargs) > 0 {
				t.Errorf("guest args %q, want %q", a.Config.Args, tt.gargs)
			}
		})
	}
}

// FuzzParseArgs: any command line (words separated by NUL) parses or is a
// usage error; never a panic, never another kind of error.
func FuzzParseArgs(f *testing.F) {
	for _, s := range []string{
		"--mem=32\x00s.hvt", "--mem\x0032\x00s.hvt", "--lib\x00a=b\x00--stats=/x\x00s.hvt",
		"--stats=\x00s.hvt", "--block:d=/x\x00--\x00s.hvt\x00--lib", "--switch\x00", "-v\x00--seccomp=log\x00s.hvt",
		"--lib-mem=5\x00--call-timeout=1s\x00s.hvt", "--net:n=@3\x00--net-mac:n=aa:bb:cc:dd:ee:ff\x00s.hvt",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_, _, err := parseArgs(strings.Split(s, "\x00"))
		if err != nil && !errors.Is(err, monitor.ErrUsage) {
			t.Errorf("%q: %v is not a usage error", s, err)
		}
	})
}
