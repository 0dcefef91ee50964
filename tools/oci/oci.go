// Package oci packs a uaaf session image (.hvt) into an OCI image layout
// tarball that `ctr image import` (containerd 1.6 and later) accepts, so a
// session can be run by containerd's uaaf runtime without a registry.
//
// The image has one uncompressed layer holding the .hvt at Options.Path;
// its config's Entrypoint is that path and its Cmd the session's arguments,
// which is how the uaaf shim finds both (process.args[0] is the image). The
// libraries the session needs go into the config's Env as UAAF_LIBS (which
// the shim reads when the container has no uaaf.io/libs annotation), and
// into a config label and a manifest annotation uaaf.io/libs for people and
// tools that inspect the image.
//
// The output is deterministic: the same inputs give the same digests.
package oci

import (
	"archive/tar"
	"bytes"
	_ "crypto/sha256" // registers the hash go-digest uses
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Keys the image carries for the uaaf runtime.
const (
	// LabelLibs is the config label and manifest annotation naming the
	// session's libraries ("sha256,crc32").
	LabelLibs = "uaaf.io/libs"
	// EnvLibs is the config Env variable with the same list, which the shim
	// reads.
	EnvLibs = "UAAF_LIBS"
	// AnnotationImageName is the index annotation containerd's importer
	// takes the image name from.
	AnnotationImageName = "io.containerd.image.name"
)

// ErrOptions: the options cannot make an image.
var ErrOptions = errors.New("oci: bad options")

// Options describe the image.
type Options struct {
	// Name is the image reference containerd stores it under, e.g.
	// "uaaf.local/hello:latest". Required.
	Name string
	// Path is where the .hvt sits in the image's rootfs; default "/" plus
	// the file's base name.
	Path string
	// Args are the session's arguments (the config's Cmd).
	Args []string
	// Libs name the library functions the session needs.
	Libs []string
	// Created is the image's creation time; zero means the Unix epoch, which
	// keeps the output reproducible.
	Created time.Time
}

// Image tells what Build wrote.
type Image struct {
	// Name is Options.Name.
	Name string
	// Manifest, Config and Layer describe the three blobs.
	Manifest, Config, Layer ocispec.Descriptor
}

// BuildFile writes the image of the .hvt at hvtPath to the file out.
func BuildFile(out, hvtPath string, opts Options) (Image, error) {
	f, err := os.Create(out)
	if err != nil {
		return Image{}, fmt.Errorf("oci: %w", err)
	}
	img, err := Build(f, hvtPath, opts)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("oci: %w", cerr)
	}
	if err != nil {
		os.Remove(out)
	}
	return img, err
}

