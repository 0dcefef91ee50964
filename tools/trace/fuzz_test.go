package trace

import (
	"errors"
	"math"
	"strings"
	"testing"
)

// checkFloats fails t unless every value is finite and ≥ 0.
func checkFloats(t *testing.T, what string, vs ...float64) {
	t.Helper()
	for _, v := range vs {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("%s: value %v accepted", what, v)
		}
	}
}

// fuzzErr fails t unless err is a *FileError of a malformed or too large
// file, with no partial result.
func fuzzErr(t *testing.T, err error, n int) {
	t.Helper()
	var fe *FileError
	if n != 0 || !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v (%T) with %d rows read", err, err, n)
	}
}

// FuzzReadDurations: the durations reader never panics; it returns a
// FileError without rows, or rows of finite values >= 0.
func FuzzReadDurations(f *testing.F) {
	h := strings.Join(durationsHeader, ",") + "\n"
	f.Add([]byte(h + "o,a,f,12.5,3,1,30,1,2,5,10,20,29,30\n"))
	f.Add([]byte(h + "o,a,f,1,1,1,1,1,1,1,1,1,1,1\no,a,f,1,1,1,1,1,1,1,1,1,1,1\n"))
	f.Add([]byte(h + "o,a,f,NaN,1,1,1,1,1,1,1,1,1,1\n"))
	f.Add([]byte(h + "o,a,f,1e309,1,-0,1,1,1,1,1,1,1,1\n"))
	f.Add([]byte(h + `"o,""",a,,1,1,1,1,1,1,1,1,1,1,1` + "\n"))
	f.Add([]byte(h))
	f.Add([]byte("HashOwner\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ds, err := ReadDurations("d.csv", strings.NewReader(string(data)))
		if err != nil {
			fuzzErr(t, err, len(ds))
			return
		}
		for k, d := range ds {
			if k.Owner == "" || k.App == "" || k.Function == "" {
				t.Fatalf("empty key %+v", k)
			}
			checkFloats(t, "durations", d.Average, d.Minimum, d.Maximum, d.P0, d.P1, d.P25, d.P50, d.P75, d.P99, d.P100)
		}
	})
}

// FuzzReadMemory: as FuzzReadDurations, for the app memory file.
func FuzzReadMemory(f *testing.F) {
	h := strings.Join(memoryHeader, ",") + "\n"
	f.Add([]byte(h + "o,a,100,128,100,101,110,128,140,150,160,170\n"))
	f.Add([]byte(h + "o,a,1,1,1,1,1,1,1,1,1,1\no,a,1,1,1,1,1,1,1,1,1,1\n"))
	f.Add([]byte(h + "o,a,x,1,1,1,1,1,1,1,1,1\n"))
	f.Add([]byte(h + "o,a,1,-1,1,1,1,1,1,1,1,1\n"))
	f.Add([]byte(h))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ReadMemory("m.csv", strings.NewReader(string(data)))
		if err != nil {
			fuzzErr(t, err, len(ms))
			return
		}
		for k, m := range ms {
			if k.Owner == "" || k.App == "" {
				t.Fatalf("empty key %+v", k)
			}
			checkFloats(t, "memory", m.Average, m.P1, m.P5, m.P25, m.P50, m.P75, m.P95, m.P99, m.P100)
		}
	})
}
