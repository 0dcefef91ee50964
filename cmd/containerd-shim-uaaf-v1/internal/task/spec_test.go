package task

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/uaaf/uaaf/libfuncs"
)

func TestPlanFromSpec(t *testing.T) {
	limit := func(n int64) *specs.Linux {
		return &specs.Linux{Resources: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &n}}}
	}
	tests := []struct {
		name    string
		spec    specs.Spec
		image   string
		args    []string
		mem     int
		libs    []string
		sandbox bool
		err     bool
	}{
		{name: "image and args", spec: specs.Spec{Process: &specs.Process{Args: []string{"/hello.hvt", "a", "b c"}}},
			image: "/hello.hvt", args: []string{"a", "b c"}},
		{name: "relative image from cwd", spec: specs.Spec{Process: &specs.Process{Args: []string{"x.hvt"}, Cwd: "/app"}},
			image: "/app/x.hvt", args: []string{}},
		{name: "relative image without cwd", spec: specs.Spec{Process: &specs.Process{Args: []string{"../x.hvt"}}},
			image: "/x.hvt", args: []string{}},
		{name: "libs from annotation win over env", spec: specs.Spec{
			Process:     &specs.Process{Args: []string{"/s.hvt"}, Env: []string{"UAAF_LIBS=crc32"}},
			Annotations: map[string]string{AnnotationLibs: " sha256, crc32 ,sha256,,"}},
			image: "/s.hvt", args: []string{}, libs: []string{"sha256", "crc32"}},
		{name: "empty annotation means no libs", spec: specs.Spec{
			Process:     &specs.Process{Args: []string{"/s.hvt"}, Env: []string{"UAAF_LIBS=crc32"}},
			Annotations: map[string]string{AnnotationLibs: ""}},
			image: "/s.hvt", args: []string{}},
		{name: "libs from env, last one wins", spec: specs.Spec{
			Process: &specs.Process{Args: []string{"/s.hvt"}, Env: []string{"PATH=/bin", "UAAF_LIBS=a", "UAAF_LIBS=b_v2,c_d"}}},
			image: "/s.hvt", args: []string{}, libs: []string{"b_v2", "c_d"}},
		{name: "no limit", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}}, Linux: limit(0)},
			image: "/s", args: []string{}, mem: 0},
		{name: "unlimited", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}}, Linux: limit(-1)},
			image: "/s", args: []string{}, mem: 0},
		{name: "tiny limit gives 2 MiB", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}}, Linux: limit(1)},
			image: "/s", args: []string{}, mem: 2},
		{name: "odd MiB rounds down", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}}, Linux: limit(5<<20 + 1)},
			image: "/s", args: []string{}, mem: 4},
		{name: "1 GiB", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}}, Linux: limit(1 << 30)},
			image: "/s", args: []string{}, mem: 1024},
		{name: "sandbox", spec: specs.Spec{Process: &specs.Process{Args: []string{"/pause"}},
			Annotations: map[string]string{annotationContainerType: containerTypeSandbox}}, sandbox: true},
		{name: "pod container", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}},
			Annotations: map[string]string{annotationContainerType: "container"}}, image: "/s", args: []string{}},
		{name: "no process", spec: specs.Spec{}, err: true},
		{name: "no args", spec: specs.Spec{Process: &specs.Process{}}, err: true},
		{name: "empty image", spec: specs.Spec{Process: &specs.Process{Args: []string{""}}}, err: true},
		{name: "lib with slash", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}},
			Annotations: map[string]string{AnnotationLibs: "a/b"}}, err: true},
		{name: "lib starting with a dot", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}},
			Annotations: map[string]string{AnnotationLibs: ".."}}, err: true},
		{name: "lib with a dash", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}},
			Annotations: map[string]string{AnnotationLibs: "sha-256"}}, err: true},
		{name: "lib starting with a digit", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}},
			Annotations: map[string]string{AnnotationLibs: "2x"}}, err: true},
		{name: "lib of 32 bytes", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}},
			Annotations: map[string]string{AnnotationLibs: strings.Repeat("a", 32)}}, err: true},
		{name: "lib of 31 bytes", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}},
			Annotations: map[string]string{AnnotationLibs: strings.Repeat("a", 31)}},
			image: "/s", args: []string{}, libs: []string{strings.Repeat("a", 31)}},
		{name: "too many libs", spec: specs.Spec{Process: &specs.Process{Args: []string{"/s"}},
			Annotations: map[string]string{AnnotationLibs: manyLibs(512)}}, err: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := planFromSpec(&tc.spec, "ns/c")
			if tc.err {
				if !errors.Is(err, ErrBadSpec) {
					t.Fatalf("err %v, want ErrBadSpec", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.sandbox != tc.sandbox {
				t.Fatalf("sandbox %v", p.sandbox)
			}
			if tc.sandbox {
				return
			}
			s := p.session
			if s.Name != "ns/c" || s.Image != tc.image || !slices.Equal(s.Args, tc.args) ||
				s.MemMiB != tc.mem || !slices.Equal(s.Libs, tc.libs) {
				t.Errorf("got %+v, want image %q args %q mem %d libs %q", s, tc.image, tc.args, tc.mem, tc.libs)
			}
		})
	}
}

