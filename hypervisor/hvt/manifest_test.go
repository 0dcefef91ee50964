package hvt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestParseManifestRules(t *testing.T) {
	le := binary.LittleEndian
	entry := func(d []byte, i int) []byte { return d[8+104*i:][:104] }
	tests := []struct {
		name string
		desc func() []byte
		ok   bool
	}{
		{"valid", stdMft, true},
		{"only reserved entry", func() []byte { return mftDesc(tMftEntry{"", 0x40000000}) }, true},
		{"64 entries", func() []byte {
			e := []tMftEntry{{"", 0x40000000}}
			for range 63 {
				e = append(e, tMftEntry{"x", 1})
			}
			return mftDesc(e...)
		}, true},
		{"67-char name", func() []byte {
			return mftDesc(tMftEntry{"", 0x40000000}, tMftEntry{strings.Repeat("n", 67), 2})
		}, true},
		{"garbage after name NUL", func() []byte {
			d := stdMft()
			copy(entry(d, 1)[10:], "garbage")
			return d
		}, true},
		{"nonzero union and hostfd", func() []byte {
			d := stdMft()
			le.PutUint64(entry(d, 1)[72:], 12345)
			le.PutUint32(entry(d, 2)[88:], 7)
			return d
		}, true},
		{"empty", func() []byte { return nil }, false},
		{"7 bytes", func() []byte { return stdMft()[:7] }, false},
		{"header only", func() []byte { return stdMft()[:8] }, false},
		{"version 0", func() []byte { d := stdMft(); le.PutUint32(d, 0); return d }, false},
		{"version 2", func() []byte { d := stdMft(); le.PutUint32(d, 2); return d }, false},
		{"65 entries", func() []byte {
			e := []tMftEntry{{"", 0x40000000}}
			for range 64 {
				e = append(e, tMftEntry{"x", 1})
			}
			return mftDesc(e...)
		}, false},
		{"entries huge", func() []byte { d := stdMft(); le.PutUint32(d[4:], 0xffffffff); return d }, false},
		{"0 entries", func() []byte { d := stdMft()[:8]; le.PutUint32(d[4:], 0); return d }, false},
		{"size too short", func() []byte { return stdMft()[:8+104*3-1] }, false},
		{"size too long", func() []byte { return append(stdMft(), 0) }, false},
		{"entries count too low", func() []byte { d := stdMft(); le.PutUint32(d[4:], 2); return d }, false},
		{"first entry not reserved", func() []byte { return mftDesc(tMftEntry{"", 1}) }, false},
		{"first entry named", func() []byte { return mftDesc(tMftEntry{"a", 0x40000000}) }, false},
		{"name not terminated", func() []byte { d := stdMft(); entry(d, 2)[67] = 'x'; return d }, false},
		{"entry 0 name not terminated", func() []byte { d := stdMft(); entry(d, 0)[67] = 'x'; return d }, false},
		{"attached", func() []byte { d := stdMft(); entry(d, 1)[96] = 1; return d }, false},
		{"attached garbage", func() []byte { d := stdMft(); entry(d, 2)[96] = 0x80; return d }, false},
		{"entry 0 attached", func() []byte { d := stdMft(); entry(d, 0)[96] = 1; return d }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := tt.desc()
			m, err := ParseManifest(d)
			if tt.ok {
				if err != nil {
					t.Fatalf("ParseManifest: %v", err)
				}
				if got := m.Encode(); !bytes.Equal(got, d) {
					t.Errorf("Encode round trip differs")
				}
				return
			}
			if !errors.Is(err, ErrBadManifest) || !strings.Contains(err.Error(), "Solo5 manifest is invalid") {
				t.Fatalf("err = %v, want ErrBadManifest", err)
			}
		})
	}
}

