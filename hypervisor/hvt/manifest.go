package hvt

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// DeviceType is the type of a manifest entry (mft_type_t).
type DeviceType uint32

// Manifest entry types.
const (
	// DeviceBlock is a basic block device (BLOCK_BASIC).
	DeviceBlock DeviceType = 1
	// DeviceNet is a basic network device (NET_BASIC).
	DeviceNet DeviceType = 2
	// DeviceReservedFirst is the type of the mandatory, unnamed entry 0.
	DeviceReservedFirst DeviceType = 0x40000000
)

// String returns Solo5's name for t: "BLOCK_BASIC", "NET_BASIC",
// "RESERVED_FIRST", or "<undefined type>".
func (t DeviceType) String() string {
	switch t {
	case DeviceBlock:
		return "BLOCK_BASIC"
	case DeviceNet:
		return "NET_BASIC"
	case DeviceReservedFirst:
		return "RESERVED_FIRST"
	}
	return "<undefined type>"
}

// Manifest layout (struct mft and struct mft_entry, LP64).
const (
	// ManifestVersion is the only struct mft version (MFT_VERSION).
	ManifestVersion = 1
	// ManifestEntrySize is sizeof(struct mft_entry).
	ManifestEntrySize = 104
	// MaxManifestEntries is the largest entry count, entry 0 included.
	MaxManifestEntries = 64
	// ManifestNameMax is the longest entry name, in bytes (the name field
	// is one byte longer, for the NUL).
	ManifestNameMax = 67

	manifestHeaderSize = 8
	offEntryName       = 0
	offEntryType       = 68
	offEntryCapacity   = 72 // u.block_basic.capacity
	offEntryBlockSize  = 80 // u.block_basic.block_size
	offEntryMAC        = 72 // u.net_basic.mac
	offEntryMTU        = 78 // u.net_basic.mtu
	offEntryHostFD     = 88 // b.hostfd
	offEntryAttached   = 96
)

// ManifestEntry is one struct mft_entry. Name and Type come from the image;
// the monitor fills the host-side fields (the device properties for the
// entry's type, HostFD and Attached) before encoding the manifest for the
// guest.
type ManifestEntry struct {
	Name string     // at most ManifestNameMax bytes, no NUL
	Type DeviceType // entry type

	Capacity  uint64 // DeviceBlock: device size in bytes
	BlockSize uint16 // DeviceBlock: block size in bytes

	MAC [6]byte // DeviceNet: MAC address
	MTU uint16  // DeviceNet: MTU

	HostFD   int32 // backing host descriptor (b.hostfd)
	Attached bool  // a host device backs the entry
}

// Manifest is a Solo5 device manifest (struct mft). Entries[0] is the
// reserved first entry; device handles are indices into Entries.
type Manifest struct {
	Version uint32
	Entries []ManifestEntry

	// raw is the descriptor ParseManifest decoded; Encode starts from it so
	// bytes the fields do not describe (name bytes after the NUL, padding,
	// union bytes) reach the guest unchanged, as with Solo5's in-place copy.
	raw []byte
}

