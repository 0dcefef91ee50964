package daemon

import (
	"net/http"
	"time"

	"github.com/uaaf/uaaf/session/api"
)

// scaler is a clock that runs faster than real time (sched.ScaledClock).
type scaler interface{ Scale() float64 }

// ClockScale is how many seconds of the policy clock (Options.Clock) pass
// per real second: 1 unless the clock says otherwise.
func (d *Daemon) ClockScale() float64 {
	if s, ok := d.clock.(scaler); ok {
		return s.Scale()
	}
	return 1
}

// ResidencyInfo describes every library's residency history: its
// intervals (policy clock) and memory, and its memory-time up to now.
func (d *Daemon) ResidencyInfo() api.Residency {
	now := d.clock.Now()
	out := api.Residency{Now: now, ClockScale: d.ClockScale(), Libraries: []api.LibraryResidency{}}
	for _, name := range d.residency.Libraries() {
		lr := api.LibraryResidency{Name: name, Intervals: []api.ResidencyInterval{}}
		for _, iv := range d.residency.Intervals(name) {
			lr.Intervals = append(lr.Intervals, api.ResidencyInterval{Load: iv.Load, Unload: iv.Unload, Bytes: iv.Bytes})
		}
		lr.MemoryTime = d.residency.MemoryTimeOf(name, time.Time{}, now)
		out.Libraries = append(out.Libraries, lr)
	}
	return out
}

func (d *Daemon) hResidency(w http.ResponseWriter, r *http.Request) error {
	if err := noBody(r); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d.ResidencyInfo())
	return nil
}