func manyLibs(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("l")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(string(rune('a' + i/26)))
	}
	return b.String()
}

func TestResolveImage(t *testing.T) {
	root := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "img", "sub"), 0o755))
	must(os.WriteFile(filepath.Join(root, "img", "a.hvt"), []byte("x"), 0o644))
	must(os.Symlink("a.hvt", filepath.Join(root, "img", "rel.hvt")))
	must(os.Symlink("../../../../../../../etc/hostname", filepath.Join(root, "img", "up.hvt")))
	must(os.Symlink("/etc/hostname", filepath.Join(root, "img", "abs.hvt")))
	realRoot, err := filepath.EvalSymlinks(root)
	must(err)
	tests := []struct {
		image string
		want  string
		err   error
	}{
		{"/img/a.hvt", filepath.Join(realRoot, "img/a.hvt"), nil},
		{"/img/rel.hvt", filepath.Join(realRoot, "img/a.hvt"), nil},
		{"/../../img/a.hvt", filepath.Join(realRoot, "img/a.hvt"), nil},
		{"/img/up.hvt", "", ErrImageEscapes},
		{"/img/abs.hvt", "", ErrImageEscapes},
		{"/img/sub", "", ErrBadSpec},
		{"/img/missing.hvt", "", ErrBadSpec},
	}
	for _, tc := range tests {
		t.Run(tc.image, func(t *testing.T) {
			got, err := resolveImage(root, tc.image)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzPlanFromSpec holds the config.json mapping to its contract on any
// input: no panic; on success a non-empty absolute clean image path, memory
// a non-negative multiple of 2, library names the daemon accepts.
func FuzzPlanFromSpec(f *testing.F) {
	seeds := []specs.Spec{
		{Process: &specs.Process{Args: []string{"/hello.hvt", "Hello"}}},
		{Process: &specs.Process{Args: []string{"rel.hvt"}, Cwd: "../x", Env: []string{"UAAF_LIBS=sha256,crc32"}}},
		{Process: &specs.Process{Args: []string{"/s.hvt"}}, Annotations: map[string]string{AnnotationLibs: "a,b,,a"}},
		{Annotations: map[string]string{annotationContainerType: containerTypeSandbox}},
	}
	for _, s := range seeds {
		b, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"process":{"args":["/a"]},"linux":{"resources":{"memory":{"limit":3145729}}}}`))
	f.Add([]byte(`{"process":{"args":["/a"]},"linux":{"resources":{"memory":{"limit":-9223372036854775808}}}}`))
	f.Add([]byte(`{"process":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeSpec(data)
		if err != nil {
			return
		}
		p, err := planFromSpec(s, "n/c")
		if err != nil || p.sandbox {
			return
		}
		ss := p.session
		if ss.Image == "" || !filepath.IsAbs(ss.Image) || filepath.Clean(ss.Image) != ss.Image {
			t.Errorf("image %q", ss.Image)
		}
		if ss.MemMiB < 0 || ss.MemMiB%2 != 0 {
			t.Errorf("mem %d", ss.MemMiB)
		}
		for _, l := range ss.Libs {
			if !libfuncs.ValidName(l) {
				t.Errorf("lib %q", l)
			}
		}
	})
}
