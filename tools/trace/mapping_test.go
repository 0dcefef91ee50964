package trace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "map.json")
	if err := os.WriteFile(path, []byte(`{
		"image": "base",
		"function_images": {"fh": "byhash"},
		"rank_images": {"1": "hot", "2-10": "warm"},
		"app_libraries": {"a1": ["sha256", "crc32"], "a2": []},
		"libraries": ["sort"]
	}`), 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := LoadMapping(path)
	if err != nil {
		t.Fatal(err)
	}
	fn := func(hash string, rank int) *Function { return &Function{Key: FuncKey{"o", "a", hash}, Rank: rank} }
	for _, tc := range []struct {
		f    *Function
		want string
	}{
		{fn("fh", 1), "byhash"}, // hash before rank
		{fn("x", 1), "hot"},
		{fn("x", 2), "warm"},
		{fn("x", 10), "warm"},
		{fn("x", 11), "base"},
	} {
		if got := m.Image(tc.f); got != tc.want {
			t.Errorf("Image(%s, rank %d) = %q, want %q", tc.f.Key.Function, tc.f.Rank, got, tc.want)
		}
	}
	for _, tc := range []struct {
		app  string
		want []string
	}{{"a1", []string{"sha256", "crc32"}}, {"a2", []string{}}, {"a3", []string{"sort"}}} {
		if got := m.Libraries(AppKey{"o", tc.app}); !slices.Equal(got, tc.want) || got == nil {
			t.Errorf("Libraries(%s) = %v, want %v", tc.app, got, tc.want)
		}
	}
}

func TestDefaultMapping(t *testing.T) {
	m := DefaultMapping()
	if im := m.Image(&Function{Rank: 1}); im != "demo" {
		t.Fatalf("default image %q", im)
	}
	// The spread is FNV-1a-64 mod 15; FNV-1a-64("") is the offset basis
	// 0xcbf29ce484222325 = 14695981039346656037, mod 15 = 2 → subset
	// mask 3 = {base64, crc32}.
	if got := m.Libraries(AppKey{}); !slices.Equal(got, []string{"base64", "crc32"}) {
		t.Fatalf("Libraries of the empty hash = %v", got)
	}
	seen := map[string]int{}
	for i := range 3000 {
		libs := m.Libraries(AppKey{"o", fmt.Sprintf("app%d", i)})
		if len(libs) == 0 || !slices.IsSorted(libs) || !slices.Equal(libs, m.Libraries(AppKey{"o", fmt.Sprintf("app%d", i)})) {
			t.Fatalf("Libraries = %v", libs)
		}
		seen[strings.Join(libs, "+")]++
	}
	if len(seen) != 15 {
		t.Fatalf("%d distinct subsets of 4 libraries, want 15", len(seen))
	}
	for s, n := range seen {
		if n < 120 || n > 280 { // 200 expected each
			t.Errorf("subset %s chosen %d times of 3000", s, n)
		}
	}
}

func TestMappingErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, "m.json: EOF"},
		{`{"image": "a b"}`, `m.json: image "a b" is not a name`},
		{`{"images": {}}`, `m.json: json: unknown field "images"`},
		{`{} {}`, "m.json: data after the JSON object"},
		{`{}}`, "m.json: data after the JSON object"},
		{`{"function_images": {"h": ""}}`, `m.json: function_images["h"] = "": want a hash and an image name`},
		{`{"rank_images": {"0": "x"}}`, `m.json: rank_images["0"] = "x": want "N" or "N-M" (1 ≤ N ≤ M) and an image name`},
		{`{"rank_images": {"5-2": "x"}}`, `m.json: rank_images["5-2"] = "x"`},
		{`{"rank_images": {"1-5": "x", "5-9": "y"}}`, "m.json: rank_images: ranges 1-5 and 5-9 overlap"},
		{`{"app_libraries": {"a": ["sha256", "sha256"]}}`, `m.json: app_libraries["a"]: "sha256" listed twice`},
		{`{"app_libraries": {"": ["sha256"]}}`, "m.json: app_libraries: empty app hash"},
		{`{"libraries": ["../x"]}`, `m.json: libraries: "../x" is not a library name`},
		{`{"libraries": [".."]}`, `m.json: libraries: ".." is not a library name`},
	} {
		_, err := ParseMapping("m.json", strings.NewReader(tc.in))
		if err == nil || !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "trace: malformed file: "+tc.want) {
			t.Errorf("ParseMapping(%s): %v\nwant %s", tc.in, err, tc.want)
		}
	}
}
