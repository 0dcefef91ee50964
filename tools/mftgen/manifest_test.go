package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseJSON(t *testing.T) {
	many := func(n int) string {
		var parts []string
		for i := 0; i < n; i++ {
			parts = append(parts, fmt.Sprintf(`{"name":"d%d","type":"BLOCK_BASIC"}`, i))
		}
		return `{"type":"solo5.manifest","version":1,"devices":[` + strings.Join(parts, ",") + `]}`
	}
	long := strings.Repeat("a", MaxNameLen)
	tests := []struct {
		name    string
		in      string
		want    []Device
		wantErr string
	}{
		{"empty devices", `{"type":"solo5.manifest","version":1,"devices":[]}`, []Device{}, ""},
		{"block and net", `{"type":"solo5.manifest","version":1,"devices":[{"name":"storage","type":"BLOCK_BASIC"},{"name":"service0","type":"NET_BASIC"}]}`,
			[]Device{{"storage", BlockBasic}, {"service0", NetBasic}}, ""},
		{"max name", `{"type":"solo5.manifest","version":1,"devices":[{"name":"` + long + `","type":"NET_BASIC"}]}`,
			[]Device{{long, NetBasic}}, ""},
		{"63 devices", many(63), nil, ""},
		{"64 devices", many(64), nil, "too many devices"},
		{"name too long", `{"type":"solo5.manifest","version":1,"devices":[{"name":"` + long + `b","type":"NET_BASIC"}]}`, nil, "longer than"},
		{"empty name", `{"type":"solo5.manifest","version":1,"devices":[{"name":"","type":"NET_BASIC"}]}`, nil, "empty name"},
		{"bad char", `{"type":"solo5.manifest","version":1,"devices":[{"name":"a-b","type":"NET_BASIC"}]}`, nil, "only letters and digits"},
		{"duplicate", `{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"NET_BASIC"},{"name":"a","type":"BLOCK_BASIC"}]}`, nil, "duplicate"},
		{"unknown type", `{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"NET_FANCY"}]}`, nil, "unknown type"},
		{"missing dev type", `{"type":"solo5.manifest","version":1,"devices":[{"name":"a"}]}`, nil, `missing "type"`},
		{"missing name", `{"type":"solo5.manifest","version":1,"devices":[{"type":"NET_BASIC"}]}`, nil, `missing "name"`},
		{"wrong type", `{"type":"other","version":1,"devices":[]}`, nil, `"type" must be`},
		{"wrong version", `{"type":"solo5.manifest","version":2,"devices":[]}`, nil, `"version" must be 1`},
		{"missing devices", `{"type":"solo5.manifest","version":1}`, nil, `missing "devices"`},
		{"unknown field", `{"type":"solo5.manifest","version":1,"devices":[],"x":1}`, nil, "unknown field"},
		{"trailing data", `{"type":"solo5.manifest","version":1,"devices":[]} {}`, nil, "after the manifest"},
		{"not json", `nope`, nil, "invalid JSON"},
		{"reserved type name", `{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"RESERVED_FIRST"}]}`, nil, "unknown type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := ParseJSON([]byte(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if tc.want != nil {
				if len(m.Devices) != len(tc.want) {
					t.Fatalf("devices = %v, want %v", m.Devices, tc.want)
				}
				for i := range tc.want {
					if m.Devices[i] != tc.want[i] {
						t.Fatalf("device %d = %v, want %v", i, m.Devices[i], tc.want[i])
					}
				}
			}
		})
	}
}

func TestGenerateC(t *testing.T) {
	m := &Manifest{Devices: []Device{{"storage", BlockBasic}, {"service0", NetBasic}}}
	src := string(GenerateC(m, "x*/y.json"))
	for _, want := range []string{
		`#define MFT_ENTRIES 3`,
		`section(".note.solo5.manifest")`,
		`{.name = "", .type = MFT_RESERVED_FIRST},`,
		`{.name = "storage", .type = MFT_DEV_BLOCK_BASIC},`,
		`{.name = "service0", .type = MFT_DEV_NET_BASIC},`,
		`x* /y.json`,
	} {
		if !strings.Contains(src, want) {
			t.Errorf("generated source lacks %q:\n%s", want, src)
		}
	}
	// The reserved entry must come first.
	if strings.Index(src, "MFT_RESERVED_FIRST}") > strings.Index(src, `"storage"`) {
		t.Errorf("reserved entry is not entry 0")
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "m.json")
	os.WriteFile(good, []byte(`{"type":"solo5.manifest","version":1,"devices":[{"name":"storage","type":"BLOCK_BASIC"}]}`), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"type":"solo5.manifest","version":1,"devices":[{"name":"x y","type":"BLOCK_BASIC"}]}`), 0o644)
	out := filepath.Join(dir, "out.c")

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"to file", []string{"-o", out, good}, 0, ""},
		{"to stdout", []string{good}, 0, ""},
		{"no args", nil, 1, "expected one manifest file"},
		{"two args", []string{good, good}, 1, "expected one manifest file"},
		{"missing file", []string{filepath.Join(dir, "none.json")}, 1, "no such file"},
		{"invalid", []string{bad}, 1, "only letters and digits"},
		{"bad flag", []string{"-x", good}, 1, "usage"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.wantCode {
				t.Fatalf("exit code %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if tc.wantErr != "" {
				e := stderr.String()
				if !strings.Contains(e, tc.wantErr) || strings.Count(e, "\n") != 1 {
					t.Fatalf("stderr %q: want one line containing %q", e, tc.wantErr)
				}
			}
		})
	}
	if b, err := os.ReadFile(out); err != nil || !bytes.Contains(b, []byte(`"storage"`)) {
		t.Fatalf("output file: %v %q", err, b)
	}
}

// FuzzParseJSON checks that ParseJSON never panics and that whatever it
// accepts satisfies the manifest ABI's invariants and generates cleanly.
func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{
		`{"type":"solo5.manifest","version":1,"devices":[]}`,
		`{"type":"solo5.manifest","version":1,"devices":[{"name":"storage","type":"BLOCK_BASIC"},{"name":"service0","type":"NET_BASIC"}]}`,
		`{"type":"solo5.manifest","version":1,"devices":[{"name":"a","type":"NET_BASIC"},{"name":"a","type":"NET_BASIC"}]}`,
		`{"type":"solo5.manifest","version":1,"devices":[{"name":"a\u0000b","type":"NET_BASIC"}]}`,
		`{"type":"solo5.manifest","version":1.0,"devices":null}`,
		`[]`,
		``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseJSON(data)
		if err != nil {
			return
		}
		if len(m.Devices) > MaxDevices {
			t.Fatalf("accepted %d devices", len(m.Devices))
		}
		seen := map[string]bool{}
		for _, d := range m.Devices {
			if checkName(d.Name) != nil || seen[d.Name] {
				t.Fatalf("accepted bad or duplicate name %q", d.Name)
			}
			seen[d.Name] = true
			if d.Type != BlockBasic && d.Type != NetBasic {
				t.Fatalf("accepted type %v", d.Type)
			}
		}
		src := GenerateC(m, "fuzz.json")
		if got := bytes.Count(src, []byte("{.name = ")); got != len(m.Devices)+1 {
			t.Fatalf("generated %d entries for %d devices", got, len(m.Devices))
		}
	})
}
