package daemon

import (
	"encoding/binary"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// The input payload of an invocation reaches an unmodified Solo5-API guest
// as a read-only block device named "input" (guest/UAAF_ABI.md, "Input
// payload"): sector 0 holds a header — the magic "UAAFIN01" and the
// payload's length as a little-endian uint64 — and the payload follows from
// byte 512, zero-padded to whole sectors.
const (
	inputDevice = "input"
	inputMagic  = "UAAFIN01"
	inputSector = 512
)

// newInput writes payload into a sealed memfd laid out as the input device.
func newInput(payload []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("uaaf-input", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("daemon: input memfd: %w", err)
	}
	f := os.NewFile(uintptr(fd), "input")
	size := inputSector + (len(payload)+inputSector-1)/inputSector*inputSector
	buf := make([]byte, size)
	copy(buf, inputMagic)
	binary.LittleEndian.PutUint64(buf[8:], uint64(len(payload)))
	copy(buf[inputSector:], payload)
	if _, err := f.WriteAt(buf, 0); err != nil {
		f.Close()
		return nil, fmt.Errorf("daemon: input memfd: %w", err)
	}
	return f, nil
}
