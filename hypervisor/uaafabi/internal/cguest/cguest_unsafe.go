// Package cguest runs the guest side of UaaF calls — guest/runtime/uaaf.c,
// the session's uaaf_call and the library's dispatcher, compiled unchanged
// for the host through cgo — against a scripted other side, for the fuzz
// targets of package uaafabi. The call area, the view data page, the
// trampoline and the linker's tables are the harness's (harness.c). It is
// used only by tests, and is not safe for concurrent use: the harness has
// one call area.
package cguest

/*
#cgo CFLAGS: -I${SRCDIR}/../../../../guest/include -I${SRCDIR}/../../../../guest/runtime -Wall -Wno-unused-function
#include <stdlib.h>
#include <string.h>
#include "harness.h"
*/
import "C"

import (
	"encoding/binary"
	"unsafe"
)

// Guard is how many canary bytes surround the call area and each buffer.
const Guard = C.H_GUARD

// Canary is the byte the call area's guards and untouched data hold.
const Canary = 0xCC

// Binding is one import's entry in the session's binding table.
type Binding struct{ View, Fn uint32 }

// Script says what the other side of the next call does.
type Script struct {
	// Forge: a hostile callee writes Status, DataLen bytes of DataByte and
	// the view data page's Verdict itself. Otherwise the library's real
	// dispatcher serves the call, after rewriting the header to Fn, InLen,
	// OutCap if Rewrite (a hostile session).
	Forge             bool
	Rewrite           bool
	Fn, InLen, OutCap uint32
	FnWrite           uint32 // bytes the export writes to its out buffer
	FnRet             int64  // what the export returns
	Status, Verdict   int32
	DataLen           uint32
	DataByte          byte
	Imports, Exports  int       // table sizes (at most MaxImports, MaxExports)
	Bindings          []Binding // the session's binding table
}

// Table bounds of the harness.
const (
	MaxImports = C.H_MAX_IMPORTS
	MaxExports = C.H_MAX_EXPORTS
)

// Trace is what happened during a call.
type Trace struct {
	TrampCalls  uint32 // switches to another view
	View        uint64 // the view switched to
	FnCalls     uint32 // calls of the export
	FnInLen     uint64
	FnOutCap    uint64
	FnInMatches bool // the export saw the call area's input
	Verdict     int32
	// Area is the call area with Guard bytes on each side.
	Area []byte
}

// Header fields of the call area (Trace.Area without its guard).
func (t Trace) Header() (fn, inLen, outCap uint32, status int32, seq uint32) {
	h := t.Area[Guard:]
	le := binary.LittleEndian
	return le.Uint32(h[0:]), le.Uint32(h[4:]), le.Uint32(h[8:]), int32(le.Uint32(h[12:])), le.Uint32(h[16:])
}

func (s Script) load() {
	C.h_reset()
	C.h_nimports, C.h_nexports = C.uint32_t(min(s.Imports, MaxImports)), C.uint32_t(min(s.Exports, MaxExports))
	for i := range C.h_bindings {
		C.h_bindings[i] = C.struct_uaaf_binding{}
	}
	for i, b := range s.Bindings {
		if i < MaxImports {
			C.h_bindings[i].view, C.h_bindings[i].fn = C.uint32_t(b.View), C.uint32_t(b.Fn)
		}
	}
	mode := C.H_DISPATCH
	if s.Forge {
		mode = C.H_FORGE
	}
	rewrite := 0
	if s.Rewrite {
		rewrite = 1
	}
	C.h_script = C.struct_h_script{
		mode: C.int(mode), rewrite: C.int(rewrite), fn: C.uint32_t(s.Fn), in_len: C.uint32_t(s.InLen), out_cap: C.uint32_t(s.OutCap),
		fn_write: C.uint32_t(s.FnWrite), fn_ret: C.int64_t(s.FnRet), status: C.int32_t(s.Status), verdict: C.int32_t(s.Verdict),
		data_len: C.uint32_t(s.DataLen), data_byte: C.uint8_t(s.DataByte),
	}
}

func trace() Trace {
	t := C.h_trace
	return Trace{
		TrampCalls: uint32(t.tramp_calls), View: uint64(t.view), FnCalls: uint32(t.fn_calls),
		FnInLen: uint64(t.fn_in_len), FnOutCap: uint64(t.fn_out_cap), FnInMatches: t.fn_in_matches != 0,
		Verdict: int32(C.h_vd.verdict),
		Area:    C.GoBytes(unsafe.Pointer(&C.h_area[0]), C.int(len(C.h_area))),
	}
}

// Call runs uaaf_call(f, in, inLen, out, outCap) as a session would, with
// s's other side. in is nil (NULL) if inNil, else a C buffer holding input
// (inLen is passed as given; the buffer holds only len(input) bytes). out
// is nil if outNil, else a C buffer of outBuf bytes plus Guard canary
// bytes, returned whole after the call (its first outBuf bytes start as
// Canary too).
func Call(s Script, f uint32, input []byte, inNil bool, inLen uint64, outNil bool, outBuf int, outCap uint64) (ret int64, out []byte, tr Trace) {
	s.load()
	var in, o unsafe.Pointer
	if !inNil {
		in = C.malloc(C.size_t(len(input) + 1))
		defer C.free(in)
		if len(input) > 0 {
			C.memcpy(in, unsafe.Pointer(&input[0]), C.size_t(len(input)))
		}
	}
	if !outNil {
		o = C.malloc(C.size_t(outBuf + Guard))
		defer C.free(o)
		C.memset(o, Canary, C.size_t(outBuf+Guard))
	}
	r := C.h_uaaf_call(C.uint32_t(f), in, C.size_t(inLen), o, C.size_t(outCap))
	if o != nil {
		out = C.GoBytes(o, C.int(outBuf+Guard))
	}
	return int64(r), out, trace()
}

// Dispatch runs the library's dispatcher once over a call area whose
// header says fn, inLen, outCap and whose data holds input, as a hostile
// session may leave it; s says what the export does.
func Dispatch(s Script, fn, inLen, outCap uint32, input []byte) Trace {
	s.load()
	area := unsafe.Slice((*byte)(unsafe.Pointer(&C.h_area[0])), len(C.h_area))
	h := area[Guard:]
	le := binary.LittleEndian
	le.PutUint32(h[0:], fn)
	le.PutUint32(h[4:], inLen)
	le.PutUint32(h[8:], outCap)
	le.PutUint32(h[12:], 0x7fffffff)
	copy(h[64:64+min(len(input), C.UAAF_CALL_DATA_MAX)], input)
	C.h_dispatch()
	return trace()
}
