package hvt

import "errors"

// Sentinel errors of package hvt. Errors returned by the package wrap one of
// these, so callers can classify them with errors.Is.
var (
	// ErrGuestAccess: a guest-supplied pointer or length is outside guest memory.
	ErrGuestAccess = errors.New("hvt: invalid guest access")
	// ErrBadELF: the image is not an ELF executable the hvt loader accepts.
	ErrBadELF = errors.New("hvt: invalid or unsupported executable")
	// ErrNoABINote: the image has no Solo5 ABI1 note.
	ErrNoABINote = errors.New("hvt: no Solo5 ABI information found in executable")
	// ErrWrongTarget: the ABI1 note names another Solo5 target.
	ErrWrongTarget = errors.New("hvt: executable is not for the solo5-hvt target")
	// ErrABIVersion: the ABI1 note asks for an ABI version other than ABIVersion.
	ErrABIVersion = errors.New("hvt: unsupported ABI version")
	// ErrNoManifest: the image has no Solo5 MFT1 manifest note.
	ErrNoManifest = errors.New("hvt: no Solo5 manifest found in executable")
	// ErrBadManifest: the manifest fails validation.
	ErrBadManifest = errors.New("hvt: Solo5 manifest is invalid")
	// ErrBadNote: a Solo5 note is malformed (bad sizes or alignment).
	ErrBadNote = errors.New("hvt: malformed Solo5 note")
	// ErrBadSegment: a loadable segment breaks the loader's rules.
	ErrBadSegment = errors.New("hvt: invalid segment")
)

// ErrNoNote: ReadNote found no Solo5 note of the requested type. Parse reports
// it as ErrNoABINote or ErrNoManifest instead.
var ErrNoNote = errors.New("hvt: Solo5 note not found")
