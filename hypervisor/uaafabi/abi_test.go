package uaafabi

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/uaafabi/internal/cabi"
)

// TestMatchesHeader proves every constant and layout here equals uaaf.h's.
func TestMatchesHeader(t *testing.T) {
	tests := []struct {
		name string
		got  int64
	}{
		{"UAAF_TRAMP_GPA", TrampGPA},
		{"UAAF_VIEWDATA_GPA", ViewDataGPA},
		{"UAAF_CALL_GPA", CallGPA},
		{"UAAF_CALL_SIZE", CallSize},
		{"UAAF_TRAMP_CALL", TrampCall},
		{"UAAF_TRAMP_CALLER_RESUME", TrampCallerResume},
		{"UAAF_TRAMP_CALLEE_ENTRY", TrampCalleeEntry},
		{"UAAF_TRAMP_READY", TrampReady},
		{"UAAF_SWITCH_PORT", SwitchPort},
		{"UAAF_ROLE_SESSION", RoleSession},
		{"UAAF_ROLE_LIBFUNC", RoleLibFunc},
		{"UAAF_CALL_HDR_SIZE", CallHdrSize},
		{"UAAF_CALL_DATA_MAX", CallDataMax},
		{"UAAF_EINVAL", int64(EInval)},
		{"UAAF_ENOENT", int64(ENoEnt)},
		{"UAAF_E2BIG", int64(E2Big)},
		{"UAAF_EFAULT", int64(EFault)},
		{"UAAF_ETIMEDOUT", int64(ETimedOut)},
		{"UAAF_EUNAVAIL", int64(EUnavail)},
		{"UAAF_EBADRET", int64(EBadRet)},
		{"UAAF_ERRNO_MIN", int64(ErrnoMin)},
		{"UAAF_NOTE_NAMESZ", int64(len(NoteOwner) + 1)},
		{"UAAF_NOTE_EXPORTS", int64(NoteExports)},
		{"UAAF_NOTE_IMPORTS", int64(NoteImports)},
		{"UAAF_NOTE_VERSION", NoteVersion},
		{"UAAF_EXPORT_NAME_MAX", ExportNameMax},
		{"UAAF_LIB_NAME_MAX", LibNameMax},
		{"UAAF_FN_NAME_MAX", FnNameMax},
		{"UAAF_MAX_EXPORTS", MaxExports},
		{"UAAF_MAX_IMPORTS", MaxImports},
		{"UAAF_MAX_VIEWS", MaxViews},
		{"off_vd_resume", OffVDResume},
		{"off_vd_saved_rsp", OffVDSavedRSP},
		{"off_vd_dispatch", OffVDDispatch},
		{"off_vd_role", OffVDRole},
		{"off_vd_view", OffVDView},
		{"off_vd_verdict", OffVDVerdict},
		{"off_call_fn", OffCallFn},
		{"off_call_in_len", OffCallInLen},
		{"off_call_out_cap", OffCallOutCap},
		{"off_call_status", OffCallStatus},
		{"off_call_seq", OffCallSeq},
		{"size_call_hdr", CallHdrSize},
		{"size_export", EntrySize},
		{"size_import", EntrySize},
		{"size_binding", BindingSize},
		{"size_exports_hdr", noteHdrSize},
		{"size_imports_hdr", noteHdrSize},
		{"off_export_addr", ExportNameMax},
		{"off_import_fn", LibNameMax},
	}
	for _, tt := range tests {
		want, ok := cabi.Values[tt.name]
		if !ok {
			t.Errorf("%s missing from cabi", tt.name)
			continue
		}
		if tt.got != want {
			t.Errorf("%s = %#x, uaaf.h says %#x", tt.name, tt.got, want)
		}
	}
}

// TestTrampoline checks the generated trampolines: same size, differing
// only in the 8-byte SWITCH slots, with the entry points where uaaf.h says.
func TestTrampoline(t *testing.T) {
	ex, err := Trampoline(BackendExit)
	if err != nil {
		t.Fatal(err)
	}
	vf, err := Trampoline(BackendVMFUNC)
	if err != nil {
		t.Fatal(err)
	}
	if len(ex) != TrampSize || len(vf) != TrampSize {
		t.Fatalf("sizes %d, %d; want %d", len(ex), len(vf), TrampSize)
	}
	// Every entry point starts with a real instruction, not int3 padding.
	for _, e := range []int{TrampCall, TrampCallerResume, TrampCalleeEntry, TrampReady} {
		if ex[e-TrampGPA] == 0xcc {
			t.Errorf("entry %#x is padding", e)
		}
	}
	// The builds differ only where SWITCH is, and there the exit build has
	// `out %eax,(%dx)` (0xef) and the vmfunc build VMFUNC (0f 01 d4).
	diff := 0
	for i := range ex {
		if ex[i] != vf[i] {
			diff++
		}
	}
	outs := bytes.Count(ex, []byte{0x66, 0xba, 0x10, 0x05, 0xef})
	vmfuncs := bytes.Count(vf, []byte{0x0f, 0x01, 0xd4})
	if outs != 3 || vmfuncs != 3 {
		t.Errorf("SWITCH sites: %d outs, %d vmfuncs; want 3 each", outs, vmfuncs)
	}
	if diff == 0 || diff > 3*8 {
		t.Errorf("%d differing bytes; want 1..24 (three 8-byte SWITCH slots)", diff)
	}
	if _, err := Trampoline("other"); err == nil {
		t.Error("unknown backend accepted")
	}
}

