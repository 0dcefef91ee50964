package trace

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Minutes is the number of per-minute count columns of an invocations file.
const Minutes = 1440

// Size limits of the readers: a file with more rows or bytes is refused
// with ErrTooLarge. A day of the public trace has tens of thousands of
// functions and invocation files of a few hundred MB.
const (
	MaxRows  = 1 << 20
	MaxBytes = 4 << 30
)

// maxRows and maxBytes are the limits in force (tests lower them).
var (
	maxRows  = MaxRows
	maxBytes = int64(MaxBytes)
)

// FuncKey identifies a function: the trace's hashed owner, app and
// function names.
type FuncKey struct{ Owner, App, Function string }

// AppKey identifies an app: the trace's hashed owner and app names.
type AppKey struct{ Owner, App string }

// AppKey returns the key of k's app.
func (k FuncKey) AppKey() AppKey { return AppKey{k.Owner, k.App} }

// Function is one row of an invocations file.
type Function struct {
	Key     FuncKey
	Trigger string // http, timer, event, queue, storage, orchestration, others
	Total   uint64 // invocations over the whole day
	Rank    int    // 1 = most invocations in its file; ties in file order
	minutes []uint16
	counts  []uint32 // counts[i] invocations in minute minutes[i]; only non-zero
}

// NewFunction returns a function whose count in minute m is counts[m-1]
// (at most Minutes counts; later minutes are 0), ranked 0 until NewTrace
// ranks it. For hand-made traces in tests.
func NewFunction(key FuncKey, trigger string, counts []uint32) (*Function, error) {
	if len(counts) > Minutes {
		return nil, fmt.Errorf("%w: %d minute counts, at most %d", ErrTooLarge, len(counts), Minutes)
	}
	f := &Function{Key: key, Trigger: trigger}
	for i, c := range counts {
		if c > 0 {
			f.set(i+1, c)
		}
	}
	return f, nil
}

// Count returns the invocations in minute m (1..Minutes).
func (f *Function) Count(m int) uint32 {
	i, ok := slices.BinarySearch(f.minutes, uint16(m))
	if !ok || m < 1 || m > Minutes {
		return 0
	}
	return f.counts[i]
}

// Minutes yields (minute, count) for every minute with invocations, in
// minute order.
func (f *Function) Minutes() iter.Seq2[int, uint32] {
	return func(yield func(int, uint32) bool) {
		for i, m := range f.minutes {
			if !yield(int(m), f.counts[i]) {
				return
			}
		}
	}
}

// set appends minute m's count c (m ascending, c > 0).
func (f *Function) set(m int, c uint32) {
	f.minutes = append(f.minutes, uint16(m))
	f.counts = append(f.counts, c)
	f.Total += uint64(c)
}

// Durations is one row of a durations file: a function's run times in
// milliseconds, cold starts excluded.
type Durations struct {
	Average          float64
	Count            uint64
	Minimum, Maximum float64
	P0, P1, P25, P50 float64 // percentile_Average_0 … _50
	P75, P99, P100   float64 // percentile_Average_75 … _100
}

// AppMemory is one row of a memory file: an app's allocated memory in MB.
type AppMemory struct {
	SampleCount         uint64
	Average             float64 // AverageAllocatedMb
	P1, P5, P25, P50    float64 // AverageAllocatedMb_pct1 … _pct50
	P75, P95, P99, P100 float64 // AverageAllocatedMb_pct75 … _pct100
}

var (
	invocationsHeader = func() []string {
		h := []string{"HashOwner", "HashApp", "HashFunction", "Trigger"}
		for m := 1; m <= Minutes; m++ {
			h = append(h, strconv.Itoa(m))
		}
		return h
	}()
	durationsHeader = []string{"HashOwner", "HashApp", "HashFunction", "Average", "Count", "Minimum", "Maximum",
		"percentile_Average_0", "percentile_Average_1", "percentile_Average_25", "percentile_Average_50",
		"percentile_Average_75", "percentile_Average_99", "percentile_Average_100"}
	memoryHeader = []string{"HashOwner", "HashApp", "SampleCount", "AverageAllocatedMb",
		"AverageAllocatedMb_pct1", "AverageAllocatedMb_pct5", "AverageAllocatedMb_pct25", "AverageAllocatedMb_pct50",
		"AverageAllocatedMb_pct75", "AverageAllocatedMb_pct95", "AverageAllocatedMb_pct99", "AverageAllocatedMb_pct100"}
)

// table reads one CSV file with a fixed header and calls row for each
// record. Errors are *FileError. row's record is valid only during the call.
type table struct {
	name   string
	header []string
	r      *csv.Reader
	line   int // line of the current record
}

func (t *table) errorf(column string, err error, format string, args ...any) error {
	return &FileError{File: t.name, Line: t.line, Column: column, Msg: fmt.Sprintf(format, args...), Err: err}
}

func readTable(name string, r io.Reader, header []string, row func(t *table, rec []string) error) error {
	lr := &limitReader{r: r, n: maxBytes}
	t := &table{name: name, header: header, r: csv.NewReader(lr)}
	t.r.FieldsPerRecord = -1
	t.r.ReuseRecord = true
	rows := 0
	for {
		rec, err := t.r.Read()
		if err == io.EOF {
			if rows == 0 {
				return &FileError{File: name, Msg: "empty file (no header)", Err: ErrMalformed}
			}
			return nil
		}
		if err != nil {
			if errors.Is(err, errTooBig) {
				return &FileError{File: name, Msg: fmt.Sprintf("larger than %d bytes", maxBytes), Err: ErrTooLarge}
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return &FileError{File: name, Line: pe.Line, Msg: pe.Err.Error(), Err: ErrMalformed}
			}
			return fmt.Errorf("%s: %w", name, err) // an I/O error of r
		}
		t.line, _ = t.r.FieldPos(0)
		if rows == 0 {
			if err := t.checkHeader(rec); err != nil {
				return err
			}
			rows++
			continue
		}
		if rows > maxRows {
			return t.errorf("", ErrTooLarge, "more than %d rows", maxRows)
		}
		rows++
		if len(rec) != len(header) {
			return t.errorf("", ErrMalformed, "%d columns, want %d", len(rec), len(header))
		}
		if err := row(t, rec); err != nil {
			return err
		}
	}
}

func (t *table) checkHeader(rec []string) error {
	if len(rec) > 0 {
		rec[0] = strings.TrimPrefix(rec[0], "\ufeff") // a UTF-8 byte order mark
	}
	if len(rec) != len(t.header) {
		return t.errorf("", ErrMalformed, "header has %d columns, want %d (%s,…,%s)",
			len(rec), len(t.header), t.header[0], t.header[len(t.header)-1])
	}
	for i, h := range t.header {
		if rec[i] != h {
			return t.errorf("", ErrMalformed, "header column %d is %q, want %q", i+1, rec[i], h)
		}
	}
	return nil
}

// text returns column i, copied out of the reader's buffer; it must not be
// empty.
func (t *table) text(rec []string, i int) (string, error) {
	if rec[i] == "" {
		return "", t.errorf(t.header[i], ErrMalformed, "empty")
	}
	return strings.Clone(rec[i]), nil
}

// uint parses column i as an unsigned integer of at most bits bits.
func (t *table) uint(rec []string, i, bits int, what string) (uint64, error) {
	v, err := strconv.ParseUint(rec[i], 10, bits)
	if err != nil {
		return 0, t.errorf(t.header[i], ErrMalformed, "%q is not a %s", rec[i], what)
	}
	return v, nil
}

// float parses column i as a finite number ≥ 0.
func (t *table) float(rec []string, i int) (float64, error) {
	v, err := strconv.ParseFloat(rec[i], 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, t.errorf(t.header[i], ErrMalformed, "%q is not a number ≥ 0", rec[i])
	}
	return v, nil
}

// floats parses columns from, from+1, … into the pointed-to values.
func (t *table) floats(rec []string, from int, dst ...*float64) error {
	for k, p := range dst {
		v, err := t.float(rec, from+k)
		if err != nil {
			return err
		}
		*p = v
	}
	return nil
}

// keys parses the first n (2 or 3) columns as hashed names.
func (t *table) keys(rec []string, n int) (FuncKey, error) {
	var s [3]string
	for i := range n {
		v, err := t.text(rec, i)
		if err != nil {
			return FuncKey{}, err
		}
		s[i] = v
	}
	return FuncKey{s[0], s[1], s[2]}, nil
}

// rowKey is a key that must not repeat in a file: FuncKey or AppKey.
type rowKey interface {
	comparable
	describe() string
}

func (k FuncKey) describe() string {
	return fmt.Sprintf("function (HashOwner %q, HashApp %q, HashFunction %q)", k.Owner, k.App, k.Function)
}

func (k AppKey) describe() string {
	return fmt.Sprintf("app (HashOwner %q, HashApp %q)", k.Owner, k.App)
}

// lines maps each key read so far to the line of its row.
type lines[K rowKey] map[K]int

// add records that t's current row has key k; a key seen before is
// malformed.
func (l lines[K]) add(t *table, k K) error {
	if first, dup := l[k]; dup {
		return t.errorf("", ErrMalformed, "duplicate %s, first on line %d", k.describe(), first)
	}
	l[k] = t.line
	return nil
}

// ReadInvocations reads an invocations_per_function_md file. name is used
// in error messages. Any malformed row fails the whole file (*FileError
// wrapping ErrMalformed, or ErrTooLarge past MaxRows/MaxBytes); a function
// listed twice is malformed. Functions come in file order, ranked by Total.
func ReadInvocations(name string, r io.Reader) ([]*Function, error) {
	var fs []*Function
	seen := lines[FuncKey]{}
	err := readTable(name, r, invocationsHeader, func(t *table, rec []string) error {
		k, err := t.keys(rec, 3)
		if err != nil {
			return err
		}
		if err := seen.add(t, k); err != nil {
			return err
		}
		f := &Function{Key: k}
		if f.Trigger, err = t.text(rec, 3); err != nil {
			return err
		}
		for m := 1; m <= Minutes; m++ {
			c, err := t.uint(rec, 3+m, 32, "count")
			if err != nil {
				return err
			}
			if c > 0 {
				f.set(m, uint32(c))
			}
		}
		f.minutes, f.counts = slices.Clip(f.minutes), slices.Clip(f.counts)
		fs = append(fs, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rank(fs)
	return fs, nil
}

// rank sets Rank: 1 for the most invoked, ties in slice order.
func rank(fs []*Function) {
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return fs[order[a]].Total > fs[order[b]].Total })
	for r, i := range order {
		fs[i].Rank = r + 1
	}
}

// ReadDurations reads a function_durations_percentiles file, keyed by
// function; errors as ReadInvocations.
func ReadDurations(name string, r io.Reader) (map[FuncKey]*Durations, error) {
	ds := map[FuncKey]*Durations{}
	seen := lines[FuncKey]{}
	err := readTable(name, r, durationsHeader, func(t *table, rec []string) error {
		k, err := t.keys(rec, 3)
		if err != nil {
			return err
		}
		if err := seen.add(t, k); err != nil {
			return err
		}
		d := &Durations{}
		if d.Count, err = t.uint(rec, 4, 64, "count"); err != nil {
			return err
		}
		if err := t.floats(rec, 3, &d.Average); err != nil {
			return err
		}
		if err := t.floats(rec, 5, &d.Minimum, &d.Maximum, &d.P0, &d.P1, &d.P25, &d.P50, &d.P75, &d.P99, &d.P100); err != nil {
			return err
		}
		ds[k] = d
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// ReadMemory reads an app_memory_percentiles file, keyed by app; errors as
// ReadInvocations.
func ReadMemory(name string, r io.Reader) (map[AppKey]*AppMemory, error) {
	ms := map[AppKey]*AppMemory{}
	seen := lines[AppKey]{}
	err := readTable(name, r, memoryHeader, func(t *table, rec []string) error {
		fk, err := t.keys(rec, 2)
		if err != nil {
			return err
		}
		k := fk.AppKey()
		if err := seen.add(t, k); err != nil {
			return err
		}
		m := &AppMemory{}
		if m.SampleCount, err = t.uint(rec, 2, 64, "count"); err != nil {
			return err
		}
		if err := t.floats(rec, 3, &m.Average, &m.P1, &m.P5, &m.P25, &m.P50, &m.P75, &m.P95, &m.P99, &m.P100); err != nil {
			return err
		}
		ms[k] = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ms, nil
}

var errTooBig = errors.New("input exceeds its size limit")

// limitReader fails with errTooBig once more than n bytes were read.
type limitReader struct {
	r io.Reader
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, errTooBig
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	if l.n < 0 {
		return k, errTooBig
	}
	return k, err
}
