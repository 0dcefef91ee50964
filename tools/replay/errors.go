package replay

import "errors"

// Sentinel errors of package replay.
var (
	// ErrUsage: an option or policy list is not valid.
	ErrUsage = errors.New("replay: invalid option")
	// ErrSetup: the replay cannot start (an image or library file missing,
	// the daemon refusing an image, a daemon that does not start).
	ErrSetup = errors.New("replay: setup failed")
	// ErrAborted: the daemon went away or refused requests as malformed
	// during a replay; its results would mean nothing.
	ErrAborted = errors.New("replay: aborted")
)
