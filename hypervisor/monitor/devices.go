package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/uaaf/uaaf/hypervisor/hvt"
)

// device is a host backend attached to one manifest entry.
type device interface {
	close()
}

// checkDeviceNames rejects --block/--net options that name a device the
// manifest does not declare with that type, before anything is opened.
func (m *Monitor) checkDeviceNames() error {
	for _, b := range m.cfg.Blocks {
		if _, ok := m.manifest.Lookup(b.Name, hvt.DeviceBlock); !ok {
			return &Error{Kind: ErrUsage, Msg: fmt.Sprintf("Resource not declared in manifest: '%s' (--block:%s)", b.Name, b.Name)}
		}
	}
	for _, n := range m.cfg.Nets {
		if _, ok := m.manifest.Lookup(n.Name, hvt.DeviceNet); !ok {
			return &Error{Kind: ErrUsage, Msg: fmt.Sprintf("Resource not declared in manifest: '%s' (--net:%s)", n.Name, n.Name)}
		}
	}
	return nil
}

// attachDevices opens every backend, fills the host-side manifest fields the
// guest reads (capacity, block size, MAC, MTU, attached), and insists that
// every declared device is attached, as solo5-hvt does.
func (m *Monitor) attachDevices() error {
	m.devices = make([]device, len(m.manifest.Entries))
	for _, spec := range m.cfg.Blocks {
		idx, _ := m.manifest.Lookup(spec.Name, hvt.DeviceBlock)
		d, err := openBlock(spec)
		if err != nil {
			return err
		}
		m.devices[idx] = d
		e := &m.manifest.Entries[idx]
		e.Capacity, e.BlockSize = d.capacity, d.sectorSize
		e.HostFD, e.Attached = int32(d.f.Fd()), true
	}
	for _, spec := range m.cfg.Nets {
		idx, _ := m.manifest.Lookup(spec.Name, hvt.DeviceNet)
		d, err := openNet(spec)
		if err != nil {
			return err
		}
		m.devices[idx] = d
		e := &m.manifest.Entries[idx]
		e.MAC, e.MTU = d.mac, d.mtu
		e.HostFD, e.Attached = int32(d.fd), true
	}
	for i, e := range m.manifest.Entries {
		if i == 0 || e.Attached {
			continue
		}
		return &Error{Kind: ErrUsage, Msg: fmt.Sprintf(
			"Device '%s' of type %s declared but not attached. All declared devices must be attached (see uaaf run --help).",
			e.Name, e.Type)}
	}

	waker, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return &Error{Kind: ErrHost, Msg: "eventfd: " + err.Error(), Err: err}
	}
	m.waker = waker
	for i, d := range m.devices {
		if n, ok := d.(*netDevice); ok {
			m.pollFDs = append(m.pollFDs, unix.PollFd{Fd: int32(n.fd), Events: unix.POLLIN})
			m.pollIndex = append(m.pollIndex, uint(i))
		}
	}
	m.pollFDs = append(m.pollFDs, unix.PollFd{Fd: int32(waker), Events: unix.POLLIN})
	return nil
}

// blockDevice is a BLOCK_BASIC backend: a host file read and written with
// pread/pwrite.
type blockDevice struct {
	f          *os.File
	owned      bool // opened here, closed with the device
	readOnly   bool
	capacity   uint64
	sectorSize uint16
}

func openBlock(spec BlockSpec) (_ *blockDevice, err error) {
	d := &blockDevice{f: spec.File, readOnly: spec.ReadOnly, sectorSize: spec.SectorSize}
	if d.f == nil {
		mode := os.O_RDWR | unix.O_NONBLOCK // a FIFO must not block the open
		if spec.ReadOnly {
			mode = os.O_RDONLY | unix.O_NONBLOCK
		}
		if d.f, err = os.OpenFile(spec.Path, mode, 0); err != nil {
			return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: Could not open backing storage %s: %v", spec.Name, spec.Path, pathReason(err)), Err: err}
		}
		d.owned = true
	}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	fi, err := d.f.Stat()
	if err != nil {
		return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: %s: cannot find its size: %v", spec.Name, spec.Path, err), Err: err}
	}
	size := fi.Size()
	if !fi.Mode().IsRegular() && fi.Mode()&os.ModeDevice == 0 {
		return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: %s is not a regular file or a block device", spec.Name, spec.Path)}
	}
	if !fi.Mode().IsRegular() {
		if size, err = d.f.Seek(0, io.SeekEnd); err != nil {
			return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: %s: cannot find its size: %v", spec.Name, spec.Path, err), Err: err}
		}
	}
	if d.sectorSize == 0 {
		d.sectorSize = 512
	}
	if size%int64(d.sectorSize) != 0 {
		return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: Backing storage size must be block aligned (%d bytes)", spec.Name, d.sectorSize)}
	}
	if size < int64(d.sectorSize) {
		return nil, &Error{Kind: ErrConfig, Msg: fmt.Sprintf("%s: Backing storage must hold at least one block (%d bytes)", spec.Name, d.sectorSize)}
	}
	d.capacity = uint64(size)
	return d, nil
}

func (d *blockDevice) close() {
	if d.owned {
		d.f.Close()
	}
}

