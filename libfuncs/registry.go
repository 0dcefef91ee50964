package libfuncs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/uaafabi"
)

// Sentinel errors of package libfuncs.
var (
	// ErrNotFound: no library of that name is registered or on the search path.
	ErrNotFound = errors.New("libfuncs: library not found")
	// ErrNotLibrary: the image exports no functions.
	ErrNotLibrary = errors.New("libfuncs: not a library-function image")
	// ErrPreload: the library failed while booting to its ready point.
	ErrPreload = errors.New("libfuncs: preload failed")
	// ErrReleased: Release was called more often than Acquire.
	ErrReleased = errors.New("libfuncs: library released more often than acquired")
	// ErrExists: a different image is already registered under that name.
	ErrExists = errors.New("libfuncs: name already registered")
)

// DefaultMemSize is the guest memory of one library view.
const DefaultMemSize = 4 << 20

// Config configures a Registry.
type Config struct {
	// KVMPath is the KVM device; empty means /dev/kvm.
	KVMPath string
	// MemSize is each library's guest memory; zero means DefaultMemSize.
	MemSize uint64
	// Paths are searched, in order, for NAME.hvt when a name is acquired that
	// was not preloaded.
	Paths []string
	// Console receives library console output; nil means os.Stdout.
	Console io.Writer
}

// Registry holds the preloaded libraries of one uaaf process.
type Registry struct {
	cfg Config
	sys *kvm.System

	mu   sync.Mutex // guards libs and every LibFunc's refs/pinned/dead
	libs map[string]*LibFunc

	cpuOnce sync.Once
	cpuid   []kvm.CPUIDEntry2
	cpuErr  error
}

// NewRegistry opens the KVM device and returns an empty registry.
func NewRegistry(cfg Config) (*Registry, error) {
	if cfg.MemSize == 0 {
		cfg.MemSize = DefaultMemSize
	}
	if cfg.Console == nil {
		cfg.Console = os.Stdout
	}
	if cfg.KVMPath == "" {
		cfg.KVMPath = kvm.DefaultPath
	}
	sys, err := kvm.Open(cfg.KVMPath)
	if err != nil {
		return nil, fmt.Errorf("libfuncs: %w", err)
	}
	return &Registry{cfg: cfg, sys: sys, libs: map[string]*LibFunc{}}, nil
}

// supportedCPUID is read once per registry and given to every instance.
func (r *Registry) supportedCPUID() ([]kvm.CPUIDEntry2, error) {
	r.cpuOnce.Do(func() { r.cpuid, r.cpuErr = r.sys.SupportedCPUID() })
	return r.cpuid, r.cpuErr
}

// Preload loads the library image at path under name, boots it to its ready
// point and keeps it; pin keeps it loaded while no session references it.
// Preloading a name again with the same path only updates the pin.
func (r *Registry) Preload(name, path string, pin bool) (*LibFunc, error) {
	return r.preload(name, path, pin, false)
}

// Acquire takes a reference to library name for a session, loading it from
// the search path (NAME.hvt) if it is not registered. A library loaded this
// way is not pinned.
func (r *Registry) Acquire(name string) (*LibFunc, error) {
	r.mu.Lock()
	if lf, ok := r.libs[name]; ok {
		lf.refs++
		r.mu.Unlock()
		return lf, nil
	}
	r.mu.Unlock()
	path, err := r.find(name)
	if err != nil {
		return nil, err
	}
	return r.preload(name, path, false, true)
}

// preload registers the library (loading it unless it is already there) and,
// with acquire, takes a reference in the same critical section, so a
// concurrent last Release cannot destroy it in between.
func (r *Registry) preload(name, path string, pin, acquire bool) (*LibFunc, error) {
	if !uaafabi.ValidName(name) || len(name) >= uaafabi.LibNameMax {
		return nil, fmt.Errorf("libfuncs: %q is not a valid library name (letters, digits, _; at most %d bytes)", name, uaafabi.LibNameMax-1)
	}
	take := func(lf *LibFunc) (*LibFunc, error) { // r.mu held
		if lf.Path != path {
			return nil, fmt.Errorf("%w: %s is %s, not %s", ErrExists, name, lf.Path, path)
		}
		lf.pinned = lf.pinned || pin
		if acquire {
			lf.refs++
		}
		return lf, nil
	}
	r.mu.Lock()
	if lf, ok := r.libs[name]; ok {
		defer r.mu.Unlock()
		return take(lf)
	}
	r.mu.Unlock()

	lf, err := r.load(name, path)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if other, ok := r.libs[name]; ok { // another goroutine loaded it meanwhile
		lf.destroy()
		return take(other)
	}
	r.libs[name] = lf
	return take(lf)
}

// find looks for NAME.hvt on the search path.
func (r *Registry) find(name string) (string, error) {
	if !uaafabi.ValidName(name) {
		return "", fmt.Errorf("%w: %q is not a valid library name", ErrNotFound, name)
	}
	for _, dir := range r.cfg.Paths {
		p := filepath.Join(dir, name+".hvt")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p, nil
		}
	}
	where := "no --lib-path or UAAF_LIB_PATH given"
	if len(r.cfg.Paths) > 0 {
		where = "searched " + strings.Join(r.cfg.Paths, ":")
	}
	return "", fmt.Errorf("%w: %s (no --lib %s=PATH; %s for %s.hvt)", ErrNotFound, name, name, where, name)
}

// Release drops a reference taken by Acquire. The last reference to an
// unpinned library destroys it and frees its memory.
func (r *Registry) Release(lf *LibFunc) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if lf.refs <= 0 {
		return fmt.Errorf("%w: %s", ErrReleased, lf.Name)
	}
	lf.refs--
	if lf.refs == 0 && !lf.pinned {
		delete(r.libs, lf.Name)
		lf.destroy()
	}
	return nil
}

// Unpin clears name's pin; an unreferenced library is destroyed at once.
func (r *Registry) Unpin(name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	lf, ok := r.libs[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	lf.pinned = false
	if lf.refs == 0 {
		delete(r.libs, name)
		lf.destroy()
	}
	return nil
}

// Info describes one registered library, for listings.
type Info struct {
	Name     string        `json:"name"`
	Path     string        `json:"path"`
	Refs     int           `json:"refs"`
	Pinned   bool          `json:"pinned"`
	Exports  []string      `json:"exports"`
	MemSize  uint64        `json:"mem_size"`
	Preload  time.Duration `json:"preload_ns"`
	Resident uint64        `json:"pristine_resident_bytes"`
}

// List returns the registered libraries, sorted by name.
func (r *Registry) List() []Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Info, 0, len(r.libs))
	for _, lf := range r.libs {
		out = append(out, lf.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns the registered library name, without taking a reference.
func (r *Registry) Lookup(name string) (Info, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lf, ok := r.libs[name]
	if !ok {
		return Info{}, false
	}
	return lf.info(), true
}

// Close destroys every library, referenced or not; sessions must be done.
func (r *Registry) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, lf := range r.libs {
		lf.destroy()
		delete(r.libs, name)
	}
	return r.sys.Close()
}
