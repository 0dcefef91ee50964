package switcher

import (
	"errors"
	"fmt"
	"sync"

	"github.com/uaaf/uaaf/hypervisor/uaafabi"
	"github.com/uaaf/uaaf/hypervisor/vmfunc"
)

// Selection is the switch backend chosen for a process, with the reason,
// made once (Select) and handed to every session's backend (New). For
// vmfunc it holds the device opened and probed while selecting: the first
// session's backend takes it over, later ones open their own (each session
// attaches its own vCPU).
type Selection struct {
	// Backend is the chosen mechanism.
	Backend uaafabi.Backend
	// Why says, in one line, what was chosen and why.
	Why string

	path string
	mu   sync.Mutex     // guards dev
	dev  *vmfunc.Device // the probed device, until a backend takes it
}

// Exit returns the selection of the exit backend, which needs nothing from
// the host.
func Exit() *Selection {
	return &Selection{Backend: uaafabi.BackendExit, Why: "exit (requested)"}
}

// Select resolves a --switch request (auto, exit or vmfunc) for this host,
// probing the uaaf device at path (vmfunc.DefaultPath if empty) once.
// Asking for vmfunc where it cannot run is an error wrapping ErrUnavailable
// with the reason; auto then picks exit and says why in Why.
func Select(request, path string) (*Selection, error) {
	if path == "" {
		path = vmfunc.DefaultPath
	}
	switch request {
	case "exit":
		return Exit(), nil
	case "", "auto", "vmfunc":
	default:
		return nil, fmt.Errorf("switcher: unknown --switch %q (want auto, exit or vmfunc)", request)
	}
	dev, err := probe(path)
	switch {
	case err == nil && request == "vmfunc":
		return &Selection{Backend: uaafabi.BackendVMFUNC, Why: "vmfunc (requested)", path: path, dev: dev}, nil
	case err == nil:
		return &Selection{Backend: uaafabi.BackendVMFUNC, Why: "vmfunc (auto: the uaaf module reports EPTP switching)", path: path, dev: dev}, nil
	case request == "vmfunc":
		return nil, err
	}
	return &Selection{Backend: uaafabi.BackendExit, Why: "exit (auto: " + err.Error() + ")"}, nil
}

// Probe reports why the vmfunc backend cannot run here (an error wrapping
// ErrUnavailable), or nil when the kernel module at path (vmfunc.DefaultPath
// if empty) says the host can do EPTP switching.
func Probe(path string) error {
	if path == "" {
		path = vmfunc.DefaultPath
	}
	dev, err := probe(path)
	if err != nil {
		return err
	}
	return dev.Close()
}

// probe opens the kernel module's device and checks that it reports EPTP
// switching; errors wrap ErrUnavailable with the module's reason.
func probe(path string) (*vmfunc.Device, error) {
	dev, err := vmfunc.Open(path)
	if errors.Is(err, vmfunc.ErrNoDevice) {
		// No module: where the host itself rules VMFUNC out, say so rather
		// than advise loading a module that could not help.
		if why := NoVMFUNC(Host()); why != "" {
			return nil, fmt.Errorf("%w: vmfunc: %s", ErrUnavailable, why)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	caps, err := dev.Caps()
	if err == nil {
		err = caps.Err()
	}
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("%w: vmfunc: %w", ErrUnavailable, err)
	}
	return dev, nil
}

// device returns the probed device the first time, then a newly opened
// one (the module's capabilities are the host's: they were checked once).
func (s *Selection) device() (*vmfunc.Device, error) {
	s.mu.Lock()
	dev := s.dev
	s.dev = nil
	s.mu.Unlock()
	if dev != nil {
		return dev, nil
	}
	if s.path == "" {
		return nil, fmt.Errorf("%w: vmfunc: no device was probed (use Select)", ErrUnavailable)
	}
	dev, err := vmfunc.Open(s.path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return dev, nil
}

// Close releases the probed device if no backend took it.
func (s *Selection) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dev == nil {
		return nil
	}
	err := s.dev.Close()
	s.dev = nil
	return err
}
