package daemon

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/uaaf/uaaf/hypervisor/hvt"
	"github.com/uaaf/uaaf/hypervisor/monitor"
	"github.com/uaaf/uaaf/session"
	"github.com/uaaf/uaaf/session/api"
)

// image is a session image the daemon prepared: registered by name, or
// invoked by path (and cached by path, size and mtime). It holds one
// prepared template per guest memory size sessions asked for, at most
// maxTemplates of them: each costs a memfd and, in the pool, ready shells
// (a VM, a vCPU and a mapping each), and mem_mib is the request's to
// choose, so without a bound one client's sweep of sizes could take the
// daemon's file descriptors and memory. The least recently used goes; a
// template in use by a session being created is closed when that session
// has its mapping.
type image struct {
	name   string // registered name, or the path for a path image
	path   string
	memMiB int // default guest memory
	pool   *pool
	warm   *warmth

	mu    sync.Mutex
	preps map[int]*prepared // by memory size in MiB; nil once closed

	kind    string
	imports []string
	input   bool // declares block device "input"

	started atomic.Uint64 // sessions started from it
	lastUse atomic.Int64  // unix ns of the last session
}

// maxTemplates bounds the memory sizes an image keeps laid out at once.
const maxTemplates = 4

// prepared is one template of an image, with the sessions using it now.
type prepared struct {
	img     *session.Image
	users   int   // sessions between image.template and their mapping (image.mu)
	lastUse int64 // unix ns (image.mu)
	dropped bool  // evicted or its image closed: close when users is 0
}

// pathKey identifies an image file's contents for the path cache.
type pathKey struct {
	path   string
	size   int64
	mtime  time.Time
	memMiB int
}

// maxPathImages bounds the path cache; the least recently used image is
// dropped beyond it.
const maxPathImages = 64

// prepare lays the image out for sessions of memMiB.
func (d *Daemon) prepare(name, path string, memMiB int) (*image, error) {
	prep, err := session.PrepareImage(path, uint64(memMiB)<<20, d.sel.Backend)
	if err != nil {
		return nil, imageErr(err)
	}
	im := &image{name: name, path: path, memMiB: memMiB, pool: d.pool, warm: d.warm, preps: map[int]*prepared{memMiB: {img: prep}}, kind: "plain"}
	if prep.Notes.IsSession() {
		im.kind = "session"
		seen := map[string]bool{}
		for _, imp := range prep.Notes.Imports {
			if !seen[imp.Lib] {
				seen[imp.Lib] = true
				im.imports = append(im.imports, imp.Lib)
			}
		}
	}
	_, im.input = prep.Template.Image().Manifest.Lookup(inputDevice, hvt.DeviceBlock)
	return im, nil
}

// imageErr classifies an image that cannot be prepared: the user's fault.
func imageErr(err error) error {
	var me *monitor.Error
	if errors.As(err, &me) && errors.Is(err, monitor.ErrHost) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrInvalid, err)
}

// template returns the image's template for memMiB (0: its default),
// preparing it on first use, and a release the caller must call once the
// session it starts has mapped the template (or failed to).
func (im *image) template(d *Daemon, memMiB int) (*session.Image, func(), error) {
	if memMiB == 0 {
		memMiB = im.memMiB
	}
	if err := checkMemMiB(memMiB); err != nil {
		return nil, nil, err
	}
	memMiB &^= 1 // solo5-hvt rounds down to 2 MiB
	im.mu.Lock()
	defer im.mu.Unlock()
	if im.preps == nil {
		return nil, nil, fmt.Errorf("%w: image %s was removed", ErrNotFound, im.name)
	}
	p, ok := im.preps[memMiB]
	if !ok {
		prep, err := session.PrepareImage(im.path, uint64(memMiB)<<20, d.sel.Backend)
		if err != nil {
			return nil, nil, imageErr(err)
		}
		p = &prepared{img: prep}
		im.preps[memMiB] = p
		im.evict(memMiB)
	}
	p.users++
	p.lastUse = time.Now().UnixNano()
	var once sync.Once
	return p.img, func() { once.Do(func() { im.release(p) }) }, nil
}

