package monitor

import (
	"errors"
	"fmt"

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
		up, mtu, err := ifaceState(spec.Iface)
		if err != nil {
			return nil, fail("Could not attach interface %s: %v", spec.Iface, err)
		}
		if !up {
			return nil, fail("Could not attach interface %s: interface is down", spec.Iface)
		}
		if mtu > 0 && mtu <= 0xffff {
			d.mtu = uint16(mtu)
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

// ifaceState returns whether interface name exists and is up, and its MTU,
// from SIOCGIFFLAGS and SIOCGIFMTU (without the net package, which uaaf
// does not otherwise need).
func ifaceState(name string) (up bool, mtu uint32, err error) {
	s, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, 0, err
	}
	defer unix.Close(s)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return false, 0, err
	}
	if err := unix.IoctlIfreq(s, unix.SIOCGIFFLAGS, ifr); err != nil {
		if errors.Is(err, unix.ENODEV) {
			return false, 0, fmt.Errorf("no such interface")
		}
		return false, 0, err
	}
	up = ifr.Uint16()&unix.IFF_UP != 0
	if err := unix.IoctlIfreq(s, unix.SIOCGIFMTU, ifr); err != nil {
		return false, 0, err
	}
	return up, ifr.Uint32(), nil
}
