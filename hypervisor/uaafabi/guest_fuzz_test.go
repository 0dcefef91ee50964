package uaafabi

import (
	"bytes"
	"math"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/uaafabi/internal/cguest"
)

// The guest side of the call area is C (guest/runtime/uaaf.c). These fuzz
// targets run that very code, compiled for the host by package cguest,
// against a scripted other side: a library that forges its result or the
// monitor's verdict, a session that leaves a hostile header. The model they
// check it against is guest/UAAF_ABI.md's "Call area" section.

// dataMax is UAAF_CALL_DATA_MAX.
const dataMax = CallDataMax

// sessionResult is what uaaf_call must return when the call reached the
// other side and came back with verdict and status, per the ABI.
func sessionResult(verdict, status int32, outCap uint64) int64 {
	switch {
	case verdict != 0:
		return int64(verdict)
	case status >= 0 && uint64(status) > outCap:
		return int64(E2Big)
	case status >= 0:
		return int64(status)
	case status >= int32(ErrnoMin) && status != int32(E2Big) && status != int32(EBadRet) && status != int32(ENoEnt):
		return int64(EBadRet) // the monitor's codes come only from the verdict
	}
	return int64(status)
}

// dispatchStatus is the status the dispatcher must leave for an export
// that returned ret, given out_cap.
func dispatchStatus(ret int64, outCap uint32) int32 {
	switch {
	case ret < 0 && (ret >= int64(ErrnoMin) || ret < math.MinInt32):
		return int32(EBadRet)
	case ret < 0:
		return int32(ret)
	case ret > int64(outCap):
		return int32(E2Big)
	}
	return int32(ret)
}

// lastSeq is the call area's seq of the last call that switched: each
// switching call must take the next.
var lastSeq uint32

