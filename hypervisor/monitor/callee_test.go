package monitor

import (
	"encoding/binary"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

// TestOutsideCallArea: a library's hypercall memory must lie outside the
// call area, and the message says which rule a pointer broke.
func TestOutsideCallArea(t *testing.T) {
	m := &Monitor{callee: &callee{name: "lib"}}
	tests := []struct {
		gpa, size uint64
		want      string
	}{
		{0x100000, 16, ""},
		{0xB000, 0x1000, ""}, // ends where the call area starts
		{0x10000, 8, ""},     // starts where it ends
		{0xBFF8, 16, "library lib: PUTS: pointer 0xbff8+16 into the call area"},
		{0xC040, 4, "library lib: PUTS: pointer 0xc040+4 into the call area"},
		{0xfffffffffffff000, 8192, "library lib: PUTS: pointer 0xfffffffffffff000+8192 wraps around the address space"},
	}
	for _, tt := range tests {
		err := m.outsideCallArea("PUTS", tt.gpa, tt.size)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.want {
			t.Errorf("outsideCallArea(%#x, %d) = %q, want %q", tt.gpa, tt.size, got, tt.want)
		}
	}
}

// TestCalleeHalt: a library's HALT is a fault naming its status, and its
// argument struct may not lie in the call area (FuzzCalleeHypercall's
// first find: the monitor read it from the instance's own pages there).
func TestCalleeHalt(t *testing.T) {
	ram := make([]byte, 0x20000)
	binary.LittleEndian.PutUint64(ram[0x1000+8:], 255)
	binary.LittleEndian.PutUint64(ram[0x1100+8:], 3)
	m := &Monitor{callee: &callee{name: "lib"}, ram: ram, mem: hvt.Memory(ram)}
	tests := []struct {
		gpa  uint64
		want string
	}{
		{0x1000, "library lib: aborted"},
		{0x1100, "library lib: exited with status 3"},
		{uaafabi.CallGPA + 8, "library lib: HALT: pointer 0xc008+16 into the call area"},
		{uaafabi.CallGPA - 8, "library lib: HALT: pointer 0xbff8+16 into the call area"},
	}
	for _, tt := range tests {
		if err := m.hcCalleeHalt(tt.gpa); err == nil || err.Error() != tt.want {
			t.Errorf("HALT(%#x) = %v, want %q", tt.gpa, err, tt.want)
		}
	}
}
