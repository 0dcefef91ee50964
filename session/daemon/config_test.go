package daemon

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/uaaf/uaaf/session/api"
)

// TestParseConfig: a config is one JSON object with known fields; each
// library and image has a valid name, a path and no twin; errors say where.
func TestParseConfig(t *testing.T) {
	tests := []struct {
		in   string
		want *Config
		err  string
	}{
		{in: `{}`, want: &Config{}},
		{in: ` {"lib_path":["a"],"libraries":[{"name":"sha256","path":"s.hvt","pin":true}],"images":[{"name":"demo","path":"d.hvt","mem_mib":8}]} `,
			want: &Config{LibPath: []string{"a"}, Libraries: []api.LoadLibrary{{Name: "sha256", Path: "s.hvt", Pin: true}},
				Images: []api.AddImage{{Name: "demo", Path: "d.hvt", MemMiB: 8}}}},
		{in: ``, err: "EOF"},
		{in: `{"libraries":[}`, err: "line 1: invalid character '}'"},
		{in: "{\n\"images\": 3}", err: "line 2: json: cannot unmarshal number"},
		{in: `{"colour":1}`, err: `unknown field "colour"`},
		{in: `{} {}`, err: "data after the JSON object"},
		{in: `{}}`, err: "data after the JSON object"},
		{in: `{}]`, err: "data after the JSON object"},
		{in: `{"libraries":[{"name":"a"}]}`, err: "libraries[0]: name and path are required"},
		{in: `{"libraries":[{"name":"a b","path":"x"}]}`, err: `libraries[0]: "a b" is not a library name`},
		{in: `{"libraries":[{"name":"a","path":"x"},{"name":"a","path":"y"}]}`, err: "libraries[1]: library a given twice"},
		{in: `{"images":[{"name":"x.hvt","path":"x"}]}`, err: `images[0]: "x.hvt" is not an image name`},
		{in: `{"images":[{"name":"x","path":"x","mem_mib":-2}]}`, err: "images[0]: mem_mib -2: want 2 to 4096"},
		{in: `{"images":[{"name":"x","path":"x","mem_mib":1}]}`, err: "images[0]: mem_mib 1: want 2 to 4096"},
		{in: `{"images":[{"name":"x","path":"x"},{"name":"x","path":"y"}]}`, err: "images[1]: image x given twice"},
		{in: `{"lib_path":[""]}`, err: "lib_path[0] is empty"},
		{in: `{"lib_path":["` + strings.Repeat("a", maxConfig) + `"]}`, err: "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		c, err := ParseConfig(strings.NewReader(tt.in))
		switch {
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseConfig(%.60q): %v; want an error containing %q", tt.in, err, tt.err)
		case tt.err == "" && err != nil:
			t.Errorf("ParseConfig(%.60q): %v", tt.in, err)
		case tt.err == "":
			got, _ := json.Marshal(c)
			want, _ := json.Marshal(tt.want)
			if !bytes.Equal(got, want) {
				t.Errorf("ParseConfig(%.60q) = %s, want %s", tt.in, got, want)
			}
		}
	}
}

// TestReadConfig: relative paths are resolved against the file's
// directory, absolute ones kept; a missing file is an error naming it.
func TestReadConfig(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "uaaf.json")
	os.WriteFile(p, []byte(`{"lib_path":["libs","/abs"],"libraries":[{"name":"a","path":"../a.hvt"}],"images":[{"name":"d","path":"/d.hvt"}]}`), 0o644)
	c, err := ReadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.LibPath[0] != filepath.Join(dir, "libs") || c.LibPath[1] != "/abs" ||
		c.Libraries[0].Path != filepath.Join(filepath.Dir(dir), "a.hvt") || c.Images[0].Path != "/d.hvt" {
		t.Errorf("paths not resolved against %s: %+v", dir, c)
	}
	if _, err := ReadConfig(filepath.Join(dir, "none.json")); err == nil || !strings.Contains(err.Error(), "none.json") {
		t.Errorf("missing config: %v", err)
	}
}

// FuzzParseConfig: ParseConfig never panics; what it accepts is one JSON
// value whose libraries and images have valid, unique names and paths, and
// that encodes to a config it accepts as the same.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(`{"lib_path":["a"],"libraries":[{"name":"sha256","path":"s.hvt","pin":true}],"images":[{"name":"demo","path":"d.hvt","mem_mib":8}]}`))
	f.Add([]byte(`{"images":[{"name":"x","path":"x","mem_mib":4097}]}`))
	f.Add([]byte(`{"libraries":[{"name":"a","path":"x"},{"name":"a","path":"y"}]}`))
	f.Add([]byte("{\n\"images\": [1]}"))
	f.Add([]byte(`{}}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(bytes.NewReader(data))
		if err != nil {
			if err.Error() == "" || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q is not one non-empty line", err)
			}
			return
		}
		if !json.Valid(data) {
			t.Fatalf("accepted %q, which is not one JSON value", data)
		}
		names := map[string]bool{}
		for _, l := range c.Libraries {
			if checkLoadLibrary(l) != nil || names["l"+l.Name] {
				t.Fatalf("accepted library %+v", l)
			}
			names["l"+l.Name] = true
		}
		for _, im := range c.Images {
			if im.Path == "" || !validImageName(im.Name) || im.MemMiB < 0 || im.MemMiB == 1 || names["i"+im.Name] {
				t.Fatalf("accepted image %+v", im)
			}
			names["i"+im.Name] = true
		}
		for _, p := range c.LibPath {
			if p == "" {
				t.Fatal("accepted an empty lib_path entry")
			}
		}
		again, _ := json.Marshal(c)
		c2, err := ParseConfig(bytes.NewReader(again))
		if err != nil {
			t.Fatalf("accepted %q; refused it encoded again (%s): %v", data, again, err)
		}
		if third, _ := json.Marshal(c2); !bytes.Equal(third, again) {
			t.Fatalf("round trip changed the config:\n %s\n %s", again, third)
		}
	})
}