// ParseManifest decodes and validates a manifest descriptor (the MFT1 note's
// descriptor without its padding) with the rules of Solo5's mft_validate:
// len(desc) >= 8; version == ManifestVersion; entries <= MaxManifestEntries;
// len(desc) == 8 + ManifestEntrySize*entries exactly; entries >= 1; entry 0 of
// type DeviceReservedFirst with an empty name; every name's last byte NUL;
// no entry attached. Errors unwrap to ErrBadManifest and contain
// "Solo5 manifest is invalid". All fields are decoded as they are in desc
// (the union for block and net entries, HostFD for every entry).
func ParseManifest(desc []byte) (*Manifest, error) {
	bad := func(format string, args ...any) error {
		return loadErr(ErrBadManifest, "Solo5 manifest is invalid ("+format+")", args...)
	}
	le := binary.LittleEndian
	if len(desc) < manifestHeaderSize {
		return nil, bad("%d bytes < %d", len(desc), manifestHeaderSize)
	}
	version, entries := le.Uint32(desc[0:]), le.Uint32(desc[4:])
	if version != ManifestVersion {
		return nil, bad("version %d != %d", version, ManifestVersion)
	}
	if entries > MaxManifestEntries {
		return nil, bad("%d entries > %d", entries, MaxManifestEntries)
	}
	if want := manifestHeaderSize + int(entries)*ManifestEntrySize; len(desc) != want {
		return nil, bad("%d bytes != %d for %d entries", len(desc), want, entries)
	}
	if entries < 1 {
		return nil, bad("no entries")
	}
	m := &Manifest{
		Version: version,
		Entries: make([]ManifestEntry, entries),
		raw:     bytes.Clone(desc),
	}
	for i := range m.Entries {
		e := desc[manifestHeaderSize+i*ManifestEntrySize:][:ManifestEntrySize]
		name := e[offEntryName : offEntryName+ManifestNameMax+1]
		if i == 0 {
			if t := DeviceType(le.Uint32(e[offEntryType:])); t != DeviceReservedFirst {
				return nil, bad("entry 0 has type %v, not RESERVED_FIRST", t)
			}
			if name[0] != 0 {
				return nil, bad("entry 0 has a name")
			}
		}
		if name[ManifestNameMax] != 0 {
			return nil, bad("entry %d name not NUL-terminated", i)
		}
		if e[offEntryAttached] != 0 {
			return nil, bad("entry %d already attached", i)
		}
		m.Entries[i] = decodeEntry(e)
	}
	return m, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func decodeEntry(e []byte) ManifestEntry {
	le := binary.LittleEndian
	me := ManifestEntry{
		Name:     cString(e[offEntryName : offEntryName+ManifestNameMax+1]),
		Type:     DeviceType(le.Uint32(e[offEntryType:])),
		HostFD:   int32(le.Uint32(e[offEntryHostFD:])),
		Attached: e[offEntryAttached] != 0,
	}
	switch me.Type {
	case DeviceBlock:
		me.Capacity = le.Uint64(e[offEntryCapacity:])
		me.BlockSize = le.Uint16(e[offEntryBlockSize:])
	case DeviceNet:
		copy(me.MAC[:], e[offEntryMAC:])
		me.MTU = le.Uint16(e[offEntryMTU:])
	}
	return me
}

// Encode returns the manifest as the guest sees it: 8 + ManifestEntrySize *
// len(Entries) bytes in the exact struct mft layout. It writes Version, the
// entry count, and per entry the name (truncated to ManifestNameMax bytes),
// type, HostFD, Attached and the union fields of the entry's type
// (capacity/block_size at 72/80 for DeviceBlock, mac/mtu at 72/78 for
// DeviceNet). Every other byte is what ParseManifest saw (zero for entries it
// did not see), so for a manifest from ParseManifest with no field changed,
// Encode returns exactly the parsed descriptor.
func (m *Manifest) Encode() []byte {
	le := binary.LittleEndian
	b := make([]byte, manifestHeaderSize+len(m.Entries)*ManifestEntrySize)
	copy(b, m.raw)
	le.PutUint32(b[0:], m.Version)
	le.PutUint32(b[4:], uint32(len(m.Entries)))
	for i, me := range m.Entries {
		e := b[manifestHeaderSize+i*ManifestEntrySize:][:ManifestEntrySize]
		name := e[offEntryName : offEntryName+ManifestNameMax+1]
		if cString(name) != me.Name {
			clear(name)
			copy(name[:ManifestNameMax], me.Name)
		}
		le.PutUint32(e[offEntryType:], uint32(me.Type))
		switch me.Type {
		case DeviceBlock:
			le.PutUint64(e[offEntryCapacity:], me.Capacity)
			le.PutUint16(e[offEntryBlockSize:], me.BlockSize)
		case DeviceNet:
			copy(e[offEntryMAC:], me.MAC[:])
			le.PutUint16(e[offEntryMTU:], me.MTU)
		}
		le.PutUint32(e[offEntryHostFD:], uint32(me.HostFD))
		e[offEntryAttached] = 0
		if me.Attached {
			e[offEntryAttached] = 1
		}
	}
	return b
}

// Lookup returns the index of the first entry named name of type t, as
// Solo5's mft_get_by_name finds it.
func (m *Manifest) Lookup(name string, t DeviceType) (index int, ok bool) {
	for i, e := range m.Entries {
		if e.Type == t && e.Name == name {
			return i, true
		}
	}
	return 0, false
}

// String summarises the manifest for diagnostics.
func (m *Manifest) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "manifest v%d, %d entries", m.Version, len(m.Entries))
	for i, e := range m.Entries[min(1, len(m.Entries)):] {
		fmt.Fprintf(&b, "; [%d] %s %q", i+1, e.Type, e.Name)
	}
	return b.String()
}
