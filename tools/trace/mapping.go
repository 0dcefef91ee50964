package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// DefaultImage is the session image every function runs under the default
// mapping: guest/build/demo.hvt, which imports the four shipped libraries.
const DefaultImage = "demo"

// ShippedLibraries are the library functions uaaf ships (libfuncs/), sorted.
var ShippedLibraries = []string{"base64", "crc32", "sha256", "sort"}

// Mapping says which session image each function runs and which library
// functions each app uses. See the package documentation for its file
// format. A Mapping is read-only once made and safe for concurrent use.
type Mapping struct {
	image     string
	byHash    map[string]string // HashFunction → image
	ranks     []rankRule        // sorted, disjoint
	apps      map[string][]string
	libraries []string // nil: spread over ShippedLibraries
}

type rankRule struct {
	from, to int
	image    string
}

// mappingFile is the JSON form of a Mapping.
type mappingFile struct {
	Image          string              `json:"image"`
	FunctionImages map[string]string   `json:"function_images"`
	RankImages     map[string]string   `json:"rank_images"`
	AppLibraries   map[string][]string `json:"app_libraries"`
	Libraries      []string            `json:"libraries"`
}

// DefaultMapping returns the mapping of the file {}: every function runs
// DefaultImage; every app uses a subset of ShippedLibraries chosen by hash.
func DefaultMapping() *Mapping { return &Mapping{image: DefaultImage} }

// LoadMapping reads a mapping file.
func LoadMapping(path string) (*Mapping, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	return ParseMapping(path, bytes.NewReader(b))
}

// ParseMapping reads a mapping in the JSON format of the package doc; name
// is used in error messages. Unknown fields, empty or ill-formed names and
// overlapping rank ranges are errors wrapping ErrMalformed.
func ParseMapping(name string, r io.Reader) (*Mapping, error) {
	var f mappingFile
	dec := json.NewDecoder(io.LimitReader(r, 64<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformed, name, err)
	}
	if _, err := dec.Token(); err != io.EOF { // More() lets a stray } or ] through
		return nil, fmt.Errorf("%w: %s: data after the JSON object", ErrMalformed, name)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrMalformed, name, fmt.Sprintf(format, args...))
	}
	m := &Mapping{image: DefaultImage, byHash: f.FunctionImages, apps: f.AppLibraries, libraries: f.Libraries}
	if f.Image != "" {
		m.image = f.Image
	}
	if !validName(m.image) {
		return nil, bad("image %q is not a name", m.image)
	}
	for h, im := range f.FunctionImages {
		if h == "" || !validName(im) {
			return nil, bad("function_images[%q] = %q: want a hash and an image name", h, im)
		}
	}
	for spec, im := range f.RankImages {
		from, to, err := parseRange(spec, 1, MaxRows)
		if err != nil || !validName(im) {
			return nil, bad("rank_images[%q] = %q: want \"N\" or \"N-M\" (1 ≤ N ≤ M) and an image name", spec, im)
		}
		m.ranks = append(m.ranks, rankRule{from, to, im})
	}
	slices.SortFunc(m.ranks, func(a, b rankRule) int { return a.from - b.from })
	for i := 1; i < len(m.ranks); i++ {
		if a, b := m.ranks[i-1], m.ranks[i]; b.from <= a.to {
			return nil, bad("rank_images: ranges %d-%d and %d-%d overlap", a.from, a.to, b.from, b.to)
		}
	}
	for app, libs := range f.AppLibraries {
		if app == "" {
			return nil, bad("app_libraries: empty app hash")
		}
		if err := checkLibs(libs); err != nil {
			return nil, bad("app_libraries[%q]: %v", app, err)
		}
	}
	if err := checkLibs(f.Libraries); err != nil {
		return nil, bad("libraries: %v", err)
	}
	return m, nil
}

func checkLibs(libs []string) error {
	for i, l := range libs {
		if !validName(l) {
			return fmt.Errorf("%q is not a library name", l)
		}
		if slices.Contains(libs[:i], l) {
			return fmt.Errorf("%q listed twice", l)
		}
	}
	return nil
}

// validName accepts image and library names: letters, digits, '-', '_', '.'
// (not only dots), as file names NAME.hvt allow.
func validName(s string) bool {
	if s == "" || strings.Trim(s, ".") == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// parseRange parses "N" or "N-M" with lo ≤ N ≤ M ≤ hi.
func parseRange(s string, lo, hi int) (from, to int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	from, err = strconv.Atoi(a)
	if err != nil {
		return 0, 0, err
	}
	to = from
	if isRange {
		if to, err = strconv.Atoi(b); err != nil {
			return 0, 0, err
		}
	}
	if from < lo || to < from || to > hi {
		return 0, 0, fmt.Errorf("%d-%d not within %d-%d", from, to, lo, hi)
	}
	return from, to, nil
}

// Image returns the session image f runs: by its HashFunction, else by its
// Rank, else the default image.
func (m *Mapping) Image(f *Function) string {
	if im, ok := m.byHash[f.Key.Function]; ok {
		return im
	}
	i, found := slices.BinarySearchFunc(m.ranks, f.Rank, func(r rankRule, rank int) int {
		switch {
		case r.to < rank:
			return -1
		case r.from > rank:
			return 1
		}
		return 0
	})
	if found {
		return m.ranks[i].image
	}
	return m.image
}

// Libraries returns the library functions app uses: its app_libraries
// entry, else the file's libraries, else a subset of ShippedLibraries
// chosen by the app's hash (see the package doc). The slice is shared: do
// not modify it.
func (m *Mapping) Libraries(app AppKey) []string {
	if libs, ok := m.apps[app.App]; ok {
		return libs
	}
	if m.libraries != nil {
		return m.libraries
	}
	return spread(app.App)
}

// spreadSets are the 15 non-empty subsets of ShippedLibraries, indexed by
// bit mask − 1.
var spreadSets = func() [][]string {
	var sets [][]string
	for mask := 1; mask < 1<<len(ShippedLibraries); mask++ {
		var s []string
		for i, l := range ShippedLibraries {
			if mask&(1<<i) != 0 {
				s = append(s, l)
			}
		}
		sets = append(sets, slices.Clip(s))
	}
	return sets
}()

// spread picks subset FNV-1a-64(app) mod 15 of ShippedLibraries.
func spread(app string) []string {
	h := fnv.New64a()
	h.Write([]byte(app))
	return spreadSets[h.Sum64()%uint64(len(spreadSets))]
}