func noteDesc(count int, word3 uint32, entries ...[]byte) []byte {
	b := make([]byte, noteHdrSize)
	binary.LittleEndian.PutUint32(b[0:], NoteVersion)
	binary.LittleEndian.PutUint32(b[4:], uint32(count))
	binary.LittleEndian.PutUint32(b[8:], EntrySize)
	binary.LittleEndian.PutUint32(b[12:], word3)
	for _, e := range entries {
		b = append(b, e...)
	}
	return b
}

func exportEntry(name string, addr uint32) []byte {
	e := make([]byte, EntrySize)
	copy(e, name)
	binary.LittleEndian.PutUint32(e[ExportNameMax:], addr)
	return e
}

func importEntry(lib, fn string) []byte {
	e := make([]byte, EntrySize)
	copy(e, lib)
	copy(e[LibNameMax:], fn)
	return e
}

func TestParseExports(t *testing.T) {
	tests := []struct {
		name string
		desc []byte
		want []Export
		err  bool
	}{
		{"none", noteDesc(0, 0), []Export{}, false},
		{"two", noteDesc(2, 0, exportEntry("sha256", 0x100040), exportEntry("crc32", 0x100080)),
			[]Export{{"sha256", 0x100040}, {"crc32", 0x100080}}, false},
		{"short", noteDesc(0, 0)[:8], nil, true},
		{"count mismatch", noteDesc(2, 0, exportEntry("a", 1)), nil, true},
		{"duplicate", noteDesc(2, 0, exportEntry("a", 1), exportEntry("a", 2)), nil, true},
		{"empty name", noteDesc(1, 0, exportEntry("", 1)), nil, true},
		{"bad name", noteDesc(1, 0, exportEntry("a b", 1)), nil, true},
		{"unterminated", noteDesc(1, 0, bytes.Repeat([]byte{'a'}, EntrySize)), nil, true},
		{"too many", noteDesc(MaxExports+1, 0), nil, true},
	}
	for _, tt := range tests {
		got, err := parseExports(tt.desc)
		if (err != nil) != tt.err {
			t.Errorf("%s: err = %v", tt.name, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadNote) {
				t.Errorf("%s: %v does not wrap ErrBadNote", tt.name, err)
			}
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v", tt.name, got)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: [%d] = %v, want %v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}

func TestParseImports(t *testing.T) {
	got, bind, err := parseImports(noteDesc(2, 0x105000, importEntry("sha256", "sha256"), importEntry("l511", "nop")))
	if err != nil || bind != 0x105000 || len(got) != 2 || got[1] != (Import{"l511", "nop"}) {
		t.Fatalf("got %v %#x %v", got, bind, err)
	}
	if _, _, err := parseImports(noteDesc(1, 0, importEntry("a", "b"))); err == nil {
		t.Error("imports without a binding array accepted")
	}
	if _, _, err := parseImports(noteDesc(1, 0x1000, importEntry("1a", "b"))); err == nil {
		t.Error("library name starting with a digit accepted")
	}
}

// FuzzParseNotes: the UaaF note descriptor parsers never panic and accept
// only valid export, library and function names.
func FuzzParseNotes(f *testing.F) {
	f.Add(noteDesc(1, 0x105000, exportEntry("sha256", 0x100040)))
	f.Add(noteDesc(1, 0x105000, importEntry("lib", "fn")))
	f.Add(noteDesc(0, 0))
	f.Add([]byte{1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, desc []byte) {
		if ex, err := parseExports(desc); err == nil {
			for _, e := range ex {
				if !ValidName(e.Name) {
					t.Fatalf("invalid export name %q accepted", e.Name)
				}
			}
		}
		if im, _, err := parseImports(desc); err == nil {
			for _, i := range im {
				if !ValidName(i.Lib) || !ValidName(i.Fn) {
					t.Fatalf("invalid import %v accepted", i)
				}
			}
		}
	})
}

// TestNotesCheck checks exports and the binding array against an image's
// segments and the guest memory size.
func TestNotesCheck(t *testing.T) {
	img := &hvt.Image{
		Segments: []hvt.Segment{
			{Vaddr: 0x100000, Filesz: 0x2000, Memsz: 0x2000, Flags: hvt.PF_R | hvt.PF_X},
			{Vaddr: 0x103000, Filesz: 0x1000, Memsz: 0x5000, Flags: hvt.PF_R | hvt.PF_W},
		},
		KernelEnd: 0x108000,
		End:       0x40001000, // a BSS-only PT_LOAD far above memory
	}
	const mem = 8 << 20
	tests := []struct {
		name  string
		notes Notes
		ok    bool
	}{
		{"export in text", Notes{Exports: []Export{{"f", 0x100010}}}, true},
		{"export in data", Notes{Exports: []Export{{"f", 0x103010}}}, false},
		{"export outside", Notes{Exports: []Export{{"f", 0x50}}}, false},
		{"bindings in data/bss", Notes{Imports: []Import{{"l", "f"}}, Bindings: 0x104000}, true},
		{"bindings in text", Notes{Imports: []Import{{"l", "f"}}, Bindings: 0x100000}, false},
		{"bindings past the BSS segment", Notes{Imports: []Import{{"l", "f"}}, Bindings: 0x108000}, true},
		{"bindings beyond memory", Notes{Imports: []Import{{"l", "f"}}, Bindings: 0x40000000}, false},
		{"bindings overflow", Notes{Imports: []Import{{"l", "f"}}, Bindings: ^uint64(0) - 3}, false},
	}
	for _, tt := range tests {
		err := tt.notes.Check(img, mem)
		if (err == nil) != tt.ok {
			t.Errorf("%s: Check = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
