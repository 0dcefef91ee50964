package monitor

import (
	"slices"
	"testing"

	"github.com/uaaf/uaaf/hypervisor/hvt"
)

// TestClipRanges: the read-only ranges of one memslot's span, sorted and
// merged, whatever order and overlap they come in.
func TestClipRanges(t *testing.T) {
	r := func(a, b uint64) hvt.Range { return hvt.Range{Start: a, End: b} }
	tests := []struct {
		name       string
		in         []hvt.Range
		start, end uint64
		want       []hvt.Range
	}{
		{"none", nil, 0, 0x10000, nil},
		{"inside", []hvt.Range{r(0x1000, 0x2000)}, 0, 0x10000, []hvt.Range{r(0x1000, 0x2000)}},
		{"outside", []hvt.Range{r(0x20000, 0x21000)}, 0, 0x10000, nil},
		{"clipped at both ends", []hvt.Range{r(0, 0x3000)}, 0x1000, 0x2000, []hvt.Range{r(0x1000, 0x2000)}},
		{"touching the end only", []hvt.Range{r(0x2000, 0x3000)}, 0x1000, 0x2000, nil},
		{"sorted", []hvt.Range{r(0x5000, 0x6000), r(0x1000, 0x2000)}, 0, 0x10000, []hvt.Range{r(0x1000, 0x2000), r(0x5000, 0x6000)}},
		{"overlapping merged", []hvt.Range{r(0x1000, 0x3000), r(0x2000, 0x4000)}, 0, 0x10000, []hvt.Range{r(0x1000, 0x4000)}},
		{"touching merged", []hvt.Range{r(0x3000, 0x4000), r(0x1000, 0x3000)}, 0, 0x10000, []hvt.Range{r(0x1000, 0x4000)}},
		{"contained merged", []hvt.Range{r(0x1000, 0x8000), r(0x2000, 0x3000)}, 0, 0x10000, []hvt.Range{r(0x1000, 0x8000)}},
		{"empty dropped", []hvt.Range{r(0x2000, 0x2000)}, 0, 0x10000, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := slices.Clone(tt.in)
			if got := clipRanges(tt.in, tt.start, tt.end); !slices.Equal(got, tt.want) {
				t.Errorf("clipRanges(%v, %#x, %#x) = %v, want %v", tt.in, tt.start, tt.end, got, tt.want)
			}
			if !slices.Equal(in, tt.in) {
				t.Errorf("clipRanges changed its input: %v, was %v", tt.in, in)
			}
		})
	}
}
