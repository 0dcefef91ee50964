package session

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/kvmtest"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/tools/bench/procmem"
)

// allLibs are the libraries the calltest session imports (testfns last).
var allLibs = []string{"sha256", "crc32", "base64", "sort", "testfns"}

// TestLibraryFunctions checks every shipped library function against Go's
// standard library on several inputs, called from a session through the
// trampoline.
func TestLibraryFunctions(t *testing.T) {
	reg := newRegistry(t, allLibs...)
	inputs := [][]byte{
		{},
		[]byte("abc"),
		[]byte("The quick brown fox jumps over the lazy dog"),
		bytes.Repeat([]byte{0xa5, 0x00, 0xff}, 100),
		func() []byte { // 1000 bytes 00 01 02 …, as the session's *N syntax makes
			b := make([]byte, 1000)
			for i := range b {
				b[i] = byte(i)
			}
			return b
		}(),
	}
	u32s := [][]uint32{{3, 1, 2}, {}, {0xffffffff, 0, 7, 7, 42, 1 << 31}, {5}}

	var words []string
	var want []result
	arg := func(b []byte) string {
		if len(b) == 1000 {
			return "*1000"
		}
		return hex.EncodeToString(b)
	}
	for _, in := range inputs {
		sum := sha256.Sum256(in)
		words = append(words, "sha256.sha256:"+arg(in))
		want = append(want, result{"sha256.sha256", "32", hex.EncodeToString(sum[:])})

		c := make([]byte, 4)
		binary.LittleEndian.PutUint32(c, crc32.ChecksumIEEE(in))
		words = append(words, "crc32.crc32:"+arg(in))
		want = append(want, result{"crc32.crc32", "4", hex.EncodeToString(c)})

		enc := base64.StdEncoding.EncodeToString(in)
		words = append(words, "base64.b64encode:"+arg(in))
		want = append(want, result{"base64.b64encode", strconv.Itoa(len(enc)), hex.EncodeToString([]byte(enc))})
		if len(enc) > 0 && len(enc) < 2000 {
			words = append(words, "base64.b64decode:"+hex.EncodeToString([]byte(enc)))
			want = append(want, result{"base64.b64decode", strconv.Itoa(len(in)), hex.EncodeToString(in)})
		}
	}
	for _, bad := range []string{"!!!!", "QUJD=", "QQ"} {
		words = append(words, "base64.b64decode:"+hex.EncodeToString([]byte(bad)))
		want = append(want, result{"base64.b64decode", "<=-16", "-"})
	}
	for _, a := range u32s {
		in := make([]byte, 4*len(a))
		for i, v := range a {
			binary.LittleEndian.PutUint32(in[4*i:], v)
		}
		s := slices.Clone(a)
		slices.Sort(s)
		out := make([]byte, 4*len(s))
		for i, v := range s {
			binary.LittleEndian.PutUint32(out[4*i:], v)
		}
		words = append(words, "sort.sort_u32:"+hex.EncodeToString(in))
		want = append(want, result{"sort.sort_u32", strconv.Itoa(len(out)), hex.EncodeToString(out)})
	}
	words = append(words, "sort.sort_u32:010203")
	want = append(want, result{"sort.sort_u32", "<=-16", "-"})

	got, _, _ := runCalltest(t, reg, nil, 0, false, words...)
	for i, w := range want {
		g := got[i]
		if w.status == "<=-16" {
			n, err := strconv.Atoi(g.status)
			if err != nil || n > -16 {
				t.Errorf("%s: status %s, want a function error <= -16", words[i], g.status)
			}
			continue
		}
		if g.fn != w.fn || g.status != w.status || g.hex != w.hex {
			t.Errorf("%.60s:\n got  %v\n want %v", words[i], g, w)
		}
	}
}

