package trace

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const invName = "invocations_per_function_md.anon.d01.csv"

// invRow renders one invocations row; counts maps minute → field text.
func invRow(owner, app, fn, trigger string, counts map[int]string) string {
	f := []string{owner, app, fn, trigger}
	for m := 1; m <= Minutes; m++ {
		c, ok := counts[m]
		if !ok {
			c = "0"
		}
		f = append(f, c)
	}
	return strings.Join(f, ",")
}

func invFile(rows ...string) string {
	return strings.Join(append([]string{strings.Join(invocationsHeader, ",")}, rows...), "\n") + "\n"
}

func TestReadInvocations(t *testing.T) {
	in := invFile(
		invRow("o1", "a1", "f1", "http", map[int]string{1: "3", 37: "4294967295"}),
		invRow("o1", "a1", "f2", "timer", map[int]string{1440: "7"}),
		invRow("o2", "a2", "f3", "queue", nil),
	)
	fs, err := ReadInvocations(invName, strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 3 {
		t.Fatalf("%d functions", len(fs))
	}
	f := fs[0]
	if f.Key != (FuncKey{"o1", "a1", "f1"}) || f.Trigger != "http" || f.Total != 3+4294967295 || f.Rank != 1 {
		t.Fatalf("first function %+v", f)
	}
	if f.Count(1) != 3 || f.Count(37) != 4294967295 || f.Count(2) != 0 || f.Count(0) != 0 || f.Count(1441) != 0 {
		t.Fatal("Count")
	}
	var got []int
	for m, c := range fs[1].Minutes() {
		got = append(got, m, int(c))
	}
	if !slices.Equal(got, []int{1440, 7}) || fs[1].Rank != 2 || fs[2].Rank != 3 || fs[2].Total != 0 {
		t.Fatalf("second function minutes %v rank %d", got, fs[1].Rank)
	}

	// A byte order mark, CRLF line ends and a header-only file are fine.
	crlf := "\ufeff" + strings.ReplaceAll(invFile(invRow("o", "a", "f", "http", map[int]string{2: "1"})), "\n", "\r\n")
	if fs, err := ReadInvocations(invName, strings.NewReader(crlf)); err != nil || fs[0].Count(2) != 1 {
		t.Fatalf("BOM+CRLF: %v", err)
	}
	if fs, err := ReadInvocations(invName, strings.NewReader(invFile())); err != nil || len(fs) != 0 {
		t.Fatalf("header only: %v, %d", err, len(fs))
	}
}

func TestMalformedInvocations(t *testing.T) {
	good := invRow("o1", "a1", "f1", "http", map[int]string{5: "2"})
	hdr := slices.Clone(invocationsHeader)
	hdr[5] = "two"
	long := append(slices.Clone(invocationsHeader), "1441")
	for _, tc := range []struct {
		name, in, want string
		is             error
	}{
		{"bad count", invFile(good, invRow("o1", "a1", "f2", "http", map[int]string{37: "x"})),
			invName + `:3: column "37": "x" is not a count`, ErrMalformed},
		{"negative count", invFile(invRow("o", "a", "f", "http", map[int]string{1: "-1"})),
			invName + `:2: column "1": "-1" is not a count`, ErrMalformed},
		{"count over 32 bits", invFile(invRow("o", "a", "f", "http", map[int]string{1440: "4294967296"})),
			invName + `:2: column "1440": "4294967296" is not a count`, ErrMalformed},
		{"fractional count", invFile(invRow("o", "a", "f", "http", map[int]string{9: "1.5"})),
			invName + `:2: column "9": "1.5" is not a count`, ErrMalformed},
		{"short row", invFile(good, strings.TrimSuffix(good, ",0")),
			invName + `:3: 1443 columns, want 1444`, ErrMalformed},
		{"long row", invFile(good + ",0"),
			invName + `:2: 1445 columns, want 1444`, ErrMalformed},
		{"bad header", strings.Join(hdr, ",") + "\n" + good + "\n",
			invName + `:1: header column 6 is "two", want "2"`, ErrMalformed},
		{"1441 minute columns", strings.Join(long, ",") + "\n",
			invName + `:1: header has 1445 columns, want 1444 (HashOwner,…,1440)`, ErrMalformed},
		{"durations header", strings.Join(durationsHeader, ",") + "\n",
			invName + `:1: header has 14 columns, want 1444 (HashOwner,…,1440)`, ErrMalformed},
		{"empty file", "", invName + `: empty file (no header)`, ErrMalformed},
		{"blank lines only", "\n\n", invName + `: empty file (no header)`, ErrMalformed},
		{"duplicate", invFile(good, invRow("o2", "a1", "f1", "http", nil), good),
			invName + `:4: duplicate function (HashOwner "o1", HashApp "a1", HashFunction "f1"), first on line 2`, ErrMalformed},
		{"empty app", invFile(invRow("o", "", "f", "http", nil)),
			invName + `:2: column "HashApp": empty`, ErrMalformed},
		{"empty trigger", invFile(invRow("o", "a", "f", "", nil)),
			invName + `:2: column "Trigger": empty`, ErrMalformed},
		{"bare quote", invFile(good, invRow(`o"1`, "a", "f", "http", nil)),
			invName + `:3: bare " in non-quoted-field`, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := ReadInvocations(invName, strings.NewReader(tc.in))
			if fs != nil {
				t.Errorf("returned %d functions with the error", len(fs))
			}
			if err == nil || err.Error() != tc.want || !errors.Is(err, tc.is) {
				t.Fatalf("error %v\nwant  %s", err, tc.want)
			}
		})
	}
}

