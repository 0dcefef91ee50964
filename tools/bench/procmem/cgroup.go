package procmem

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// ErrNoMemoryCgroup: the process's cgroup has no memory controller that can
// be read (e.g. a cgroup v2 hierarchy without the memory controller).
var ErrNoMemoryCgroup = errors.New("procmem: no memory cgroup")

// CgroupMemory returns the memory charged to pid's cgroup, in bytes:
// memory.usage_in_bytes under cgroup v1 (user pages, page cache, and kernel
// memory such as page tables and namespace structures when kmem accounting
// is on, as on this project's machines) or memory.current under cgroup v2.
// Unlike Pss it also counts the kernel's per-container cost; it counts
// everything in the cgroup, so it is only per-instance when each instance
// has a cgroup of its own (a container does).
func CgroupMemory(pid int) (uint64, error) {
	return cgroupMemory(os.DirFS("/"), pid)
}

// cgroupMemory is CgroupMemory with the file system root given (paths
// without a leading slash), for tests.
func cgroupMemory(root fs.FS, pid int) (uint64, error) {
	p := strconv.Itoa(pid)
	cg, err := fs.ReadFile(root, "proc/"+p+"/cgroup")
	if err != nil {
		return 0, fmt.Errorf("procmem: %w", err)
	}
	// Our mounts, not pid's: the files are read through our mount
	// namespace (a container's own /sys/fs/cgroup shows only itself).
	mi, err := fs.ReadFile(root, "proc/self/mountinfo")
	if err != nil {
		return 0, fmt.Errorf("procmem: %w", err)
	}
	v1path, v2path, hasV1, hasV2 := "", "", false, false
	for line := range strings.Lines(string(cg)) {
		f := strings.SplitN(strings.TrimRight(line, "\n"), ":", 3)
		if len(f) != 3 {
			continue
		}
		if f[0] == "0" && f[1] == "" {
			v2path, hasV2 = f[2], true
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == "memory" {
				v1path, hasV1 = f[2], true
			}
		}
	}
	candidates := []struct {
		ok     bool
		fstype string
		cgpath string
		file   string
	}{
		{hasV1, "cgroup", v1path, "memory.usage_in_bytes"},
		{hasV2, "cgroup2", v2path, "memory.current"},
	}
	for _, c := range candidates {
		if !c.ok {
			continue
		}
		mount, mroot, ok := findMount(string(mi), c.fstype, c.fstype == "cgroup")
		if !ok {
			continue
		}
		rel, ok := strings.CutPrefix(c.cgpath, mroot)
		if !ok {
			continue // the cgroup is outside what this mount shows
		}
		file := strings.TrimPrefix(path.Join(mount, rel, c.file), "/")
		b, err := fs.ReadFile(root, file)
		if errors.Is(err, fs.ErrNotExist) {
			continue // v2 without the memory controller enabled here
		}
		if err != nil {
			return 0, fmt.Errorf("procmem: %w", err)
		}
		v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w: /%s: %q", ErrFormat, file, b)
		}
		return v, nil
	}
	return 0, fmt.Errorf("%w for pid %d", ErrNoMemoryCgroup, pid)
}

// findMount returns the mount point and root of the first mount of fstype in
// a mountinfo text; for cgroup v1 (needMemory) the mount must carry the
// memory controller in its super options.
func findMount(mountinfo, fstype string, needMemory bool) (mount, root string, ok bool) {
	for line := range strings.Lines(mountinfo) {
		f := strings.Fields(line)
		sep := -1
		for i, x := range f {
			if x == "-" {
				sep = i
				break
			}
		}
		if sep < 5 || sep+1 >= len(f) || f[sep+1] != fstype {
			continue
		}
		if needMemory && (sep+3 >= len(f) || !hasOption(f[sep+3], "memory")) {
			continue
		}
		return unescape(f[4]), unescape(f[3]), true
	}
	return "", "", false
}

func hasOption(opts, want string) bool {
	for _, o := range strings.Split(opts, ",") {
		if o == want {
			return true
		}
	}
	return false
}

// unescape undoes mountinfo's octal escapes (\040 for a space, ...).
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