// evict drops the least recently used templates beyond maxTemplates,
// keeping keep (im.mu held).
func (im *image) evict(keep int) {
	for len(im.preps) > maxTemplates {
		oldest, at := 0, int64(0)
		for mem, p := range im.preps {
			if mem != keep && (oldest == 0 || p.lastUse < at) {
				oldest, at = mem, p.lastUse
			}
		}
		p := im.preps[oldest]
		delete(im.preps, oldest)
		im.drop(p)
	}
}

// drop closes p now, or when its last user releases it (im.mu held).
func (im *image) drop(p *prepared) {
	p.dropped = true
	if p.users == 0 {
		im.pool.forget(p.img.Template)
		p.img.Close()
	}
}

func (im *image) release(p *prepared) {
	im.mu.Lock()
	defer im.mu.Unlock()
	if p.users--; p.users == 0 && p.dropped {
		im.pool.forget(p.img.Template)
		p.img.Close()
	}
}

// templates returns how many templates the image holds.
func (im *image) templates() int {
	im.mu.Lock()
	defer im.mu.Unlock()
	return len(im.preps)
}

// close drops every template: those in use close when released.
func (im *image) close() {
	if im.warm != nil {
		im.warm.forget(im) // before im.mu: warmth locks first
	}
	im.mu.Lock()
	defer im.mu.Unlock()
	for _, p := range im.preps {
		im.drop(p)
	}
	im.preps = nil
}

// coolShells drops the shells the pool keeps of each of im's templates;
// the next session of a template asks for them again.
func (im *image) coolShells() {
	im.mu.Lock()
	defer im.mu.Unlock()
	for _, p := range im.preps {
		im.pool.forget(p.img.Template)
	}
}

// warmShells asks the pool to make shells of im's default template ahead
// again (a pre-warm).
func (im *image) warmShells() {
	im.mu.Lock()
	defer im.mu.Unlock()
	if p, ok := im.preps[im.memMiB]; ok {
		im.pool.want(p.img.Template)
	}
}

func (im *image) describe() api.Image {
	out := api.Image{Name: im.name, Path: im.path, Kind: im.kind, Imports: im.imports, MemMiB: im.memMiB,
		Input: im.input, Sessions: int(im.started.Load())}
	if out.Imports == nil {
		out.Imports = []string{}
	}
	im.mu.Lock()
	for _, p := range im.preps {
		out.Memory += p.img.Template.Resident()
		out.Shells += im.pool.shellsOf(p.img.Template)
	}
	im.mu.Unlock()
	out.Cool = im.warm != nil && im.warm.cooled(im)
	return out
}

// AddImage registers the image at path under name, laid out once.
func (d *Daemon) AddImage(req api.AddImage) (api.Image, error) {
	mem, err := checkAddImage(req, d.opts.MemMiB)
	if err != nil {
		return api.Image{}, err
	}
	path, err := absPath(req.Path)
	if err != nil {
		return api.Image{}, err
	}
	d.mu.Lock()
	if old, ok := d.images[req.Name]; ok {
		d.mu.Unlock()
		if old.path == path && old.memMiB == mem {
			return old.describe(), nil
		}
		return api.Image{}, fmt.Errorf("%w: image %s is %s; remove it first", ErrConflict, req.Name, old.path)
	}
	d.mu.Unlock()
	im, err := d.prepare(req.Name, path, mem&^1)
	if err != nil {
		return api.Image{}, err
	}
	d.mu.Lock()
	if _, ok := d.images[req.Name]; ok { // registered meanwhile
		d.mu.Unlock()
		im.close()
		return api.Image{}, fmt.Errorf("%w: image %s registered concurrently", ErrConflict, req.Name)
	}
	d.images[req.Name] = im
	d.mu.Unlock()
	d.events.publish(api.Event{Type: "image.added", Image: req.Name, Detail: path})
	d.log.Info("image added", "image", req.Name, "path", path, "kind", im.kind, "mem_mib", im.memMiB)
	return im.describe(), nil
}

