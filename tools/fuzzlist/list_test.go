package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFind: fuzz targets are found by name and signature, in every
// package but testdata and hidden directories, with their doc's first
// sentence.
func TestFind(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.26\n",
		"a/a_test.go": `package a
import "testing"
// FuzzParse feeds Parse anything. It never panics.
func FuzzParse(f *testing.F) {}
// FuzzNoDoc
func FuzzNoDoc(f *testing.F) {}
func Fuzzy(f *testing.F) {}           // lower case after Fuzz: not a target
func FuzzT(t *testing.T) {}          // not a *testing.F
func FuzzTwo(f *testing.F, x int) {} // two parameters
type x struct{}
func (x) FuzzMethod(f *testing.F) {}
`,
		"b/c/c_test.go":        "package c\nimport \"testing\"\n// FuzzC: checks c.\nfunc FuzzC(f *testing.F) {}\n",
		"a/testdata/x_test.go": "package x\nimport \"testing\"\nfunc FuzzHidden(f *testing.F) {}\n",
		".git/y_test.go":       "package y\nimport \"testing\"\nfunc FuzzGit(f *testing.F) {}\n",
		"b/c/c.go":             "package c\nfunc FuzzNotATest(f *int) {}\n",
		"root_test.go":         "package m\nimport \"testing\"\n// FuzzRoot is at the top.\nfunc FuzzRoot(f *testing.F) {}\n",
	}
	for name, text := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := Find(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []Target{
		{"example.com/m", "FuzzRoot", "Is at the top."},
		{"example.com/m/a", "FuzzNoDoc", "(no doc comment)"},
		{"example.com/m/a", "FuzzParse", "Feeds Parse anything."},
		{"example.com/m/b/c", "FuzzC", "Checks c."},
	}
	if len(ts) != len(want) {
		t.Fatalf("found %+v, want %+v", ts, want)
	}
	for i := range want {
		if ts[i] != want[i] {
			t.Errorf("target %d: %+v, want %+v", i, ts[i], want[i])
		}
	}
	md := Markdown(ts, "example.com/m")
	if !strings.HasPrefix(md, "4 targets.") || !strings.Contains(md, "| `b/c` | `FuzzC` | Checks c. |") || !strings.Contains(md, "| `.` | `FuzzRoot` |") {
		t.Errorf("markdown:\n%s", md)
	}
	os.Remove(filepath.Join(root, "go.mod"))
	if _, err := Find(root); err == nil {
		t.Error("no go.mod: no error")
	}
}

// TestSplice: the table goes between the markers; without them, an error.
func TestSplice(t *testing.T) {
	doc := "# x\n" + BeginMarker + "\nold\n" + EndMarker + "\nafter\n"
	got, err := Splice(doc, "new\n")
	if err != nil || got != "# x\n"+BeginMarker+"\nnew\n"+EndMarker+"\nafter\n" {
		t.Errorf("Splice = %q, %v", got, err)
	}
	if _, err := Splice(EndMarker+BeginMarker, "t"); !errors.Is(err, ErrMarkers) {
		t.Errorf("markers out of order: %v", err)
	}
}

// TestDocUpToDate: docs/fuzzing.md lists exactly the module's fuzz
// targets (`make fuzz-doc` rewrites the table).
func TestDocUpToDate(t *testing.T) {
	if err := run("../..", false, "", "../../docs/fuzzing.md"); err != nil {
		t.Fatal(err)
	}
}