// TestFaultsContained checks that a library that crashes, aborts, hangs,
// leaves its view, writes its text or breaks the result rules gives the
// caller a typed error, that the session goes on, and that the next call
// gets a fresh instance.
func TestFaultsContained(t *testing.T) {
	reg := newRegistry(t, allLibs...)
	tests := []struct {
		word   string
		status uaafabi.Status
	}{
		{"testfns.crash", uaafabi.EFault},
		{"testfns.abort", uaafabi.EFault},
		{"testfns.hang", uaafabi.ETimedOut},
		{"testfns.oob", uaafabi.EFault},
		{"testfns.wtext", uaafabi.EFault},
		{"testfns.bigout", uaafabi.E2Big},
		{"testfns.badret", uaafabi.EBadRet},
	}
	table := NewTable()
	for _, tt := range tests {
		t.Run(tt.word, func(t *testing.T) {
			// counter before and after: the fault discards the instance, so
			// the counter starts again from the pristine image.
			res, s, out := runCalltest(t, reg, table, 500*time.Millisecond, true,
				"testfns.counter", tt.word, "testfns.counter", "testfns.nop")
			defer s.Close()
			if res[1].status != strconv.Itoa(int(tt.status)) {
				t.Errorf("%s: status %s, want %d (%v); output:\n%s", tt.word, res[1].status, tt.status, tt.status, out)
			}
			if res[3].status != "0" {
				t.Errorf("nop after %s: status %s, want 0", tt.word, res[3].status)
			}
			discarded := tt.status == uaafabi.EFault || tt.status == uaafabi.ETimedOut
			wantCounter := "0200000000000000"
			if discarded {
				wantCounter = "0100000000000000"
			}
			if res[2].hex != wantCounter {
				t.Errorf("counter after %s = %s, want %s", tt.word, res[2].hex, wantCounter)
			}
			row := s.Row()
			tv := row.Views[len(row.Views)-1]
			if tv.Library != "testfns" || (discarded && tv.Faults != 1) {
				t.Errorf("S-F row after %s: %+v, want testfns with one fault", tt.word, tv)
			}
		})
	}
}

