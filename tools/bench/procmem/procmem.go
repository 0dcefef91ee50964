// Package procmem reads what a process's memory costs the host, from
// /proc/PID/smaps and /proc/PID/smaps_rollup: the figures uaaf's memory
// benchmarks and tests report (Pss counts a shared page once across the
// processes that map it, so summing Pss over processes is fair).
package procmem

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Usage is the memory of a process or of one mapping, in bytes.
type Usage struct {
	Rss, Pss                                             uint64
	SharedClean, SharedDirty, PrivateClean, PrivateDirty uint64
}

// Private is the bytes only this process (or mapping) holds.
func (u Usage) Private() uint64 { return u.PrivateClean + u.PrivateDirty }

// add records one "Key: N kB" line of smaps into u.
func (u *Usage) add(key string, kb uint64) {
	b := kb << 10
	switch key {
	case "Rss:":
		u.Rss = b
	case "Pss:":
		u.Pss = b
	case "Shared_Clean:":
		u.SharedClean = b
	case "Shared_Dirty:":
		u.SharedDirty = b
	case "Private_Clean:":
		u.PrivateClean = b
	case "Private_Dirty:":
		u.PrivateDirty = b
	}
}

// Mapping is one VMA of /proc/PID/smaps.
type Mapping struct {
	Start, End uint64
	Perms      string // e.g. "r--p"
	Offset     uint64 // file offset of Start
	Name       string // path or [heap], …; "" for anonymous memory
	Usage
}

// Self is the pid to pass for the calling process.
const Self = 0

func procFile(pid int, name string) string {
	if pid == Self {
		return "/proc/self/" + name
	}
	return fmt.Sprintf("/proc/%d/%s", pid, name)
}

// Rollup returns the totals of process pid (Self for the caller) from
// smaps_rollup.
func Rollup(pid int) (Usage, error) {
	f, err := os.Open(procFile(pid, "smaps_rollup"))
	if err != nil {
		return Usage{}, fmt.Errorf("procmem: %w", err)
	}
	defer f.Close()
	var u Usage
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 {
			if v, err := strconv.ParseUint(fs[1], 10, 64); err == nil {
				u.add(fs[0], v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return Usage{}, fmt.Errorf("procmem: smaps_rollup of %d: %w", pid, err)
	}
	return u, nil
}

// Mappings returns the mappings of process pid (Self for the caller) for
// which keep returns true (every mapping when keep is nil).
func Mappings(pid int, keep func(*Mapping) bool) ([]Mapping, error) {
	f, err := os.Open(procFile(pid, "smaps"))
	if err != nil {
		return nil, fmt.Errorf("procmem: %w", err)
	}
	defer f.Close()
	ms, err := parseSmaps(f)
	if err != nil {
		return nil, fmt.Errorf("procmem: smaps of %d: %w", pid, err)
	}
	if keep == nil {
		return ms, nil
	}
	out := ms[:0]
	for i := range ms {
		if keep(&ms[i]) {
			out = append(out, ms[i])
		}
	}
	return out, nil
}

// afterFields returns line without its first n space-separated fields and
// the spaces around them.
func afterFields(line string, n int) string {
	for ; n > 0; n-- {
		line = strings.TrimLeft(line, " \t")
		i := strings.IndexAny(line, " \t")
		if i < 0 {
			return ""
		}
		line = line[i:]
	}
	return strings.TrimSpace(line)
}

// parseSmaps reads the smaps format: a header line per VMA
// ("start-end perms offset dev inode [name]") followed by "Key: N kB" lines.
func parseSmaps(r io.Reader) ([]Mapping, error) {
	var ms []Mapping
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		fs := strings.Fields(line)
		if len(fs) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fs[0], "-"); ok && !strings.HasSuffix(fs[0], ":") && len(fs) >= 5 {
			start, err1 := strconv.ParseUint(lo, 16, 64)
			end, err2 := strconv.ParseUint(hi, 16, 64)
			off, err3 := strconv.ParseUint(fs[2], 16, 64)
			if err1 == nil && err2 == nil && err3 == nil {
				m := Mapping{Start: start, End: end, Perms: fs[1], Offset: off}
				if len(fs) >= 6 {
					// The name is the rest of the line after the inode
					// (it may contain spaces, e.g. " (deleted)").
					m.Name = afterFields(line, 5)
				}
				ms = append(ms, m)
				continue
			}
		}
		if len(ms) == 0 || len(fs) < 2 {
			continue
		}
		if v, err := strconv.ParseUint(fs[1], 10, 64); err == nil {
			ms[len(ms)-1].add(fs[0], v)
		}
	}
	return ms, sc.Err()
}