// validImageName: a name that cannot be mistaken for a path.
func validImageName(s string) bool {
	if s == "" || len(s) > 64 || looksLikePath(s) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Images lists the registered images.
func (d *Daemon) Images() []api.Image { return d.imageList() }

func (d *Daemon) imageList() []api.Image {
	d.mu.Lock()
	ims := make([]*image, 0, len(d.images))
	for _, k := range slices.Sorted(maps.Keys(d.images)) {
		ims = append(ims, d.images[k])
	}
	d.mu.Unlock()
	out := make([]api.Image, len(ims))
	for i, im := range ims {
		out[i] = im.describe()
	}
	return out
}

// Image describes one registered image.
func (d *Daemon) Image(name string) (api.Image, error) {
	d.mu.Lock()
	im, ok := d.images[name]
	d.mu.Unlock()
	if !ok {
		return api.Image{}, fmt.Errorf("%w: image %s", ErrNotFound, name)
	}
	return im.describe(), nil
}

// RemoveImage forgets a registered image; sessions already started from
// it run on.
func (d *Daemon) RemoveImage(name string) error {
	d.mu.Lock()
	im, ok := d.images[name]
	delete(d.images, name)
	d.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: image %s", ErrNotFound, name)
	}
	im.close()
	d.events.publish(api.Event{Type: "image.removed", Image: name})
	return nil
}

// resolveImage finds what a session names: a registered image, or a path
// (prepared once and cached while the file's size and mtime stay), and its
// template for memMiB, with the release image.template returns.
func (d *Daemon) resolveImage(ref string, memMiB int) (*image, *session.Image, func(), error) {
	if ref == "" {
		return nil, nil, nil, fmt.Errorf("%w: image is required (a registered name or a path)", ErrInvalid)
	}
	d.mu.Lock()
	im, ok := d.images[ref]
	d.mu.Unlock()
	if !ok {
		if !looksLikePath(ref) {
			return nil, nil, nil, fmt.Errorf("%w: no image named %s (register it with POST /v1/images, or give a path)", ErrNotFound, ref)
		}
		var err error
		if im, err = d.pathImage(ref, memMiB); err != nil {
			return nil, nil, nil, err
		}
	}
	prep, release, err := im.template(d, memMiB)
	if err != nil {
		return nil, nil, nil, err
	}
	im.lastUse.Store(time.Now().UnixNano())
	return im, prep, release, nil
}

// pathImage returns the cached image of file path, preparing it if the
// file is new or changed.
func (d *Daemon) pathImage(ref string, memMiB int) (*image, error) {
	path, err := absPath(ref)
	if err != nil {
		return nil, err
	}
	size, mtime, err := statFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, ref, pathReasonOf(err))
	}
	if memMiB == 0 {
		memMiB = d.opts.MemMiB
	}
	key := pathKey{path: path, size: size, mtime: mtime, memMiB: memMiB &^ 1}
	d.mu.Lock()
	im, ok := d.paths[key]
	d.mu.Unlock()
	if ok {
		return im, nil
	}
	if err := checkMemMiB(memMiB); err != nil {
		return nil, err
	}
	if im, err = d.prepare(path, path, memMiB&^1); err != nil {
		return nil, err
	}
	// Used now: the newest entry must not be the one evicted below (it
	// was, with lastUse 0, and its session then found it removed).
	im.lastUse.Store(time.Now().UnixNano())
	d.mu.Lock()
	defer d.mu.Unlock()
	if other, ok := d.paths[key]; ok {
		im.close()
		return other, nil
	}
	d.paths[key] = im
	if len(d.paths) > maxPathImages {
		d.evictPathImages()
	}
	return im, nil
}

// evictPathImages drops the least recently used path images beyond the
// bound (d.mu held).
func (d *Daemon) evictPathImages() {
	type kv struct {
		k  pathKey
		at int64
	}
	all := make([]kv, 0, len(d.paths))
	for k, im := range d.paths {
		all = append(all, kv{k, im.lastUse.Load()})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at < all[j].at })
	for _, e := range all[:len(all)-maxPathImages] {
		d.paths[e.k].close()
		delete(d.paths, e.k)
	}
}
