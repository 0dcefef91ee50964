package procmem

import (
	"strings"
	"testing"
)

const sample = `00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon
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
	ms, err := parseSmaps(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	want := []Mapping{
		{Start: 0x400000, End: 0x452000, Perms: "r-xp", Name: "/usr/bin/dbus-daemon",
			Usage: Usage{Rss: 300 << 10, Pss: 150 << 10, SharedClean: 300 << 10}},
		{Start: 0x7f0000100000, End: 0x7f0000200000, Perms: "r--p", Offset: 0x100000, Name: "/memfd:uaaf-lib-crc32 (deleted)",
			Usage: Usage{Rss: 8 << 10, Pss: 4 << 10, PrivateClean: 4 << 10}},
		{Start: 0x7ffd00000000, End: 0x7ffd00021000, Perms: "rw-p", Usage: Usage{Rss: 12 << 10, PrivateDirty: 12 << 10}},
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
	u, err := Rollup(Self)
	if err != nil || u.Rss == 0 || u.Pss == 0 {
		t.Fatalf("Rollup(Self) = %+v, %v", u, err)
	}
	ms, err := Mappings(Self, func(m *Mapping) bool { return m.Name == "[stack]" })
	if err != nil || len(ms) != 1 {
		t.Fatalf("stack mappings: %+v, %v", ms, err)
	}
	if _, err := Rollup(1 << 30); err == nil {
		t.Error("no error for a process that does not exist")
	}
}