// FuzzGuestCall runs the session's uaaf_call with fuzzed arguments, import
// table and binding, against a library whose real dispatcher serves the
// call (the export returning a fuzzed value after writing fuzzed bytes) or
// a hostile one that writes a status, data and a verdict of its choosing.
// uaaf_call must refuse what the ABI refuses without switching, fill the
// header and data as documented when it switches, return the verdict when
// there is one and otherwise the callee's status filtered as documented,
// and write nothing but that many bytes into out — never past out_cap, nor
// around the call area.
func FuzzGuestCall(f *testing.F) {
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(3), uint32(64), uint8(0), int64(2), uint32(2), int32(0), int32(0), uint32(0), []byte("abc"))
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(3), uint32(64), uint8(4), int64(0), uint32(0), int32(9), int32(0), uint32(9), []byte("abc"))
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(0), uint32(4), uint8(4), int64(0), uint32(0), int32(5), int32(0), uint32(9), []byte{})
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(0), uint32(4), uint8(4), int64(0), uint32(0), int32(ETimedOut), int32(0), uint32(0), []byte{})
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(0), uint32(4), uint8(4), int64(0), uint32(0), int32(7), int32(EFault), uint32(7), []byte{})
	f.Add(uint8(1), uint32(0), uint32(1), uint32(5), uint8(1), uint32(0), uint32(4), uint8(0), int64(0), uint32(0), int32(0), int32(0), uint32(0), []byte{})
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(0), uint32(4), uint8(0), int64(-3), uint32(0), int32(0), int32(0), uint32(0), []byte{})
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(0), uint32(4), uint8(0), int64(math.MinInt32)-1, uint32(0), int32(0), int32(0), uint32(0), []byte{})
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(dataMax), uint32(dataMax), uint8(0), int64(dataMax), uint32(dataMax), int32(0), int32(0), uint32(0), []byte{1, 2, 3})
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(dataMax+1), uint32(4), uint8(0), int64(0), uint32(0), int32(0), int32(0), uint32(0), []byte{})
	f.Add(uint8(2), uint32(2), uint32(1), uint32(0), uint8(1), uint32(0), uint32(4), uint8(0), int64(0), uint32(0), int32(0), int32(0), uint32(0), []byte{})
	f.Add(uint8(1), uint32(0), uint32(512), uint32(0), uint8(1), uint32(0), uint32(4), uint8(0), int64(0), uint32(0), int32(0), int32(0), uint32(0), []byte{})
	f.Add(uint8(1), uint32(0), uint32(1), uint32(0), uint8(1), uint32(4), uint32(4), uint8(1|2), int64(0), uint32(0), int32(0), int32(0), uint32(0), []byte{})
	f.Fuzz(func(t *testing.T, imports uint8, fIdx, view, fn uint32, exports uint8, inLen, outCap uint32, flags uint8,
		fnRet int64, fnWrite uint32, status, verdict int32, dataLen uint32, input []byte) {
		inNil, outNil, forge := flags&1 != 0, flags&2 != 0, flags&4 != 0
		s := cguest.Script{
			Forge: forge, FnRet: fnRet, FnWrite: fnWrite, Status: status, Verdict: verdict, DataLen: dataLen, DataByte: 0x5A,
			Imports: int(imports) % (cguest.MaxImports + 1), Exports: int(exports) % (cguest.MaxExports + 1),
		}
		for range s.Imports {
			s.Bindings = append(s.Bindings, cguest.Binding{View: view, Fn: fn})
		}
		// The input buffer holds in_len bytes where uaaf_call may read
		// them; beyond dataMax it must not read any.
		in := input
		if inLen <= dataMax {
			in = bytes.Repeat(append(input, 0x11), int(inLen)/(len(input)+1)+1)[:inLen]
		}
		outBuf := int(min(outCap, dataMax+cguest.Guard))
		ret, out, tr := cguest.Call(s, fIdx, in, inNil, uint64(inLen), outNil, outBuf, uint64(outCap))

		// Refused without switching, in the ABI's order.
		var refused int64
		switch {
		case int(fIdx) >= s.Imports:
			refused = int64(ENoEnt)
		case view == 0 || view >= MaxViews:
			refused = int64(ENoEnt)
		case inLen > dataMax || outCap > dataMax:
			refused = int64(E2Big)
		case inLen > 0 && inNil || outCap > 0 && outNil:
			refused = int64(EInval)
		}
		for i, b := range append(append([]byte{}, tr.Area[:cguest.Guard]...), tr.Area[cguest.Guard+CallSize:]...) {
			if b != cguest.Canary {
				t.Fatalf("byte %d around the call area changed to %#x", i, b)
			}
		}
		if refused != 0 {
			if ret != refused || tr.TrampCalls != 0 {
				t.Fatalf("uaaf_call = %d after %d switches; want %d without switching", ret, tr.TrampCalls, refused)
			}
			checkOut(t, out, 0, nil)
			return
		}
		if tr.TrampCalls != 1 || tr.View != uint64(view) {
			t.Fatalf("switched %d times to view %d; want once to %d", tr.TrampCalls, tr.View, view)
		}
		hfn, hin, hcap, hstatus, seq := tr.Header()
		if hfn != fn || hin != inLen || hcap != outCap {
			t.Fatalf("header fn %d in_len %d out_cap %d; want %d %d %d", hfn, hin, hcap, fn, inLen, outCap)
		}
		if lastSeq != 0 && seq != lastSeq+1 {
			t.Fatalf("seq %d after %d", seq, lastSeq)
		}
		lastSeq = seq

		// What the other side left in the data area, per the model.
		data := bytes.Repeat([]byte{cguest.Canary}, dataMax)
		copy(data, in[:inLen])
		var wantStatus int32
		switch {
		case forge:
			n := min(dataLen, dataMax)
			copy(data, bytes.Repeat([]byte{0x5A}, int(n)))
			wantStatus = status
		case int(fn) >= s.Exports:
			wantStatus = int32(ENoEnt)
			verdict = 0
		default:
			verdict = 0
			if tr.FnCalls != 1 || tr.FnInLen != uint64(inLen) || tr.FnOutCap != uint64(outCap) || !tr.FnInMatches {
				t.Fatalf("export called %d times with in_len %d out_cap %d (input as sent: %v); want once with %d %d",
					tr.FnCalls, tr.FnInLen, tr.FnOutCap, tr.FnInMatches, inLen, outCap)
			}
			wantStatus = dispatchStatus(fnRet, outCap)
			if wantStatus > 0 {
				n := min(uint32(wantStatus), fnWrite)
				copy(data, bytes.Repeat([]byte{0xAB}, int(n)))
				if fnWrite < uint32(wantStatus) { // bytes the export left as they were: unknown
					data = data[:n]
				}
			}
		}
		if hstatus != wantStatus {
			t.Fatalf("call area status %d, want %d", hstatus, wantStatus)
		}
		if tr.Verdict != verdict {
			t.Fatalf("verdict %d, want %d", tr.Verdict, verdict)
		}
		want := sessionResult(verdict, wantStatus, uint64(outCap))
		if ret != want {
			t.Fatalf("uaaf_call = %d; want %d (verdict %d, status %d, out_cap %d)", ret, want, verdict, wantStatus, outCap)
		}
		if ret > 0 && verdict == 0 { // a verdict is returned as is, nothing copied
			checkOut(t, out, int(ret), data[:min(int(ret), len(data))])
		} else {
			checkOut(t, out, 0, nil)
		}
	})
}

