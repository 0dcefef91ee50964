package monitor

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// openNet attaches spec's tap: either the named interface (which must exist
// and be up; it is opened through /dev/net/tun as IFF_TAP|IFF_NO_PI) or an
// already open fd passed as @FD. The fd is made non-blocking.
func openNet(spec NetSpec) (*netDevice, error) {
	fail := func(format string, args ...any) error {
		return &Error{Kind: ErrConfig, Msg: spec.Name + ": " + fmt.Sprintf(format, args...)}
	}
	d := &netDevice{fd: -1, mtu: 1500}
	if spec.Iface != "" {
		ifi, err := net.InterfaceByName(spec.Iface)
		if err != nil {
			return nil, fail("Could not attach interface %s: %v", spec.Iface, err)
		}
		if ifi.Flags&net.FlagUp == 0 {
			return nil, fail("Could not attach interface %s: interface is down", spec.Iface)
		}
		if ifi.MTU > 0 && ifi.MTU <= 0xffff {
			d.mtu = uint16(ifi.MTU)
		}
		fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fail("Could not attach interface %s: open /dev/net/tun: %v", spec.Iface, err)
		}
		ifr, err := unix.NewIfreq(spec.Iface)
		if err != nil {
			unix.Close(fd)
			return nil, fail("Could not attach interface %s: %v", spec.Iface, err)
		}
		ifr.SetUint16(unix.IFF_TAP | unix.IFF_NO_PI)
		if err := unix.IoctlIfreq(fd, unix.TUNSETIFF, ifr); err != nil {
			unix.Close(fd)
			return nil, fail("Could not attach interface %s: TUNSETIFF: %v (is it a tap interface?)", spec.Iface, err)
		}
		d.fd = fd
	} else {
		if _, err := unix.FcntlInt(uintptr(spec.FD), unix.F_GETFD, 0); err != nil {
			return nil, fail("fd %d is not open: %v", spec.FD, err)
		}
		if err := unix.SetNonblock(spec.FD, true); err != nil {
			return nil, fail("fd %d: %v", spec.FD, err)
		}
		d.fd = spec.FD
	}
	if spec.MAC != "" {
		mac, err := parseMAC(spec.MAC)
		if err != nil {
			d.close()
			return nil, fail("Malformed MAC address %s", spec.MAC)
		}
		d.mac = mac
	} else {
		mac, err := randomMAC()
		if err != nil {
			d.close()
			return nil, fail("random MAC: %v", err)
		}
		d.mac = mac
	}
	return d, nil
}