// Build writes the OCI image layout tarball of the .hvt at hvtPath to w.
func Build(w io.Writer, hvtPath string, opts Options) (Image, error) {
	hvt, err := os.ReadFile(hvtPath)
	if err != nil {
		return Image{}, fmt.Errorf("oci: session image: %w", err)
	}
	if opts.Path == "" {
		opts.Path = "/" + filepath.Base(hvtPath)
	}
	if err := check(&opts); err != nil {
		return Image{}, err
	}
	created := opts.Created
	if created.IsZero() {
		created = time.Unix(0, 0)
	}
	created = created.UTC()

	layer, err := layerTar(opts.Path, hvt, created)
	if err != nil {
		return Image{}, err
	}
	layerDesc := descriptor(ocispec.MediaTypeImageLayer, layer)

	libs := strings.Join(opts.Libs, ",")
	cfg := ocispec.Image{
		Created:  &created,
		Platform: ocispec.Platform{Architecture: "amd64", OS: "linux"},
		Config: ocispec.ImageConfig{
			Entrypoint: []string{opts.Path},
			Cmd:        opts.Args,
			WorkingDir: "/",
		},
		RootFS:  ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{layerDesc.Digest}},
		History: []ocispec.History{{Created: &created, CreatedBy: "uaaf oci " + path.Base(opts.Path)}},
	}
	var annotations map[string]string
	if libs != "" {
		cfg.Config.Env = []string{EnvLibs + "=" + libs}
		cfg.Config.Labels = map[string]string{LabelLibs: libs}
		annotations = map[string]string{LabelLibs: libs}
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return Image{}, fmt.Errorf("oci: config: %w", err)
	}
	cfgDesc := descriptor(ocispec.MediaTypeImageConfig, cfgJSON)

	man := ocispec.Manifest{
		Versioned:   specs.Versioned{SchemaVersion: 2},
		MediaType:   ocispec.MediaTypeImageManifest,
		Config:      cfgDesc,
		Layers:      []ocispec.Descriptor{layerDesc},
		Annotations: annotations,
	}
	manJSON, err := json.Marshal(man)
	if err != nil {
		return Image{}, fmt.Errorf("oci: manifest: %w", err)
	}
	manDesc := descriptor(ocispec.MediaTypeImageManifest, manJSON)

	indexEntry := manDesc
	indexEntry.Platform = &ocispec.Platform{Architecture: "amd64", OS: "linux"}
	indexEntry.Annotations = map[string]string{
		AnnotationImageName:       opts.Name,
		ocispec.AnnotationRefName: tagOf(opts.Name),
	}
	idx := ocispec.Index{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: ocispec.MediaTypeImageIndex,
		Manifests: []ocispec.Descriptor{indexEntry},
	}
	idxJSON, err := json.Marshal(idx)
	if err != nil {
		return Image{}, fmt.Errorf("oci: index: %w", err)
	}
	layoutJSON, err := json.Marshal(ocispec.ImageLayout{Version: ocispec.ImageLayoutVersion})
	if err != nil {
		return Image{}, fmt.Errorf("oci: layout: %w", err)
	}

	tw := tar.NewWriter(w)
	files := []struct {
		name string
		data []byte
	}{
		{ocispec.ImageLayoutFile, layoutJSON},
		{ocispec.ImageIndexFile, idxJSON},
		{blobPath(manDesc), manJSON},
		{blobPath(cfgDesc), cfgJSON},
		{blobPath(layerDesc), layer},
	}
	dirs := []string{"blobs/", "blobs/sha256/"}
	for _, d := range dirs {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d, Mode: 0o755, ModTime: created, Format: tar.FormatPAX}); err != nil {
			return Image{}, fmt.Errorf("oci: write: %w", err)
		}
	}
	for _, f := range files {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: 0o644, Size: int64(len(f.data)), ModTime: created, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return Image{}, fmt.Errorf("oci: write: %w", err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return Image{}, fmt.Errorf("oci: write: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return Image{}, fmt.Errorf("oci: write: %w", err)
	}
	return Image{Name: opts.Name, Manifest: manDesc, Config: cfgDesc, Layer: layerDesc}, nil
}

func check(o *Options) error {
	if o.Name == "" || strings.ContainsAny(o.Name, " \t\n") {
		return fmt.Errorf("%w: image name %q", ErrOptions, o.Name)
	}
	if !path.IsAbs(o.Path) || path.Clean(o.Path) != o.Path || o.Path == "/" {
		return fmt.Errorf("%w: path in image %q: want a clean absolute file path", ErrOptions, o.Path)
	}
	for _, l := range o.Libs {
		if l == "" || strings.ContainsAny(l, ", /") {
			return fmt.Errorf("%w: library name %q", ErrOptions, l)
		}
	}
	return nil
}

// layerTar returns a tar holding data at p (and its parent directories).
func layerTar(p string, data []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	rel := strings.TrimPrefix(p, "/")
	parts := strings.Split(rel, "/")
	for i := 1; i < len(parts); i++ {
		dir := strings.Join(parts[:i], "/") + "/"
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: mtime, Format: tar.FormatPAX}); err != nil {
			return nil, fmt.Errorf("oci: layer: %w", err)
		}
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: rel, Mode: 0o644, Size: int64(len(data)), ModTime: mtime, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("oci: layer: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return nil, fmt.Errorf("oci: layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("oci: layer: %w", err)
	}
	return buf.Bytes(), nil
}

func descriptor(mediaType string, data []byte) ocispec.Descriptor {
	return ocispec.Descriptor{MediaType: mediaType, Digest: digest.FromBytes(data), Size: int64(len(data))}
}

func blobPath(d ocispec.Descriptor) string {
	return path.Join(ocispec.ImageBlobsDir, d.Digest.Algorithm().String(), d.Digest.Encoded())
}

// tagOf returns the tag of a reference ("latest" when it has none).
func tagOf(ref string) string {
	name := ref
	if i := strings.LastIndex(name, "@"); i >= 0 {
		name = name[:i]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[i+1:]
	}
	return "latest"
}
