package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

// checkReadErr: a reader's error is a *FileError wrapping ErrMalformed or
// ErrTooLarge, on one line, and no half-read result comes with it.
func checkReadErr(t *testing.T, err error, gotResult bool) {
	t.Helper()
	var fe *FileError
	if gotResult || !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v (%T), result returned too: %v", err, err, gotResult)
	}
	if strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q is not one line", err)
	}
}

// finite reports whether every value is a finite number >= 0.
func finite(vs ...float64) bool {
	for _, v := range vs {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// FuzzReadDurations: the durations reader never panics; it returns a
// FileError or rows with non-empty, unique keys and finite values >= 0.
func FuzzReadDurations(f *testing.F) {
	h := strings.Join(durationsHeader, ",") + "\n"
	f.Add([]byte(h + "o,a,f,12.5,3,1,40,1,2,5,10,20,39.5,40\n"))
	f.Add([]byte(h + "o,a,f,1,1,1,1,1,1,1,1,1,1,1\no,a,f,1,1,1,1,1,1,1,1,1,1,1\n"))
	f.Add([]byte(h + "o,a,f,NaN,3,1,40,1,2,5,10,20,39.5,1e400\n"))
	f.Add([]byte("\ufeff" + h + `"o,""x",a,f,1,18446744073709551615,0,0,0,0,0,0,0,0,0` + "\n"))
	f.Add([]byte(h + "o,a,f,1,1\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := ReadDurations(durName, bytes.NewReader(data))
		if err != nil {
			checkReadErr(t, err, ds != nil)
			return
		}
		for k, d := range ds {
			if k.Owner == "" || k.App == "" || k.Function == "" {
				t.Fatalf("empty key %+v", k)
			}
			if !finite(d.Average, d.Minimum, d.Maximum, d.P0, d.P1, d.P25, d.P50, d.P75, d.P99, d.P100) {
				t.Fatalf("%+v: a value that is not a finite number >= 0", d)
			}
		}
	})
}

// FuzzReadMemory: as FuzzReadDurations, for the app memory file.
func FuzzReadMemory(f *testing.F) {
	h := strings.Join(memoryHeader, ",") + "\n"
	f.Add([]byte(h + "o,a,100,150.5,100,110,120,130,160,200,250,300\n"))
	f.Add([]byte(h + "o,a,1,2,3,4,5,6,7,8,9,10\no,a,1,2,3,4,5,6,7,8,9,10\n"))
	f.Add([]byte(h + "o,a,-1,2,3,4,5,6,7,8,9,+Inf\n"))
	f.Add([]byte(strings.Replace(h, "pct95", "pct90", 1)))
	f.Add([]byte(h + "o,\"a\nb\",1,2,3,4,5,6,7,8,9,10\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ReadMemory(memName, bytes.NewReader(data))
		if err != nil {
			checkReadErr(t, err, ms != nil)
			return
		}
		for k, m := range ms {
			if k.Owner == "" || k.App == "" {
				t.Fatalf("empty key %+v", k)
			}
			if !finite(m.Average, m.P1, m.P5, m.P25, m.P50, m.P75, m.P95, m.P99, m.P100) {
				t.Fatalf("%+v: a value that is not a finite number >= 0", m)
			}
		}
	})
}

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
