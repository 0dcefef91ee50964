package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
)

// FuzzParseMapping: ParseMapping never panics; what it refuses wraps
// ErrMalformed; what it accepts is one JSON value, with valid image and
// library names, and answers Image and Libraries for any function without
// panicking.
func FuzzParseMapping(f *testing.F) {
	f.Add([]byte(`{"image":"demo","rank_images":{"1-10":"hot","11":"warm"},"function_images":{"h1":"x"},"app_libraries":{"a1":["sha256","crc32"]},"libraries":["base64"]}`))
	f.Add([]byte(`{"rank_images":{"1-10":"a","5-20":"b"}}`))
	f.Add([]byte(`{"libraries":["x","x"]}`))
	f.Add([]byte(`{"image":".."}`))
	f.Add([]byte(`{}}`))
	f.Add([]byte(`{"rank_images":{"0-99999999999":"a"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseMapping("m.json", bytes.NewReader(data))
		if err != nil {
			if m != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v (%T) with a mapping", err, err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted %q, which is not one JSON value", data)
		}
		if !validName(m.image) {
			t.Fatalf("image %q", m.image)
		}
		for _, rank := range []int{1, 2, 10, MaxRows} {
			fn := &Function{Key: FuncKey{"o", "a1", "h1"}, Rank: rank}
			if im := m.Image(fn); !validName(im) {
				t.Fatalf("Image(rank %d) = %q", rank, im)
			}
			for _, l := range m.Libraries(AppKey{"o", "a1"}) {
				if !validName(l) {
					t.Fatalf("library %q", l)
				}
			}
		}
	})
}
