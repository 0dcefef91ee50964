package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/session/api"
)

// Config is the file `uaaf serve --config FILE` reads at start: libraries
// to preload (and pin), images to register, and where to find libraries
// that sessions import without their being preloaded. JSON, unknown fields
// refused; relative paths are relative to the file's directory. Example:
//
//	{
//	  "lib_path": ["../libfuncs/build"],
//	  "libraries": [{"name": "sha256", "path": "../libfuncs/build/sha256.hvt", "pin": true}],
//	  "images": [{"name": "demo", "path": "../guest/build/demo.hvt", "mem_mib": 8}]
//	}
type Config struct {
	LibPath   []string          `json:"lib_path,omitempty"`
	Libraries []api.LoadLibrary `json:"libraries,omitempty"`
	Images    []api.AddImage    `json:"images,omitempty"`
}

// maxConfig bounds the config file.
const maxConfig = 1 << 20

// ReadConfig reads and checks the config file at path; its relative paths
// come back resolved against its directory.
func ReadConfig(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := ParseConfig(io.LimitReader(f, maxConfig+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	for i := range c.LibPath {
		c.LibPath[i] = rel(c.LibPath[i])
	}
	for i := range c.Libraries {
		c.Libraries[i].Path = rel(c.Libraries[i].Path)
	}
	for i := range c.Images {
		c.Images[i].Path = rel(c.Images[i].Path)
	}
	return c, nil
}

// ParseConfig decodes a config: one JSON object of the fields of Config,
// each library and image with a name and a path, no name twice, names and
// memory sizes as the API's requests take them.
func ParseConfig(r io.Reader) (*Config, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if len(data) > maxConfig {
		return nil, fmt.Errorf("larger than %d bytes", maxConfig)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w", describeJSONErr(data, err))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	seen := map[string]bool{}
	for i, l := range c.Libraries {
		if l.Name == "" || l.Path == "" {
			return nil, fmt.Errorf("libraries[%d]: name and path are required", i)
		}
		if err := checkLoadLibrary(l); err != nil {
			return nil, fmt.Errorf("libraries[%d]: %s", i, message(err))
		}
		if seen["lib:"+l.Name] {
			return nil, fmt.Errorf("libraries[%d]: library %s given twice", i, l.Name)
		}
		seen["lib:"+l.Name] = true
	}
	for i, im := range c.Images {
		if im.Name == "" || im.Path == "" {
			return nil, fmt.Errorf("images[%d]: name and path are required", i)
		}
		if _, err := checkAddImage(im, hvt.DefaultMemoryMiB); err != nil {
			return nil, fmt.Errorf("images[%d]: %s", i, message(err))
		}
		if seen["img:"+im.Name] {
			return nil, fmt.Errorf("images[%d]: image %s given twice", i, im.Name)
		}
		seen["img:"+im.Name] = true
	}
	for i, p := range c.LibPath {
		if p == "" {
			return nil, fmt.Errorf("lib_path[%d] is empty", i)
		}
	}
	return &c, nil
}

// describeJSONErr adds the line of a JSON syntax or type error.
func describeJSONErr(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	return fmt.Errorf("line %d: %w", line, err)
}

// Apply loads the config's libraries and registers its images, in order;
// the first failure is returned (what was done stays).
func (d *Daemon) Apply(c *Config) error {
	for _, l := range c.Libraries {
		if _, err := d.LoadLibrary(l); err != nil {
			return fmt.Errorf("library %s: %w", l.Name, err)
		}
	}
	for _, im := range c.Images {
		if _, err := d.AddImage(im); err != nil {
			return fmt.Errorf("image %s: %w", im.Name, err)
		}
	}
	return nil
}
