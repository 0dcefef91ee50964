package monitor

import (
	"encoding/binary"
	"errors"
)

func putRet(b []byte, off int, r int32) { binary.LittleEndian.PutUint32(b[off:], uint32(r)) }

func putLE64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

// errorsIsAny reports whether err matches any of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
