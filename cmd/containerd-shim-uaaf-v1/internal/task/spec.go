package task

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/uaaf/uaaf/cmd/containerd-shim-uaaf-v1/internal/daemon"
	"github.com/uaaf/uaaf/libfuncs"
)

// How a bundle's OCI runtime spec (config.json) becomes a session.
const (
	// AnnotationLibs names the library functions a session needs, comma
	// separated ("sha256,crc32"). It takes precedence over EnvLibs.
	AnnotationLibs = "uaaf.io/libs"
	// EnvLibs is the process environment variable that carries the same list
	// when the annotation is absent; `uaaf oci` images set it in their config,
	// so an image names its libraries wherever it runs.
	EnvLibs = "UAAF_LIBS"

	// annotationContainerType and containerTypeSandbox are the CRI plugin's
	// marking of a pod's sandbox ("pause") container.
	annotationContainerType = "io.kubernetes.cri.container-type"
	containerTypeSandbox    = "sandbox"

	// maxLibs is how many libraries one session can bind (views 1..511).
	maxLibs = 511
)

// Errors of the spec mapping (wrapped, test with errors.Is).
var (
	// ErrBadSpec: config.json cannot describe a uaaf session.
	ErrBadSpec = errors.New("bundle spec cannot run as a uaaf session")
	// ErrImageEscapes: the image path leads outside the container's rootfs.
	ErrImageEscapes = errors.New("image path leaves the container rootfs")
)

// plan is what a bundle asks for: a pod sandbox placeholder, or a session.
type plan struct {
	// sandbox is true for a Kubernetes pod's sandbox container, which runs
	// no session (see Service).
	sandbox bool
	// session is the session to create; Image is still the path inside the
	// rootfs (resolveImage makes it a host path).
	session daemon.SessionSpec
}

// readSpec reads and decodes BUNDLE/config.json.
func readSpec(bundle string) (*specs.Spec, error) {
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read bundle spec: %w", err)
	}
	return decodeSpec(data)
}

// decodeSpec decodes an OCI runtime spec.
func decodeSpec(data []byte) (*specs.Spec, error) {
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: config.json: %w", ErrBadSpec, err)
	}
	return &s, nil
}

// planFromSpec maps an OCI runtime spec onto a session:
//
//   - process.args[0] is the session's .hvt image, a path inside the rootfs
//     (relative paths are taken from process.cwd); the other args are the
//     session's arguments;
//   - linux.resources.memory.limit (bytes) gives the guest memory in MiB,
//     rounded down to a multiple of 2 MiB and at least 2; no limit lets the
//     daemon choose;
//   - the annotation uaaf.io/libs, else the env variable UAAF_LIBS, names
//     the libraries;
//   - a CRI sandbox container is a placeholder without session.
//
// name becomes SessionSpec.Name.
func planFromSpec(s *specs.Spec, name string) (plan, error) {
	if s.Annotations[annotationContainerType] == containerTypeSandbox {
		return plan{sandbox: true}, nil
	}
	if s.Process == nil || len(s.Process.Args) == 0 || s.Process.Args[0] == "" {
		return plan{}, fmt.Errorf("%w: no process args: the first must be the session's .hvt image", ErrBadSpec)
	}
	image := s.Process.Args[0]
	if !filepath.IsAbs(image) {
		cwd := s.Process.Cwd
		if cwd == "" {
			cwd = "/"
		}
		image = filepath.Join("/", cwd, image)
	}
	libList, fromAnnotation := s.Annotations[AnnotationLibs]
	if !fromAnnotation {
		libList = envValue(s.Process.Env, EnvLibs)
	}
	libs, err := parseLibs(libList)
	if err != nil {
		return plan{}, err
	}
	var limit int64
	if s.Linux != nil && s.Linux.Resources != nil && s.Linux.Resources.Memory != nil &&
		s.Linux.Resources.Memory.Limit != nil {
		limit = *s.Linux.Resources.Memory.Limit
	}
	return plan{session: daemon.SessionSpec{
		Name:   name,
		Image:  filepath.Clean(image),
		Args:   append([]string(nil), s.Process.Args[1:]...),
		MemMiB: memMiB(limit),
		Libs:   libs,
	}}, nil
}

// memMiB turns an OCI memory limit in bytes into guest MiB: 0 for no limit
// (0 or negative), else the limit rounded down to 2 MiB and at least 2.
func memMiB(limit int64) int {
	if limit <= 0 {
		return 0
	}
	mib := limit >> 20
	mib &^= 1
	if mib < 2 {
		mib = 2
	}
	return int(min(mib, int64(1)<<30))
}

// parseLibs splits a comma-separated library list, dropping blanks and
// repeats. A name must be one the daemon accepts (libfuncs.ValidName: an
// identifier of letters, digits and '_', not starting with a digit, at most
// 31 bytes), so a bad one fails here, before a session is made.
func parseLibs(list string) ([]string, error) {
	var libs []string
	seen := map[string]bool{}
	for _, f := range strings.Split(list, ",") {
		name := strings.TrimSpace(f)
		if name == "" || seen[name] {
			continue
		}
		if !libfuncs.ValidName(name) {
			return nil, fmt.Errorf("%w: library name %q: use letters, digits and '_', not starting with a digit, at most 31 bytes", ErrBadSpec, name)
		}
		seen[name] = true
		libs = append(libs, name)
	}
	if len(libs) > maxLibs {
		return nil, fmt.Errorf("%w: %d libraries, at most %d", ErrBadSpec, len(libs), maxLibs)
	}
	return libs, nil
}

// envValue returns the value of NAME in an OCI env list (the last one wins,
// as in execve's environment handling by most programs).
func envValue(env []string, name string) string {
	var v string
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}

// resolveImage turns image, a path inside rootfs, into the host path of a
// regular file inside rootfs. Symlinks are followed, but one that leads out
// of rootfs (an absolute link is resolved on the host, so it does too) is
// refused with ErrImageEscapes: the daemon reads the file as root.
func resolveImage(rootfs, image string) (string, error) {
	root, err := filepath.EvalSymlinks(rootfs)
	if err != nil {
		return "", fmt.Errorf("rootfs: %w", err)
	}
	host := filepath.Join(root, filepath.Clean("/"+image))
	real, err := filepath.EvalSymlinks(host)
	if err != nil {
		return "", fmt.Errorf("%w: image %s: %w", ErrBadSpec, image, err)
	}
	if real != root && !strings.HasPrefix(real, root+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %s resolves to %s", ErrImageEscapes, image, real)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("%w: image %s: %w", ErrBadSpec, image, err)
	}
	if !fi.Mode().IsRegular() {
		return "", fmt.Errorf("%w: image %s is not a regular file", ErrBadSpec, image)
	}
	return real, nil
}
