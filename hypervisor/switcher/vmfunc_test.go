package switcher

import (
	"testing"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vmfunc"
)

// TestPlanViews checks the EPT ranges the vmfunc backend asks the module
// for: the session view is its RAM; a library view is its own memory at the
// low GPAs it was linked for, read-only where its text is, except the call
// area, which is the session's.
func TestPlanViews(t *testing.T) {
	const lmem = 4 << 20
	session, views, err := PlanViews(8<<20, []LibraryView{
		{Index: 1, MemSize: lmem, ReadOnly: []hvt.Range{{Start: 0x100000, End: 0x103000}, {Start: uaafabi.TrampGPA, End: uaafabi.TrampGPA + 0x1000}}},
		{Index: 511, MemSize: lmem},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(session) != 1 || session[0] != vmfunc.IdentityRange(0, 8<<20, vmfunc.PermRWX) {
		t.Errorf("session view %+v", session)
	}
	// Every byte of [0, lmem) is covered exactly once, in GPA order.
	for _, k := range []int{1, 511} {
		at := uint64(0)
		for _, r := range views[k] {
			if r.GPA != at {
				t.Fatalf("view %d: gap or overlap at %#x: %+v", k, at, views[k])
			}
			at += r.Size
			inCall := r.GPA >= uaafabi.CallGPA && r.GPA < uaafabi.WindowEnd
			switch {
			case inCall:
				if r.SrcGPA != r.GPA || r.Perms != vmfunc.PermR|vmfunc.PermW {
					t.Errorf("view %d call area %+v: want the session's pages, RW", k, r)
				}
			default:
				if r.SrcGPA != LibraryBase(k)+r.GPA {
					t.Errorf("view %d range %+v: source not in the library's memslot", k, r)
				}
			}
		}
		if at != lmem {
			t.Errorf("view %d covers %#x bytes, want %#x", k, at, lmem)
		}
	}
	perms := func(k int, gpa uint64) vmfunc.Perm {
		for _, r := range views[k] {
			if gpa >= r.GPA && gpa < r.GPA+r.Size {
				return r.Perms
			}
		}
		return 0
	}
	if p := perms(1, 0x101000); p != vmfunc.PermR|vmfunc.PermX {
		t.Errorf("library text perms %v, want R+X", p)
	}
	if p := perms(1, uaafabi.TrampGPA); p != vmfunc.PermR|vmfunc.PermX {
		t.Errorf("trampoline perms %v, want R+X", p)
	}
	if p := perms(1, 0x200000); p != vmfunc.PermRWX {
		t.Errorf("library data perms %v", p)
	}
	if LibraryBase(511)+lmem > vmfunc.GPALimit {
		t.Error("library memslots beyond the 48-bit guest-physical limit")
	}

	bad := [][]LibraryView{
		{{Index: 0, MemSize: lmem}},
		{{Index: 512, MemSize: lmem}},
		{{Index: 1, MemSize: lmem}, {Index: 1, MemSize: lmem}},
		{{Index: 1, MemSize: 0x8000}},
	}
	for _, libs := range bad {
		if _, _, err := PlanViews(8<<20, libs); err == nil {
			t.Errorf("PlanViews(%+v) accepted", libs)
		}
	}
}