// deviceAt returns the device of type T at manifest index handle (a guest
// value), or the zero T if there is none of that type.
func deviceAt[T device](m *Monitor, handle uint64) T {
	var d T
	if handle < uint64(len(m.devices)) {
		d, _ = m.devices[handle].(T)
	}
	return d
}

func (m *Monitor) hcBlockWrite(gpa uint64) error { return m.blockIO(gpa, true) }
func (m *Monitor) hcBlockRead(gpa uint64) error  { return m.blockIO(gpa, false) }

// blockIO serves BLOCK_READ and BLOCK_WRITE. A bad handle or range is the
// guest's error (EINVAL back to it); a bad buffer pointer ends the guest; a
// host I/O failure ends the run (the data on the device is in doubt).
func (m *Monitor) blockIO(gpa uint64, write bool) error {
	name := "BLOCK_READ"
	if write {
		name = "BLOCK_WRITE"
	}
	b, err := m.guestSliceW(name, gpa, hvt.SizeBlockIO)
	if err != nil {
		return err
	}
	req := hvt.DecodeBlockIO(b)
	d := deviceAt[*blockDevice](m, req.Handle)
	if d == nil {
		putRet(b, hvt.OffBlockRet, hvt.ResultEInval)
		return nil
	}
	data, err := m.guestBuf(name, req.Data, req.Len, !write) // a read fills guest memory
	if err != nil {
		return err
	}
	end := req.Offset + req.Len
	if req.Offset >= d.capacity || end < req.Offset || end > d.capacity {
		putRet(b, hvt.OffBlockRet, hvt.ResultEInval)
		return nil
	}
	if write && d.readOnly {
		putRet(b, hvt.OffBlockRet, hvt.ResultEUnspec)
		return nil
	}
	var n int
	if write {
		n, err = d.f.WriteAt(data, int64(req.Offset))
	} else {
		n, err = d.f.ReadAt(data, int64(req.Offset))
	}
	if err != nil || n != len(data) {
		verb := "reading from"
		if write {
			verb = "writing to"
		}
		return &Error{Kind: ErrHost, Msg: fmt.Sprintf("Fatal error when %s block device %s: %d of %d bytes: %v", verb, d.f.Name(), n, len(data), err), Err: err}
	}
	putRet(b, hvt.OffBlockRet, hvt.ResultOK)
	return nil
}

// netDevice is a NET_BASIC backend: a non-blocking tap fd.
type netDevice struct {
	fd  int
	mac [6]byte
	mtu uint16
}

func (d *netDevice) close() { unix.Close(d.fd) }

// netRequest decodes a NET_READ/NET_WRITE argument struct and checks its
// buffer (which a read fills). d is nil (and EINVAL already returned to the
// guest) for a handle that is not a net device; err ends the guest.
func (m *Monitor) netRequest(name string, gpa uint64, read bool) (b []byte, d *netDevice, data []byte, err error) {
	if b, err = m.guestSliceW(name, gpa, hvt.SizeNetIO); err != nil {
		return nil, nil, nil, err
	}
	req := hvt.DecodeNetIO(b)
	if d = deviceAt[*netDevice](m, req.Handle); d == nil {
		putRet(b, hvt.OffNetRet, hvt.ResultEInval)
		return b, nil, nil, nil
	}
	data, err = m.guestBuf(name, req.Data, req.Len, read)
	return b, d, data, err
}

func (m *Monitor) hcNetWrite(gpa uint64) error {
	b, d, data, err := m.netRequest("NET_WRITE", gpa, false)
	if err != nil || d == nil {
		return err
	}
	n, err := unix.Write(d.fd, data)
	if err != nil || n != len(data) {
		return &Error{Kind: ErrHost, Msg: fmt.Sprintf("Fatal error writing to tap: %d of %d bytes: %v", n, len(data), err), Err: err}
	}
	putRet(b, hvt.OffNetRet, hvt.ResultOK)
	return nil
}

func (m *Monitor) hcNetRead(gpa uint64) error {
	b, d, data, err := m.netRequest("NET_READ", gpa, true)
	if err != nil || d == nil {
		return err
	}
	n, err := unix.Read(d.fd, data)
	switch {
	case n == 0 || errors.Is(err, unix.EAGAIN):
		putRet(b, hvt.OffNetRet, hvt.ResultAgain)
		return nil
	case err != nil:
		return &Error{Kind: ErrHost, Msg: "Fatal error reading from tap: " + err.Error(), Err: err}
	}
	putLE64(b, hvt.OffNetLen, uint64(n))
	putRet(b, hvt.OffNetRet, hvt.ResultOK)
	return nil
}

// randomMAC returns a random unicast, locally administered MAC address.
// It reads the kernel's random pool directly (getrandom(2)), as solo5-hvt
// reads /dev/urandom: crypto/rand would link and initialise the crypto
// packages in every uaaf start.
func randomMAC() ([6]byte, error) {
	var mac [6]byte
	if n, err := unix.Getrandom(mac[:], 0); err != nil || n != len(mac) {
		return mac, fmt.Errorf("getrandom: %d bytes, %v", n, err)
	}
	mac[0] = mac[0]&^0x01 | 0x02
	return mac, nil
}

func logf(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "uaaf: "+format+"\n", args...)
}
