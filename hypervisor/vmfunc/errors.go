package vmfunc

import "errors"

// Sentinel errors of package vmfunc. Returned errors wrap one of these (test
// with errors.Is) and, for failed ioctls, the raw unix.Errno as well.
var (
	// ErrNoDevice: the device node is absent, so the uaaf module is not
	// loaded (or udev has not created /dev/uaaf).
	ErrNoDevice = errors.New("vmfunc: uaaf device unavailable")
	// ErrNotSupported: the host cannot do VMFUNC EPTP switching; the
	// wrapping error carries the module's reason (e.g. "no Intel VT-x").
	ErrNotSupported = errors.New("vmfunc: EPTP switching not supported")
	// ErrVersion: the module speaks another API version than APIVersion.
	ErrVersion = errors.New("vmfunc: uaaf module API version mismatch")
	// ErrNotAttached: the call needs an attached vCPU (Attach first).
	ErrNotAttached = errors.New("vmfunc: no vCPU attached")
	// ErrInvalidView: a view index or range list was rejected, by this
	// package before the ioctl or by the module (EINVAL, EEXIST, EACCES ...).
	ErrInvalidView = errors.New("vmfunc: invalid view")
	// ErrNoSessionView: Enable was called before view 0 (the session view,
	// DefineSessionView) was defined; the module never runs the guest in
	// KVM's own EPT, which maps every memslot.
	ErrNoSessionView = errors.New("vmfunc: session view (index 0) not defined")
	// ErrClosed: the Device was used after Close.
	ErrClosed = errors.New("vmfunc: device closed")
)
