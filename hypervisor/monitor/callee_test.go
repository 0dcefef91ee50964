package monitor

import "testing"

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
