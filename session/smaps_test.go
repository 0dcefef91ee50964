package session

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

// smapsEntry is the part of one /proc/self/smaps VMA the tests look at (kB).
type smapsEntry struct {
	start, end                                                     uint64
	rss, pss, sharedClean, sharedDirty, privateClean, privateDirty uint64
}

func uintptrOf(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

// smapsAt returns the smaps entry of the VMA that contains addr.
func smapsAt(addr uint64) (smapsEntry, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return smapsEntry{}, err
	}
	defer f.Close()
	var cur *smapsEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		if lo, hi, ok := strings.Cut(fields[0], "-"); ok && !strings.HasSuffix(fields[0], ":") {
			s, err1 := strconv.ParseUint(lo, 16, 64)
			e, err2 := strconv.ParseUint(hi, 16, 64)
			if err1 == nil && err2 == nil {
				if cur != nil {
					return *cur, nil
				}
				if addr >= s && addr < e {
					cur = &smapsEntry{start: s, end: e}
				}
				continue
			}
		}
		if cur == nil || len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(fields[1], 10, 64)
		switch fields[0] {
		case "Rss:":
			cur.rss = v
		case "Pss:":
			cur.pss = v
		case "Shared_Clean:":
			cur.sharedClean = v
		case "Shared_Dirty:":
			cur.sharedDirty = v
		case "Private_Clean:":
			cur.privateClean = v
		case "Private_Dirty:":
			cur.privateDirty = v
		}
	}
	if cur != nil {
		return *cur, nil
	}
	return smapsEntry{}, fmt.Errorf("no VMA contains %#x", addr)
}
