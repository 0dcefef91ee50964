package monitor

import "encoding/binary"

func putRet(b []byte, off int, r int32) { binary.LittleEndian.PutUint32(b[off:], uint32(r)) }

func putLE64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }
