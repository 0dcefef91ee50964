package trace

import (
	"bufio"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// InvocationsFile, DurationsFile and MemoryFile return the public trace's
// file names for a day (1 → "….d01.csv").
func InvocationsFile(day int) string {
	return fmt.Sprintf("invocations_per_function_md.anon.d%02d.csv", day)
}

// DurationsFile returns the name of a day's function_durations_percentiles file.
func DurationsFile(day int) string {
	return fmt.Sprintf("function_durations_percentiles.anon.d%02d.csv", day)
}

// MemoryFile returns the name of a day's app_memory_percentiles file.
func MemoryFile(day int) string { return fmt.Sprintf("app_memory_percentiles.anon.d%02d.csv", day) }

// Trace is one day of the trace. Make one with Load or NewTrace.
type Trace struct {
	Day       int
	Functions []*Function            // file order
	Durations map[FuncKey]*Durations // nil if the day has no durations file
	Memory    map[AppKey]*AppMemory  // nil if the day has no memory file
	byKey     map[FuncKey]*Function
}

// NewTrace returns a Trace over funcs (ranked anew) with optional durations and
// memory; Write stores it. It fails with ErrMalformed on a duplicate key.
func NewTrace(day int, funcs []*Function, durations map[FuncKey]*Durations, memory map[AppKey]*AppMemory) (*Trace, error) {
	t := &Trace{Day: day, Functions: funcs, Durations: durations, Memory: memory, byKey: make(map[FuncKey]*Function, len(funcs))}
	for _, f := range funcs {
		if t.byKey[f.Key] != nil {
			return nil, fmt.Errorf("%w: duplicate function %v", ErrMalformed, f.Key)
		}
		t.byKey[f.Key] = f
	}
	rank(funcs)
	return t, nil
}

// Function returns the function with key k, or nil.
func (t *Trace) Function(k FuncKey) *Function { return t.byKey[k] }

// Load reads day's files from dir: the invocations file (required), the
// durations and memory files (each optional: absent means nil maps). Any
// malformed file fails the load; errors name the file by its path.
func Load(dir string, day int) (*Trace, error) {
	if day < 1 || day > 99 {
		return nil, fmt.Errorf("trace: day %d not in 1..99", day)
	}
	var (
		fns []*Function
		ds  map[FuncKey]*Durations
		ms  map[AppKey]*AppMemory
		err error
	)
	if err := readFile(filepath.Join(dir, InvocationsFile(day)), false, func(name string, f *os.File) error {
		fns, err = ReadInvocations(name, bufio.NewReaderSize(f, 1<<16))
		return err
	}); err != nil {
		return nil, err
	}
	if err := readFile(filepath.Join(dir, DurationsFile(day)), true, func(name string, f *os.File) error {
		ds, err = ReadDurations(name, bufio.NewReader(f))
		return err
	}); err != nil {
		return nil, err
	}
	if err := readFile(filepath.Join(dir, MemoryFile(day)), true, func(name string, f *os.File) error {
		ms, err = ReadMemory(name, bufio.NewReader(f))
		return err
	}); err != nil {
		return nil, err
	}
	return NewTrace(day, fns, ds, ms)
}

func readFile(path string, optional bool, read func(string, *os.File) error) error {
	f, err := os.Open(path)
	if optional && errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	defer f.Close()
	return read(path, f)
}

// Write stores t in dir as the public trace's files for t.Day: the
// invocations file, and the durations and memory files when t has them.
// Durations rows follow t.Functions' order (then other keys, sorted); memory
// rows are sorted by key.
func Write(dir string, t *Trace) error {
	if err := writeCSV(filepath.Join(dir, InvocationsFile(t.Day)), invocationsHeader, func(row func([]string) error) error {
		rec := make([]string, len(invocationsHeader))
		for _, f := range t.Functions {
			rec[0], rec[1], rec[2], rec[3] = f.Key.Owner, f.Key.App, f.Key.Function, f.Trigger
			for m := 1; m <= Minutes; m++ {
				rec[3+m] = "0"
			}
			for m, c := range f.Minutes() {
				rec[3+m] = strconv.FormatUint(uint64(c), 10)
			}
			if err := row(rec); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	if t.Durations != nil {
		var keys []FuncKey
		listed := map[FuncKey]bool{}
		for _, f := range t.Functions {
			if t.Durations[f.Key] != nil && !listed[f.Key] {
				keys = append(keys, f.Key)
				listed[f.Key] = true
			}
		}
		var rest []FuncKey
		for k := range t.Durations {
			if !listed[k] {
				rest = append(rest, k)
			}
		}
		slices.SortFunc(rest, cmpFuncKey)
		keys = append(keys, rest...)
		if err := writeCSV(filepath.Join(dir, DurationsFile(t.Day)), durationsHeader, func(row func([]string) error) error {
			for _, k := range keys {
				d := t.Durations[k]
				rec := []string{k.Owner, k.App, k.Function, ftoa(d.Average), strconv.FormatUint(d.Count, 10)}
				for _, v := range []float64{d.Minimum, d.Maximum, d.P0, d.P1, d.P25, d.P50, d.P75, d.P99, d.P100} {
					rec = append(rec, ftoa(v))
				}
				if err := row(rec); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if t.Memory != nil {
		keys := make([]AppKey, 0, len(t.Memory))
		for k := range t.Memory {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, cmpAppKey)
		if err := writeCSV(filepath.Join(dir, MemoryFile(t.Day)), memoryHeader, func(row func([]string) error) error {
			for _, k := range keys {
				m := t.Memory[k]
				rec := []string{k.Owner, k.App, strconv.FormatUint(m.SampleCount, 10)}
				for _, v := range []float64{m.Average, m.P1, m.P5, m.P25, m.P50, m.P75, m.P95, m.P99, m.P100} {
					rec = append(rec, ftoa(v))
				}
				if err := row(rec); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// cmpFuncKey orders keys by owner, app, then function.
func cmpFuncKey(a, b FuncKey) int {
	return cmp.Or(cmpAppKey(a.AppKey(), b.AppKey()), strings.Compare(a.Function, b.Function))
}

// cmpAppKey orders keys by owner, then app.
func cmpAppKey(a, b AppKey) int {
	return cmp.Or(strings.Compare(a.Owner, b.Owner), strings.Compare(a.App, b.App))
}

// ftoa formats v in the shortest form that parses back to v.
func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// writeCSV writes header and the rows rows produces to path.
func writeCSV(path string, header []string, rows func(row func([]string) error) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("trace: %w", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("trace: %w", cerr)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	w := csv.NewWriter(bw)
	if err := w.Write(header); err != nil {
		return fmt.Errorf("trace: %s: %w", path, err)
	}
	if err := rows(w.Write); err != nil {
		return fmt.Errorf("trace: %s: %w", path, err)
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("trace: %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: %s: %w", path, err)
	}
	return nil
}
