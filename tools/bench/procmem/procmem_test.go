package procmem

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"testing"
)

const sample = `00400000-7fffcfd1f000 ---p 00000000 00:00 0                              [rollup]
Rss:                 704 kB
Pss:                 700 kB
Pss_Dirty:           700 kB
Pss_Anon:             52 kB
Pss_File:            648 kB
Pss_Shmem:             0 kB
Shared_Clean:          4 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:       700 kB
Referenced:          704 kB
Anonymous:            52 kB
Swap:                  1 kB
SwapPss:               2 kB
Locked:                0 kB
`

func TestParseRollup(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Rollup
		err  error
	}{
		{"kernel sample", sample, Rollup{Rss: 704 << 10, Pss: 700 << 10, PssAnon: 52 << 10, PssFile: 648 << 10,
			SharedClean: 4 << 10, PrivateDirty: 700 << 10, Swap: 1 << 10, SwapPss: 2 << 10}, nil},
		{"no header", "Pss: 8 kB\n", Rollup{Pss: 8 << 10}, nil},
		{"empty (zombie)", "", Rollup{}, ErrFormat},
		{"header only", "00400000-7fff ---p 00000000 00:00 0 [rollup]\n", Rollup{}, ErrFormat},
		{"no Pss", "Rss: 4 kB\n", Rollup{}, ErrFormat},
		{"not kB", "Pss: 4 MB\n", Rollup{}, ErrFormat},
		{"no unit", "Pss: 4\n", Rollup{}, ErrFormat},
		{"negative", "Pss: -4 kB\n", Rollup{}, ErrFormat},
		{"overflow", "Pss: 18446744073709551615 kB\n", Rollup{}, ErrFormat},
		{"repeated", "Pss: 4 kB\nPss: 4 kB\n", Rollup{}, ErrFormat},
		{"garbage line", "Pss: 4 kB\nhello\n", Rollup{}, ErrFormat},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseRollup([]byte(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("error = %v, want %v", err, tc.err)
			}
			if got != tc.want {
				t.Errorf("ParseRollup = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzParseRollup: any smaps_rollup text gives an error with a zero result,
// or whole-KiB values.
func FuzzParseRollup(f *testing.F) {
	f.Add([]byte(sample))
	f.Add([]byte("Pss: 1 kB\n"))
	f.Add([]byte("x\nPss: 1 kB"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRollup(b)
		if err != nil && r != (Rollup{}) {
			t.Errorf("error %v with a non-zero result %+v", err, r)
		}
		if err == nil && r.Pss%1024 != 0 {
			t.Errorf("Pss %d is not whole KiB", r.Pss)
		}
	})
}

func TestReadRollupSelf(t *testing.T) {
	r, err := ReadRollup(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if r.Pss == 0 || r.Rss < r.Pss {
		t.Errorf("own rollup %+v: want 0 < Pss <= Rss", r)
	}
	total, err := SumPss([]int{os.Getpid(), os.Getpid()})
	if err != nil || total == 0 {
		t.Errorf("SumPss = %d, %v", total, err)
	}
}

func TestReadRollupGone(t *testing.T) {
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Skip("no /bin/true:", err)
	}
	// The reaped child's pid is (almost surely) free now.
	_, err := ReadRollup(cmd.Process.Pid)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reaped process: error = %v, want fs.ErrNotExist", err)
	}
	if _, err := SumPss([]int{os.Getpid(), cmd.Process.Pid}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("SumPss with a gone pid: %v", err)
	}
}

const sampleSmaps = `00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon
Size:                328 kB
Rss:                 300 kB
Pss:                 150 kB
Shared_Clean:        300 kB
Shared_Dirty:          0 kB
Private_Clean:         0 kB
Private_Dirty:         0 kB
VmFlags: rd ex mr mw me dw
7f0000100000-7f0000200000 r--p 00100000 00:01 2048       /memfd:uaaf-lib-crc32 (deleted)
Rss:                   8 kB
Pss:                   4 kB
Private_Clean:         4 kB
Private_Dirty:         0 kB
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 
Rss:                  12 kB
Private_Dirty:        12 kB
`

func TestParseSmaps(t *testing.T) {
	ms := parseSmaps([]byte(sampleSmaps))
	want := []Mapping{
		{Start: 0x400000, End: 0x452000, Perms: "r-xp", Name: "/usr/bin/dbus-daemon",
			Rollup: Rollup{Rss: 300 << 10, Pss: 150 << 10, SharedClean: 300 << 10}},
		{Start: 0x7f0000100000, End: 0x7f0000200000, Perms: "r--p", Offset: 0x100000, Name: "/memfd:uaaf-lib-crc32 (deleted)",
			Rollup: Rollup{Rss: 8 << 10, Pss: 4 << 10, PrivateClean: 4 << 10}},
		{Start: 0x7ffd00000000, End: 0x7ffd00021000, Perms: "rw-p", Rollup: Rollup{Rss: 12 << 10, PrivateDirty: 12 << 10}},
	}
	if len(ms) != len(want) {
		t.Fatalf("%d mappings, want %d: %+v", len(ms), len(want), ms)
	}
	for i := range want {
		if ms[i] != want[i] {
			t.Errorf("mapping %d:\n got  %+v\n want %+v", i, ms[i], want[i])
		}
	}
	if got := ms[1].Private(); got != 4<<10 {
		t.Errorf("Private = %d", got)
	}
}

func TestSelf(t *testing.T) {
	r, err := ReadRollup(Self)
	if err != nil || r.Rss == 0 || r.Pss == 0 {
		t.Fatalf("ReadRollup(Self) = %+v, %v", r, err)
	}
	ms, err := Mappings(Self, func(m *Mapping) bool { return m.Name == "[stack]" })
	if err != nil || len(ms) != 1 {
		t.Fatalf("stack mappings: %+v, %v", ms, err)
	}
}