func TestManifestDecodeFields(t *testing.T) {
	m, err := ParseManifest(stdMft())
	if err != nil {
		t.Fatal(err)
	}
	want := []ManifestEntry{
		{Name: "", Type: DeviceReservedFirst},
		{Name: "storage", Type: DeviceBlock},
		{Name: "service0", Type: DeviceNet},
	}
	if len(m.Entries) != len(want) {
		t.Fatalf("entries = %+v", m.Entries)
	}
	for i := range want {
		if m.Entries[i] != want[i] {
			t.Errorf("entry %d = %+v, want %+v", i, m.Entries[i], want[i])
		}
	}
	for _, tt := range []struct {
		name  string
		typ   DeviceType
		index int
		ok    bool
	}{
		{"storage", DeviceBlock, 1, true},
		{"storage", DeviceNet, 0, false},
		{"service0", DeviceNet, 2, true},
		{"service", DeviceNet, 0, false},
		{"", DeviceReservedFirst, 0, true},
		{"nope", DeviceBlock, 0, false},
	} {
		i, ok := m.Lookup(tt.name, tt.typ)
		if i != tt.index || ok != tt.ok {
			t.Errorf("Lookup(%q, %v) = %d, %v; want %d, %v", tt.name, tt.typ, i, ok, tt.index, tt.ok)
		}
	}
}

func TestManifestEncodeHostFields(t *testing.T) {
	d := stdMft()
	copy(d[8+104*1+20:], "junk") // garbage after the name's NUL survives
	m, err := ParseManifest(d)
	if err != nil {
		t.Fatal(err)
	}
	blk, net := &m.Entries[1], &m.Entries[2]
	blk.Capacity, blk.BlockSize, blk.HostFD, blk.Attached = 1<<20, 512, 5, true
	net.MAC, net.MTU, net.HostFD, net.Attached = [6]byte{2, 0, 0, 0, 0, 1}, 1500, -1, true
	b := m.Encode()
	if len(b) != 8+104*3 {
		t.Fatalf("len = %d", len(b))
	}
	le := binary.LittleEndian
	e1, e2 := b[8+104:][:104], b[8+208:][:104]
	checks := []struct {
		name      string
		got, want uint64
	}{
		{"version", uint64(le.Uint32(b)), 1},
		{"entries", uint64(le.Uint32(b[4:])), 3},
		{"blk type", uint64(le.Uint32(e1[68:])), 1},
		{"capacity", le.Uint64(e1[72:]), 1 << 20},
		{"block_size", uint64(le.Uint16(e1[80:])), 512},
		{"blk hostfd", uint64(le.Uint32(e1[88:])), 5},
		{"blk attached", uint64(e1[96]), 1},
		{"net type", uint64(le.Uint32(e2[68:])), 2},
		{"mtu", uint64(le.Uint16(e2[78:])), 1500},
		{"net hostfd", uint64(le.Uint32(e2[88:])), 0xffffffff},
		{"net attached", uint64(e2[96]), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	if !bytes.Equal(e2[72:78], net.MAC[:]) {
		t.Errorf("mac = %x", e2[72:78])
	}
	if string(e1[:8]) != "storage\x00" || string(e1[20:24]) != "junk" {
		t.Errorf("name field = %q", e1[:68])
	}
	// Attached entries decode again (except that validation refuses them).
	if _, err := ParseManifest(b); !errors.Is(err, ErrBadManifest) {
		t.Errorf("re-parse of attached manifest: %v", err)
	}
	// A renamed entry gets a clean name field; over-long names are cut to 67.
	m.Entries[1].Name = strings.Repeat("z", 80)
	b = m.Encode()
	name := b[8+104:][:68]
	if string(name[:67]) != strings.Repeat("z", 67) || name[67] != 0 {
		t.Errorf("renamed name field = %q", name)
	}
}

func TestManifestEncodeFromScratch(t *testing.T) {
	m := &Manifest{Version: ManifestVersion, Entries: []ManifestEntry{
		{Type: DeviceReservedFirst},
		{Name: "storage", Type: DeviceBlock},
		{Name: "service0", Type: DeviceNet},
	}}
	if got := m.Encode(); !bytes.Equal(got, stdMft()) {
		t.Errorf("Encode = %x\nwant     %x", got, stdMft())
	}
}

func TestDeviceTypeString(t *testing.T) {
	for typ, want := range map[DeviceType]string{
		DeviceBlock: "BLOCK_BASIC", DeviceNet: "NET_BASIC", DeviceReservedFirst: "RESERVED_FIRST", 3: "<undefined type>",
	} {
		if got := typ.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", uint32(typ), got, want)
		}
	}
}
