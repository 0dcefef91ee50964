package oci

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	digest "github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// readTar returns a tarball's regular files by name.
func readTar(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		files[h.Name] = b
	}
}

// blob returns the blob a descriptor names, checking its size and digest.
func blob(t *testing.T, files map[string][]byte, d ocispec.Descriptor) []byte {
	t.Helper()
	b, ok := files["blobs/sha256/"+d.Digest.Encoded()]
	if !ok {
		t.Fatalf("blob %s missing", d.Digest)
	}
	if int64(len(b)) != d.Size || digest.FromBytes(b) != d.Digest {
		t.Fatalf("blob %s: size %d (want %d), digest %s", d.Digest, len(b), d.Size, digest.FromBytes(b))
	}
	return b
}

func TestBuild(t *testing.T) {
	hvt := filepath.Join(t.TempDir(), "hello.hvt")
	content := []byte("\x7fELF pretend session image")
	if err := os.WriteFile(hvt, content, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		opts    Options
		path    string
		libsEnv []string
	}{
		{"defaults", Options{Name: "uaaf.local/hello:1"}, "/hello.hvt", nil},
		{"args, libs, nested path", Options{Name: "uaaf.local/demo", Path: "/opt/uaaf/demo.hvt",
			Args: []string{"a", "b c"}, Libs: []string{"sha256", "crc32"}}, "/opt/uaaf/demo.hvt", []string{"UAAF_LIBS=sha256,crc32"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			img, err := Build(&buf, hvt, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			files := readTar(t, buf.Bytes())
			var layout ocispec.ImageLayout
			if err := json.Unmarshal(files["oci-layout"], &layout); err != nil || layout.Version != "1.0.0" {
				t.Fatalf("oci-layout %q %v", files["oci-layout"], err)
			}
			var idx ocispec.Index
			if err := json.Unmarshal(files["index.json"], &idx); err != nil {
				t.Fatal(err)
			}
			if idx.SchemaVersion != 2 || len(idx.Manifests) != 1 {
				t.Fatalf("index %+v", idx)
			}
			md := idx.Manifests[0]
			if md.Digest != img.Manifest.Digest || md.Annotations[AnnotationImageName] != tc.opts.Name ||
				md.Platform == nil || md.Platform.OS != "linux" || md.Platform.Architecture != "amd64" {
				t.Fatalf("index entry %+v", md)
			}
			var man ocispec.Manifest
			if err := json.Unmarshal(blob(t, files, md), &man); err != nil {
				t.Fatal(err)
			}
			if man.MediaType != ocispec.MediaTypeImageManifest || len(man.Layers) != 1 ||
				man.Config.Digest != img.Config.Digest || man.Layers[0].Digest != img.Layer.Digest {
				t.Fatalf("manifest %+v", man)
			}
			var cfg ocispec.Image
			if err := json.Unmarshal(blob(t, files, man.Config), &cfg); err != nil {
				t.Fatal(err)
			}
			layer := blob(t, files, man.Layers[0])
			if len(cfg.RootFS.DiffIDs) != 1 || cfg.RootFS.DiffIDs[0] != digest.FromBytes(layer) {
				t.Errorf("diff_ids %v, layer %s", cfg.RootFS.DiffIDs, digest.FromBytes(layer))
			}
			if !slices.Equal(cfg.Config.Entrypoint, []string{tc.path}) || !slices.Equal(cfg.Config.Cmd, tc.opts.Args) ||
				!slices.Equal(cfg.Config.Env, tc.libsEnv) || cfg.OS != "linux" || cfg.Architecture != "amd64" {
				t.Errorf("config %+v", cfg.Config)
			}
			if len(tc.opts.Libs) > 0 && (cfg.Config.Labels[LabelLibs] != "sha256,crc32" || man.Annotations[LabelLibs] != "sha256,crc32") {
				t.Errorf("libs label %q annotation %q", cfg.Config.Labels[LabelLibs], man.Annotations[LabelLibs])
			}
			inLayer := readTar(t, layer)
			if got := inLayer[tc.path[1:]]; !bytes.Equal(got, content) {
				t.Errorf("layer file %s: %q (layer has %d files)", tc.path, got, len(inLayer))
			}
			// Deterministic.
			var again bytes.Buffer
			if _, err := Build(&again, hvt, tc.opts); err != nil || !bytes.Equal(again.Bytes(), buf.Bytes()) {
				t.Errorf("second build differs (%v)", err)
			}
		})
	}
}

func TestBuildRefuses(t *testing.T) {
	hvt := filepath.Join(t.TempDir(), "x.hvt")
	if err := os.WriteFile(hvt, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]Options{
		"no name":       {},
		"space in name": {Name: "a b"},
		"relative path": {Name: "x", Path: "x.hvt"},
		"root path":     {Name: "x", Path: "/"},
		"unclean path":  {Name: "x", Path: "/a/../x.hvt"},
		"bad lib":       {Name: "x", Libs: []string{"a,b"}},
	} {
		if _, err := Build(io.Discard, hvt, o); !errors.Is(err, ErrOptions) {
			t.Errorf("%s: %v, want ErrOptions", name, err)
		}
	}
	if _, err := Build(io.Discard, filepath.Join(t.TempDir(), "missing"), Options{Name: "x"}); err == nil {
		t.Error("missing .hvt accepted")
	}
}

func TestTagOf(t *testing.T) {
	for ref, want := range map[string]string{
		"uaaf.local/hello:1":            "1",
		"uaaf.local/hello":              "latest",
		"localhost:5000/a/b":            "latest",
		"localhost:5000/a/b:v2":         "v2",
		"x/y:t@sha256:0123456789abcdef": "t",
	} {
		if got := tagOf(ref); got != want {
			t.Errorf("tagOf(%q) = %q, want %q", ref, got, want)
		}
	}
}
