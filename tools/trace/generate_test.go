package trace

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestGenerateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	opts := DefaultGenOptions()
	opts.Day = 3
	want, err := GenerateTrace(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := Generate(dir, opts); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatal("Load(Generate(opts)) differs from GenerateTrace(opts)")
	}
	if len(got.Functions) != 200 || len(got.Memory) != 66 || len(got.Durations) == 0 {
		t.Fatalf("%d functions, %d apps with memory, %d durations", len(got.Functions), len(got.Memory), len(got.Durations))
	}
	for _, f := range got.Functions {
		if (got.Durations[f.Key] != nil) != (f.Total > 0) {
			t.Fatalf("function %v: total %d, durations %v", f.Key, f.Total, got.Durations[f.Key])
		}
		if got.Memory[f.Key.AppKey()] == nil {
			t.Fatalf("function %v: no memory for its app", f.Key)
		}
		if got.Function(f.Key) != f {
			t.Fatal("Function lookup")
		}
		if len(f.Key.Function) != 64 {
			t.Fatalf("hash %q is not 64 hex digits", f.Key.Function)
		}
	}

	// Same options, same bytes; another seed, other bytes.
	again := t.TempDir()
	if err := Generate(again, opts); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{InvocationsFile(3), DurationsFile(3), MemoryFile(3)} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(again, name))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Fatalf("%s differs between two runs with one seed", name)
		}
	}
	opts.Seed = 2
	other, _ := GenerateTrace(opts)
	if reflect.DeepEqual(other.Functions, want.Functions) {
		t.Fatal("seeds 1 and 2 gave the same functions")
	}
}

func TestLoadOptionalFiles(t *testing.T) {
	dir := t.TempDir()
	opts := DefaultGenOptions()
	opts.NoDurations, opts.NoMemory = true, true
	if err := Generate(dir, opts); err != nil {
		t.Fatal(err)
	}
	tr, err := Load(dir, 1)
	if err != nil || tr.Durations != nil || tr.Memory != nil || len(tr.Functions) != 200 {
		t.Fatalf("Load without optional files: %v", err)
	}
	if _, err := Load(dir, 2); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing day: %v", err)
	}
	if _, err := Load(dir, 0); err == nil {
		t.Fatal("Load of day 0 succeeded")
	}
	// A malformed optional file fails the load, naming its path.
	bad := filepath.Join(dir, MemoryFile(1))
	if err := os.WriteFile(bad, []byte(strings.Join(memoryHeader, ",")+"\no,a,x,1,1,1,1,1,1,1,1,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir, 1)
	if want := bad + `:2: column "SampleCount": "x" is not a count`; err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
}

func TestGenerateSkew(t *testing.T) {
	tr, err := GenerateTrace(DefaultGenOptions())
	if err != nil {
		t.Fatal(err)
	}
	totals := make([]uint64, 0, len(tr.Functions))
	var sum uint64
	rare, timers := 0, 0
	for _, f := range tr.Functions {
		totals = append(totals, f.Total)
		sum += f.Total
		if f.Total < 24 { // less than once an hour on average
			rare++
		}
		if f.Trigger == "timer" {
			timers++
			checkPeriodic(t, f)
		}
	}
	slices.Sort(totals)
	slices.Reverse(totals)
	var top uint64
	for _, n := range totals[:len(totals)/10] {
		top += n
	}
	share := float64(top) / float64(sum)
	t.Logf("%d invocations; top 10%% of functions: %.1f%%; invoked < once an hour: %d of %d; busiest %d, quietest %d; %d timers",
		sum, 100*share, rare, len(totals), totals[0], totals[len(totals)-1], timers)
	if share < 0.8 {
		t.Errorf("top 10%% of functions take %.1f%% of invocations, want ≥ 80%%", 100*share)
	}
	if rare < len(totals)/4 {
		t.Errorf("%d of %d functions invoked less than once an hour, want ≥ a quarter", rare, len(totals))
	}
	if totals[0] < 1000*max(totals[len(totals)/2], 1) {
		t.Errorf("busiest function %d invocations, median %d: want three orders of magnitude", totals[0], totals[len(totals)/2])
	}
	if timers < 10 {
		t.Errorf("%d timer functions of 200 at a 15%% share", timers)
	}
}

// checkPeriodic checks that a timer function fires at a fixed period with
// a fixed count.
func checkPeriodic(t *testing.T, f *Function) {
	t.Helper()
	var ms []int
	var cs []uint32
	for m, c := range f.Minutes() {
		ms, cs = append(ms, m), append(cs, c)
	}
	for i := 2; i < len(ms); i++ {
		if ms[i]-ms[i-1] != ms[1]-ms[0] || cs[i] != cs[0] {
			t.Fatalf("timer function fires at %v with counts %v", ms, cs)
		}
	}
}

func TestGenerateActiveWindow(t *testing.T) {
	opts := DefaultGenOptions()
	opts.Active = Window{61, 120}
	tr, err := GenerateTrace(opts)
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, f := range tr.Functions {
		for m := range f.Minutes() {
			if m < 61 || m > 120 {
				t.Fatalf("invocations in minute %d outside 61-120", m)
			}
		}
		n += f.Total
	}
	if n == 0 {
		t.Fatal("no invocations in the active window")
	}
}

func TestGenOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		edit func(*GenOptions)
		want string
	}{
		{func(o *GenOptions) { o.Day = 0 }, "day 0 not in 1..99"},
		{func(o *GenOptions) { o.Functions = 0 }, "0 functions"},
		{func(o *GenOptions) { o.Apps = 300 }, "300 apps, want 1..200"},
		{func(o *GenOptions) { o.Owners = 0 }, "0 owners"},
		{func(o *GenOptions) { o.Active = Window{10, 5} }, "active minutes 10-5"},
		{func(o *GenOptions) { o.PeakPerMinute = 0 }, "peak 0 per minute"},
		{func(o *GenOptions) { o.TimerShare = 0.9 }, "timer share 0.9 + bursty share 0.15"},
	} {
		o := DefaultGenOptions()
		tc.edit(&o)
		if _, err := GenerateTrace(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want %q", err, tc.want)
		}
	}
}