// TestPrivateDataSharedText runs two sessions on one library at once: each
// sees its own copy of the library's data (a write by one is invisible to
// the other), while the library's text is one host copy for both, as
// /proc/self/smaps shows.
func TestPrivateDataSharedText(t *testing.T) {
	reg := newRegistry(t, allLibs...)
	table := NewTable()
	var wg sync.WaitGroup
	results := make([][]result, 2)
	sessions := make([]*Session, 2)
	words := [][]string{
		{"testfns.poke:41414141", "testfns.counter", "testfns.counter"},
		{"testfns.poke:", "testfns.counter"},
	}
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], sessions[i], _ = runCalltest(t, reg, table, 0, true, words[i]...)
		}()
	}
	wg.Wait()
	for _, s := range sessions {
		if s == nil {
			t.Fatal("a session failed")
		}
		defer s.Close()
	}
	if got := results[0][0].hex; got != "4141414100000000" {
		t.Errorf("session 1 poke = %s", got)
	}
	if got := results[1][0].hex; got != "0000000000000000" {
		t.Errorf("session 2 sees session 1's write: poke = %s", got)
	}
	if results[0][2].hex != "0200000000000000" || results[1][1].hex != "0100000000000000" {
		t.Errorf("counters %s / %s: sessions share data", results[0][2].hex, results[1][1].hex)
	}
	if table.Len() != 2 {
		t.Errorf("S-F table holds %d sessions, want 2", table.Len())
	}

	// Both instances map the library copy-on-write from the same memfd,
	// its text read-only to the guest (a read-only memslot): each
	// instance's first text page is present, file-backed, not exclusive
	// to it, and the same physical page in both (pagemap, as root).
	for _, s := range sessions {
		if v := s.Row().Views[len(allLibs)-1]; v.Library != "testfns" || v.Instance != "live" {
			t.Fatalf("testfns view %+v, want a live instance", v)
		}
	}
	maps, err := procmem.Mappings(procmem.Self, func(m *procmem.Mapping) bool {
		return strings.Contains(m.Name, "memfd:uaaf-lib-testfns") && m.Offset == 0 && m.End-m.Start > 0x100000
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(maps) != 2 {
		t.Fatalf("%d testfns instance mappings, want one per instance (2): %+v", len(maps), maps)
	}
	var pfns []uint64
	for i, m := range maps {
		e := pagemapEntry(t, m.Start+0x100000)
		const present, file, exclusive = 1 << 63, 1 << 61, 1 << 56
		if e&present == 0 || e&file == 0 || e&exclusive != 0 {
			t.Errorf("instance %d's first text page: pagemap %#x, want present, file-backed, not exclusive", i+1, e)
		}
		pfns = append(pfns, e&(1<<55-1))
	}
	if pfns[0] == 0 || pfns[0] != pfns[1] {
		t.Errorf("first text page frames %#x, want one page shared by both instances", pfns)
	}
}

// pagemapEntry returns /proc/self/pagemap's entry for the page at addr.
func pagemapEntry(t *testing.T, addr uint64) uint64 {
	t.Helper()
	f, err := os.Open("/proc/self/pagemap")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [8]byte
	if _, err := f.ReadAt(b[:], int64(addr/4096*8)); err != nil {
		t.Fatal(err)
	}
	return binary.LittleEndian.Uint64(b[:])
}

// TestRefcounts checks reference counts through the S-F table: two
// sessions hold an unpinned library (2), closing one leaves 1, closing the
// other destroys it; a pinned library stays at 0.
func TestRefcounts(t *testing.T) {
	dir := t.TempDir()
	// testfns unpinned: loaded from the search path on first use; the
	// others preloaded and pinned.
	if err := os.Symlink(kvmtest.LibraryImage(t, "testfns"), filepath.Join(dir, "testfns.hvt")); err != nil {
		t.Fatal(err)
	}
	reg2 := newRegistryPaths(t, []string{dir}, "sha256", "crc32", "base64", "sort")
	reg := reg2
	table := NewTable()
	_, s1, _ := runCalltest(t, reg2, table, 0, true, "testfns.nop")
	_, s2, _ := runCalltest(t, reg2, table, 0, true, "testfns.nop")
	refs := func() int {
		info, ok := reg2.Lookup("testfns")
		if !ok {
			return -1
		}
		return info.Refs
	}
	if refs() != 2 {
		t.Fatalf("refs = %d, want 2", refs())
	}
	row, _ := table.Lookup(s1.ID())
	found := false
	for _, v := range row.Views {
		if v.Library == "testfns" {
			found = v.Refs == 2 && v.Calls == 1 && v.Instance == "live"
		}
	}
	if !found || len(row.Views) != len(allLibs) {
		t.Errorf("S-F row %+v", row)
	}
	s1.Close()
	if refs() != 1 {
		t.Fatalf("refs after one close = %d, want 1", refs())
	}
	s2.Close()
	if refs() != -1 {
		t.Fatalf("unpinned library still registered after the last session (refs %d)", refs())
	}
	if table.Len() != 0 {
		t.Errorf("table has %d sessions after both closed", table.Len())
	}
	// The pinned one stays with no references.
	if info, ok := reg.Lookup("crc32"); !ok || info.Refs != 0 || !info.Pinned {
		t.Errorf("pinned crc32: %+v %v", info, ok)
	}
	if err := reg.Unpin("crc32"); err != nil {
		t.Fatal(err)
	}
	if _, ok := reg.Lookup("crc32"); ok {
		t.Error("unpinned unreferenced library not destroyed")
	}
}

// TestImportLimits binds 511 libraries (the EPTP list's capacity) and calls
// the first and the last; a session importing a 512th is refused at bind
// time with a clear error.
func TestImportLimits(t *testing.T) {
	if testing.Short() {
		t.Skip("preloads 511 libraries")
	}
	dir := t.TempDir()
	lib := kvmtest.LibraryImage(t, "testfns")
	for i := 1; i <= 512; i++ {
		if err := os.Symlink(lib, filepath.Join(dir, fmt.Sprintf("l%d.hvt", i))); err != nil {
			t.Fatal(err)
		}
	}
	reg := newRegistryPaths(t, []string{dir})
	var out bytes.Buffer
	s, err := New(Config{
		Monitor:  monitor.Config{Kernel: kvmtest.GuestImage(t, "imports511"), MemSize: 8 << 20, Console: &out, Log: &out},
		Registry: reg,
	})
	if err != nil {
		t.Fatalf("511 imports: %v", err)
	}
	status, err := s.Run(context.Background())
	row := s.Row()
	s.Close()
	if err != nil || status != 0 || !strings.Contains(out.String(), "SUCCESS") {
		t.Fatalf("511 imports: status %d err %v output:\n%s", status, err, out.String())
	}
	if len(row.Views) != 511 || row.Views[510].Index != 511 || row.Views[510].Calls != 1 {
		t.Errorf("S-F row: %d views, last %+v", len(row.Views), row.Views[len(row.Views)-1])
	}

	_, err = New(Config{
		Monitor:  monitor.Config{Kernel: kvmtest.GuestImage(t, "imports512"), MemSize: 8 << 20, Console: &out, Log: &out},
		Registry: reg,
	})
	if !errors.Is(err, ErrTooManyViews) || !strings.Contains(err.Error(), "l512") {
		t.Fatalf("512 imports: err = %v, want ErrTooManyViews naming l512", err)
	}
}

// TestUnresolved checks the bind-time errors for a missing library and a
// missing function, and that a KVM machine started for the failed session
// is released.
func TestUnresolved(t *testing.T) {
	reg := newRegistryPaths(t, []string{t.TempDir()})
	fds := kvmtest.KVMFDs(t)
	_, err := New(Config{
		Monitor: monitor.Config{Kernel: kvmtest.GuestImage(t, "calltest"), MemSize: 8 << 20,
			Machine: kvm.StartMachine(kvm.DefaultPath)},
		Registry: reg,
	})
	if !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), "sha256") || !strings.Contains(err.Error(), "searched") {
		t.Errorf("missing library: %v", err)
	}
	if n := kvmtest.KVMFDs(t); n != fds {
		t.Errorf("%d KVM fds open after the failed New, want %d", n, fds)
	}
	// A library that lacks a function the session imports: give "sha256"
	// the crc32 image.
	reg3 := newRegistry(t, "crc32", "base64", "sort", "testfns")
	if _, err := reg3.Preload("sha256", kvmtest.LibraryImage(t, "crc32"), true); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{
		Monitor:  monitor.Config{Kernel: kvmtest.GuestImage(t, "calltest"), MemSize: 8 << 20},
		Registry: reg3,
	})
	if !errors.Is(err, ErrUnresolved) || !strings.Contains(err.Error(), "sha256.sha256") {
		t.Errorf("missing function: %v", err)
	}
}

