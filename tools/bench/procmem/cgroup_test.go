package procmem

import (
	"errors"
	"io/fs"
	"os"
	"testing"
	"testing/fstest"
)

const hybridMountinfo = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`

const hybridCgroup = `9:name=systemd:/
4:memory:/process_api/37fa/w3
1:cpu:/
0::/
`

func TestCgroupMemory(t *testing.T) {
	file := func(s string) *fstest.MapFile { return &fstest.MapFile{Data: []byte(s)} }
	tests := []struct {
		name string
		fs   fstest.MapFS
		want uint64
		err  error
	}{
		{"v1 hybrid (runc container here)", fstest.MapFS{
			"proc/42/cgroup":      file(hybridCgroup),
			"proc/self/mountinfo": file(hybridMountinfo),
			"sys/fs/cgroup/memory/process_api/37fa/w3/memory.usage_in_bytes": file("557056\n"),
		}, 557056, nil},
		{"v1 mount showing a sub-tree", fstest.MapFS{
			"proc/42/cgroup":      file("4:cpuacct,memory:/outer/inner\n"),
			"proc/self/mountinfo": file("35 31 0:32 /outer /sys/fs/cgroup/memory rw - cgroup cgroup rw,cpuacct,memory\n"),
			"sys/fs/cgroup/memory/inner/memory.usage_in_bytes": file("4096\n"),
		}, 4096, nil},
		{"v2", fstest.MapFS{
			"proc/42/cgroup":      file("0::/system.slice/c1\n"),
			"proc/self/mountinfo": file("30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"),
			"sys/fs/cgroup/system.slice/c1/memory.current": file("123\n"),
		}, 123, nil},
		{"v2 mount point with a space", fstest.MapFS{
			"proc/42/cgroup":           file("0::/c\n"),
			"proc/self/mountinfo":      file("30 23 0:26 / /cg\\040root rw - cgroup2 cgroup2 rw\n"),
			"cg root/c/memory.current": file("7\n"),
		}, 7, nil},
		{"v2 without the memory controller", fstest.MapFS{
			"proc/42/cgroup":      file("1:cpu:/\n0::/\n"),
			"proc/self/mountinfo": file(hybridMountinfo),
		}, 0, ErrNoMemoryCgroup},
		{"v1 memory hierarchy not mounted", fstest.MapFS{
			"proc/42/cgroup":      file("4:memory:/x\n"),
			"proc/self/mountinfo": file("32 31 0:29 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"),
		}, 0, ErrNoMemoryCgroup},
		{"garbage value", fstest.MapFS{
			"proc/42/cgroup":                 file("0::/c\n"),
			"proc/self/mountinfo":            file("30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"),
			"sys/fs/cgroup/c/memory.current": file("max\n"),
		}, 0, ErrFormat},
		{"no such process", fstest.MapFS{}, 0, fs.ErrNotExist},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cgroupMemory(tc.fs, 42)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("cgroupMemory = %d, %v; want %d, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestCgroupMemorySelf(t *testing.T) {
	n, err := CgroupMemory(os.Getpid())
	if errors.Is(err, ErrNoMemoryCgroup) {
		t.Skip("this host has no readable memory cgroup:", err)
	}
	if err != nil || n == 0 {
		t.Errorf("CgroupMemory(self) = %d, %v", n, err)
	}
}

// FuzzCgroupMemory: any cgroup and mountinfo files are read without
// panicking.
func FuzzCgroupMemory(f *testing.F) {
	f.Add([]byte(hybridCgroup), []byte(hybridMountinfo))
	f.Add([]byte("0::/c\n"), []byte("30 23 0:26 / /x\\04 rw - cgroup2 cgroup2 rw\n"))
	f.Fuzz(func(t *testing.T, cg, mi []byte) {
		_, _ = cgroupMemory(fstest.MapFS{
			"proc/1/cgroup":       {Data: cg},
			"proc/self/mountinfo": {Data: mi},
		}, 1)
	})
}
