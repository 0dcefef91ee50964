// Package procmem reads how much memory processes use from
// /proc/PID/smaps_rollup and /proc/PID/smaps: proportional set size (Pss,
// shared pages divided among the processes mapping them) and its parts, per
// process or per mapping. Summing Pss over a set of processes counts shared
// text once, which is what a memory-per-instance benchmark needs.
//
// Functions here are stateless and safe from any goroutine. Reading another
// user's process needs root (or ptrace rights over it).
package procmem

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// ErrFormat: the smaps_rollup text could not be parsed or has no Pss line
// (which is also what a zombie or kernel thread gives: no address space).
var ErrFormat = errors.New("procmem: malformed smaps_rollup")

// Rollup is /proc/PID/smaps_rollup in bytes (the kernel reports kB = KiB).
// A field the kernel did not report is 0.
type Rollup struct {
	Rss          uint64 `json:"rss"`
	Pss          uint64 `json:"pss"`
	PssAnon      uint64 `json:"pss_anon"`
	PssFile      uint64 `json:"pss_file"`
	PssShmem     uint64 `json:"pss_shmem"`
	SharedClean  uint64 `json:"shared_clean"`
	SharedDirty  uint64 `json:"shared_dirty"`
	PrivateClean uint64 `json:"private_clean"`
	PrivateDirty uint64 `json:"private_dirty"`
	Swap         uint64 `json:"swap"`
	SwapPss      uint64 `json:"swap_pss"`
}

// ParseRollup parses the text of a smaps_rollup file: an optional header
// line (the "[rollup]" mapping), then "Key: N kB" lines. Unknown keys are
// ignored; a line that has a key but no "N kB" value, a value that overflows,
// a repeated key, or a missing Pss line is ErrFormat.
func ParseRollup(data []byte) (Rollup, error) {
	var r Rollup
	fields := map[string]*uint64{
		"Rss": &r.Rss, "Pss": &r.Pss, "Pss_Anon": &r.PssAnon, "Pss_File": &r.PssFile,
		"Pss_Shmem": &r.PssShmem, "Shared_Clean": &r.SharedClean, "Shared_Dirty": &r.SharedDirty,
		"Private_Clean": &r.PrivateClean, "Private_Dirty": &r.PrivateDirty, "Swap": &r.Swap, "SwapPss": &r.SwapPss,
	}
	seen := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		key, val, ok := strings.Cut(line, ":")
		if !ok || strings.ContainsAny(key, " \t") {
			if n == 1 { // the "start-end perms ... [rollup]" header
				continue
			}
			return Rollup{}, fmt.Errorf("%w: line %d %q", ErrFormat, n, line)
		}
		f := strings.Fields(val)
		if len(f) != 2 || f[1] != "kB" {
			return Rollup{}, fmt.Errorf("%w: line %d %q: want \"N kB\"", ErrFormat, n, line)
		}
		kb, err := strconv.ParseUint(f[0], 10, 64)
		if err != nil || kb > math.MaxUint64/1024 {
			return Rollup{}, fmt.Errorf("%w: line %d %q: bad number", ErrFormat, n, line)
		}
		if seen[key] {
			return Rollup{}, fmt.Errorf("%w: line %d: %s repeated", ErrFormat, n, key)
		}
		seen[key] = true
		if p := fields[key]; p != nil {
			*p = kb * 1024
		}
	}
	if err := sc.Err(); err != nil {
		return Rollup{}, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if !seen["Pss"] {
		return Rollup{}, fmt.Errorf("%w: no Pss line", ErrFormat)
	}
	return r, nil
}

// Private is the bytes only this process (or mapping) holds.
func (r Rollup) Private() uint64 { return r.PrivateClean + r.PrivateDirty }

// Self is the pid that names the calling process.
const Self = 0

// procFile is /proc/PID/name, or /proc/self/name for Self.
func procFile(pid int, name string) string {
	if pid == Self {
		return "/proc/self/" + name
	}
	return "/proc/" + strconv.Itoa(pid) + "/" + name
}

// ReadRollup reads and parses /proc/pid/smaps_rollup (pid Self: the
// caller's). A process that no longer exists gives an error wrapping
// fs.ErrNotExist (os.IsNotExist); a zombie gives ErrFormat.
func ReadRollup(pid int) (Rollup, error) {
	path := procFile(pid, "smaps_rollup")
	b, err := os.ReadFile(path)
	if err != nil {
		return Rollup{}, fmt.Errorf("procmem: %w", err)
	}
	r, err := ParseRollup(b)
	if err != nil {
		return Rollup{}, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// SumPss returns the total Pss in bytes of pids. Every pid must be readable:
// the first that is not is returned as an error (naming the pid), so a total
// never silently leaves a process out.
func SumPss(pids []int) (uint64, error) {
	var total uint64
	for _, pid := range pids {
		r, err := ReadRollup(pid)
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", pid, err)
		}
		total += r.Pss
	}
	return total, nil
}

// Mapping is one VMA of /proc/PID/smaps: its header and its memory.
type Mapping struct {
	Start, End uint64
	Perms      string // e.g. "r--p"
	Offset     uint64 // file offset of Start
	Name       string // path, [heap], …; "" for anonymous memory
	Rollup            // the mapping's Rss, Pss and parts
}

// Mappings returns the mappings of process pid (Self for the caller) for
// which keep returns true (every mapping when keep is nil).
func Mappings(pid int, keep func(*Mapping) bool) ([]Mapping, error) {
	path := procFile(pid, "smaps")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("procmem: %w", err)
	}
	ms := parseSmaps(b)
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

// parseSmaps reads the smaps format: a header line per VMA
// ("start-end perms offset dev inode [name]") followed by "Key: N kB"
// lines (the keys of Rollup; others are skipped).
func parseSmaps(data []byte) []Mapping {
	var ms []Mapping
	sc := bufio.NewScanner(bytes.NewReader(data))
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
				ms = append(ms, Mapping{Start: start, End: end, Perms: fs[1], Offset: off, Name: afterFields(line, 5)})
				continue
			}
		}
		if len(ms) == 0 || len(fs) != 3 || fs[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseUint(fs[1], 10, 64)
		if err != nil || kb > math.MaxUint64/1024 {
			continue
		}
		m := &ms[len(ms)-1]
		switch fs[0] {
		case "Rss:":
			m.Rss = kb * 1024
		case "Pss:":
			m.Pss = kb * 1024
		case "Shared_Clean:":
			m.SharedClean = kb * 1024
		case "Shared_Dirty:":
			m.SharedDirty = kb * 1024
		case "Private_Clean:":
			m.PrivateClean = kb * 1024
		case "Private_Dirty:":
			m.PrivateDirty = kb * 1024
		}
	}
	return ms
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