// checkOut checks that out holds want in its first n bytes (want may be
// shorter: the rest is unknown) and canary bytes after them.
func checkOut(t *testing.T, out []byte, n int, want []byte) {
	t.Helper()
	if out == nil {
		return
	}
	if !bytes.Equal(out[:len(want)], want) {
		t.Fatalf("out holds % x..., want % x...", out[:min(len(want), 16)], want[:min(len(want), 16)])
	}
	for i := n; i < len(out); i++ {
		if out[i] != cguest.Canary {
			t.Fatalf("out[%d] written (%#x): past the %d bytes the call returned", i, out[i], n)
		}
	}
}

// FuzzGuestDispatch runs the library's dispatcher over a call area whose
// header a hostile session filled: fuzzed fn, in_len, out_cap, input, and
// an export returning a fuzzed value. It must refuse an unknown function
// and oversized lengths without calling the export, give the export the
// input and out_cap as sent, turn reserved and oversized results into
// UAAF_EBADRET and UAAF_E2BIG, and write only the result's bytes into the
// call area — never the header's other fields, never around it.
func FuzzGuestDispatch(f *testing.F) {
	f.Add(uint32(0), uint32(3), uint32(8), uint8(1), int64(3), uint32(3), []byte("abc"))
	f.Add(uint32(1), uint32(0), uint32(8), uint8(1), int64(0), uint32(0), []byte{})
	f.Add(uint32(0), uint32(dataMax+1), uint32(8), uint8(1), int64(0), uint32(0), []byte{})
	f.Add(uint32(0), uint32(0), uint32(0xffffffff), uint8(1), int64(0), uint32(0), []byte{})
	f.Add(uint32(0), uint32(0), uint32(8), uint8(1), int64(9), uint32(9), []byte{})
	f.Add(uint32(0), uint32(0), uint32(8), uint8(1), int64(-15), uint32(0), []byte{})
	f.Add(uint32(0), uint32(0), uint32(8), uint8(1), int64(-16), uint32(0), []byte{})
	f.Add(uint32(0), uint32(0), uint32(8), uint8(1), int64(math.MinInt32)-1, uint32(0), []byte{})
	f.Add(uint32(0), uint32(0), uint32(dataMax), uint8(1), int64(dataMax), uint32(dataMax), []byte{})
	f.Fuzz(func(t *testing.T, fn, inLen, outCap uint32, exports uint8, fnRet int64, fnWrite uint32, input []byte) {
		s := cguest.Script{Exports: int(exports) % (cguest.MaxExports + 1), FnRet: fnRet, FnWrite: fnWrite}
		tr := cguest.Dispatch(s, fn, inLen, outCap, input)
		area := tr.Area[cguest.Guard : cguest.Guard+CallSize]
		for i, b := range append(append([]byte{}, tr.Area[:cguest.Guard]...), tr.Area[cguest.Guard+CallSize:]...) {
			if b != cguest.Canary {
				t.Fatalf("byte %d around the call area changed to %#x", i, b)
			}
		}
		hfn, hin, hcap, status, _ := tr.Header()
		if hfn != fn || hin != inLen || hcap != outCap {
			t.Fatalf("the dispatcher rewrote the header: fn %d in_len %d out_cap %d", hfn, hin, hcap)
		}
		before := bytes.Repeat([]byte{cguest.Canary}, dataMax)
		copy(before, input)
		var want int32
		switch {
		case int(fn) >= s.Exports:
			want = int32(ENoEnt)
		case inLen > dataMax || outCap > dataMax:
			want = int32(E2Big)
		}
		if want != 0 {
			if status != want || tr.FnCalls != 0 {
				t.Fatalf("status %d with %d export calls; want %d and none", status, tr.FnCalls, want)
			}
			if !bytes.Equal(area[CallHdrSize:], before) {
				t.Fatal("a refused call changed the data")
			}
			return
		}
		if tr.FnCalls != 1 || tr.FnInLen != uint64(inLen) || tr.FnOutCap != uint64(outCap) || !tr.FnInMatches {
			t.Fatalf("export called %d times with in_len %d out_cap %d (input as sent: %v)", tr.FnCalls, tr.FnInLen, tr.FnOutCap, tr.FnInMatches)
		}
		want = dispatchStatus(fnRet, outCap)
		if status != want {
			t.Fatalf("status %d for an export's %d with out_cap %d; want %d", status, fnRet, outCap, want)
		}
		n := 0
		if want > 0 {
			n = int(want)
			if k := min(n, int(fnWrite)); !bytes.Equal(area[CallHdrSize:CallHdrSize+k], bytes.Repeat([]byte{0xAB}, k)) {
				t.Fatal("the result's bytes are not the export's")
			}
		}
		if !bytes.Equal(area[CallHdrSize+n:], before[n:]) {
			t.Fatalf("the dispatcher wrote data past the %d bytes of its result", n)
		}
	})
}