func TestReadLimits(t *testing.T) {
	defer func(r int, b int64) { maxRows, maxBytes = r, b }(maxRows, maxBytes)
	row := func(i int) string { return invRow("o", "a", "f"+strconv.Itoa(i), "http", nil) }
	maxRows = 2
	if _, err := ReadInvocations(invName, strings.NewReader(invFile(row(1), row(2)))); err != nil {
		t.Fatalf("2 rows under a limit of 2: %v", err)
	}
	_, err := ReadInvocations(invName, strings.NewReader(invFile(row(1), row(2), row(3))))
	if want := invName + ":4: more than 2 rows"; err == nil || err.Error() != want || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want %s", err, want)
	}
	maxRows = MaxRows
	maxBytes = 100
	_, err = ReadInvocations(invName, strings.NewReader(invFile(row(1))))
	if want := invName + ": larger than 100 bytes"; err == nil || err.Error() != want || !errors.Is(err, ErrTooLarge) {
		t.Fatalf("error %v, want %s", err, want)
	}
}

const durName = "function_durations_percentiles.anon.d01.csv"
const memName = "app_memory_percentiles.anon.d01.csv"

func TestReadDurationsAndMemory(t *testing.T) {
	dh := strings.Join(durationsHeader, ",") + "\n"
	mh := strings.Join(memoryHeader, ",") + "\n"
	ds, err := ReadDurations(durName, strings.NewReader(dh+"o,a,f,12.5,3,1,40,1,2,5,10,20,39.5,40\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := Durations{Average: 12.5, Count: 3, Minimum: 1, Maximum: 40, P0: 1, P1: 2, P25: 5, P50: 10, P75: 20, P99: 39.5, P100: 40}
	if d := ds[FuncKey{"o", "a", "f"}]; d == nil || *d != want {
		t.Fatalf("durations %+v", d)
	}
	ms, err := ReadMemory(memName, strings.NewReader(mh+"o,a,100,150.5,100,110,120,130,160,200,250,300\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m := ms[AppKey{"o", "a"}]; m == nil || m.SampleCount != 100 || m.Average != 150.5 || m.P5 != 110 || m.P100 != 300 {
		t.Fatalf("memory %+v", m)
	}

	for _, tc := range []struct {
		read     func(string, string) error
		name, in string
		want     string
	}{
		{rd, durName, dh + "o,a,f,abc,3,1,40,1,2,5,10,20,39.5,40\n", durName + `:2: column "Average": "abc" is not a number ≥ 0`},
		{rd, durName, dh + "o,a,f,1,3,1,40,1,2,5,-10,20,39.5,40\n", durName + `:2: column "percentile_Average_50": "-10" is not a number ≥ 0`},
		{rd, durName, dh + "o,a,f,1,3,1,40,1,2,5,10,20,39.5,NaN\n", durName + `:2: column "percentile_Average_100": "NaN" is not a number ≥ 0`},
		{rd, durName, dh + "o,a,f,1,1.5,1,40,1,2,5,10,20,39.5,40\n", durName + `:2: column "Count": "1.5" is not a count`},
		{rd, durName, dh + "o,a,f,1,1,1,40,1,2,5,10,20,39.5\n", durName + `:2: 13 columns, want 14`},
		{rd, durName, dh + "o,a,f,1,1,1,1,1,1,1,1,1,1,1\no,a,f,1,1,1,1,1,1,1,1,1,1,1\n",
			durName + `:3: duplicate function (HashOwner "o", HashApp "a", HashFunction "f"), first on line 2`},
		{rm, memName, mh + "o,a,1,2,3,4,5,6,7,8,9,10\no,a,1,2,3,4,5,6,7,8,9,10\n", memName + `:3: duplicate app (HashOwner "o", HashApp "a"), first on line 2`},
		{rm, memName, mh + "o,a,1,2,3,4,5,6,7,8,9,1e400\n", memName + `:2: column "AverageAllocatedMb_pct100": "1e400" is not a number ≥ 0`},
		{rm, memName, strings.Replace(mh, "pct95", "pct90", 1), memName + `:1: header column 10 is "AverageAllocatedMb_pct90", want "AverageAllocatedMb_pct95"`},
		{rm, memName, "", memName + `: empty file (no header)`},
	} {
		if err := tc.read(tc.name, tc.in); err == nil || err.Error() != tc.want || !errors.Is(err, ErrMalformed) {
			t.Errorf("error %v\nwant  %s", err, tc.want)
		}
	}
}

func rd(name, in string) error {
	ds, err := ReadDurations(name, strings.NewReader(in))
	if ds != nil && err != nil {
		return errors.New("half-read result")
	}
	return err
}

func rm(name, in string) error {
	ms, err := ReadMemory(name, strings.NewReader(in))
	if ms != nil && err != nil {
		return errors.New("half-read result")
	}
	return err
}

// FuzzReadInvocations: the invocations reader never panics; it returns a
// FileError or functions with consistent per-minute counts, totals, unique
// keys and ranks 1..n.
func FuzzReadInvocations(f *testing.F) {
	good := invRow("o1", "a1", "f1", "http", map[int]string{1: "3", 60: "1"})
	f.Add([]byte(invFile(good, invRow("o1", "a1", "f2", "timer", map[int]string{1440: "9"}))))
	f.Add([]byte(invFile(good, good)))
	f.Add([]byte(invFile(invRow("o", "a", "f", "http", map[int]string{37: "x"}))))
	f.Add([]byte(invFile(`"o,1","a""",f,http` + strings.Repeat(",1", Minutes))))
	f.Add([]byte(invFile()))
	f.Add([]byte("HashOwner,HashApp\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := ReadInvocations(invName, strings.NewReader(string(data)))
		if err != nil {
			var fe *FileError
			if fs != nil || !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error %v (%T) with %d functions", err, err, len(fs))
			}
			return
		}
		ranks := map[int]bool{}
		keys := map[FuncKey]bool{}
		for _, fn := range fs {
			var sum uint64
			prev := 0
			for m, c := range fn.Minutes() {
				if m <= prev || m > Minutes || c == 0 || fn.Count(m) != c {
					t.Fatalf("minute %d count %d after minute %d", m, c, prev)
				}
				prev = m
				sum += uint64(c)
			}
			if sum != fn.Total || fn.Rank < 1 || fn.Rank > len(fs) || ranks[fn.Rank] || keys[fn.Key] {
				t.Fatalf("function %+v: sum %d", fn, sum)
			}
			ranks[fn.Rank], keys[fn.Key] = true, true
		}
	})
}