// TestFaultDoesNotDisturbOthers runs a session whose library crashes and
// hangs next to one making ordinary calls: the second is served in full
// while the first gets its errors.
func TestFaultDoesNotDisturbOthers(t *testing.T) {
	reg := newRegistry(t, allLibs...)
	var wg sync.WaitGroup
	var bad, good []result
	wg.Add(2)
	go func() {
		defer wg.Done()
		bad, _, _ = runCalltest(t, reg, nil, 300*time.Millisecond, false,
			"testfns.crash", "testfns.hang", "testfns.oob", "testfns.hang")
	}()
	go func() {
		defer wg.Done()
		var words []string
		for i := 0; i < 20; i++ {
			words = append(words, "crc32.crc32:616263")
		}
		good, _, _ = runCalltest(t, reg, nil, 0, false, words...)
	}()
	wg.Wait()
	if len(bad) != 4 || bad[0].status != "-4" || bad[1].status != "-5" || bad[2].status != "-4" || bad[3].status != "-5" {
		t.Errorf("faulting session: %v", bad)
	}
	for i, r := range good {
		if r.status != "4" || r.hex != "c2412435" {
			t.Errorf("other session call %d: %v", i, r)
		}
	}
}

// TestPreparedImage runs sessions from an image prepared once (the daemon's
// path: no parse or load per session) and checks they behave as sessions
// started from the file: same results, each with its own memory, the
// template's pages shared.
func TestPreparedImage(t *testing.T) {
	reg := newRegistry(t, allLibs...)
	img, err := PrepareImage(kvmtest.GuestImage(t, "calltest"), 8<<20, uaafabi.BackendExit)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	words := []string{"crc32.crc32:616263", "testfns.counter", "testfns.counter"}
	want, _, _ := runCalltest(t, reg, nil, 0, false, words...)
	for round := range 3 {
		out := &syncWriter{w: &bytes.Buffer{}}
		s, err := New(Config{
			Image:    img,
			Monitor:  monitor.Config{Args: words, Console: out, Log: out},
			Registry: reg,
		})
		if err != nil {
			t.Fatal(err)
		}
		status, err := s.Run(t.Context())
		s.Close()
		if err != nil || status != 0 {
			t.Fatalf("round %d: %d %v\n%s", round, status, err, out)
		}
		var got []result
		for _, line := range strings.Split(out.String(), "\n") {
			if f := strings.Fields(line); len(f) >= 4 && f[0] == "RESULT" {
				got = append(got, result{f[1], f[2], f[3]})
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("round %d from the template: %v, want %v (from the file)", round, got, want)
		}
	}
	// A plain image prepared the same way runs as a plain guest.
	hello, err := PrepareImage(kvmtest.GuestImage(t, "hello"), 0, uaafabi.BackendExit)
	if err != nil {
		t.Fatal(err)
	}
	defer hello.Close()
	var out bytes.Buffer
	s, err := New(Config{Image: hello, Monitor: monitor.Config{Args: []string{"Hello_Solo5"}, Console: &out, Log: &out}, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	status, err := s.Run(t.Context())
	s.Close()
	if err != nil || status != 0 || !strings.Contains(out.String(), "Hello, World") {
		t.Errorf("hello from a template: %d %v %q", status, err, out.String())
	}
	// Preparing a library, or for the other backend, is refused.
	if _, err := PrepareImage(kvmtest.LibraryImage(t, "crc32"), 0, uaafabi.BackendExit); !errors.Is(err, ErrNotSession) {
		t.Errorf("library prepared as a session image: %v", err)
	}
	vimg, err := PrepareImage(kvmtest.GuestImage(t, "calltest"), 8<<20, uaafabi.BackendVMFUNC)
	if err != nil {
		t.Fatal(err)
	}
	defer vimg.Close()
	if _, err := New(Config{Image: vimg, Registry: reg}); err == nil || !strings.Contains(err.Error(), "prepared for the vmfunc backend, not exit") {
		t.Errorf("template of another backend: %v", err)
	}
}

// TestForgedVerdict: a library that writes uaaf's own timeout code into the
// call area and switches home without its dispatcher does not make the
// session believe the monitor stopped the call: it sees UAAF_EBADRET, and
// its other libraries go on serving.
func TestForgedVerdict(t *testing.T) {
	reg := newRegistry(t, allLibs...)
	res, _, out := runCalltest(t, reg, nil, 0, false, "testfns.forge", "crc32.crc32:616263")
	if res[0].status != strconv.Itoa(int(uaafabi.EBadRet)) {
		t.Errorf("forged status reached the session as %s, want %d (UAAF_EBADRET)\n%s", res[0].status, uaafabi.EBadRet, out)
	}
	if res[1].status != "4" || res[1].hex != "c2412435" {
		t.Errorf("crc32 after the forgery: %v", res[1])
	}
}
