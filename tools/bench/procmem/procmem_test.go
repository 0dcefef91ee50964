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
