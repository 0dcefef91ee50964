// Package session runs UaaF session unikernels: a session is its own view
// (EPTP index 0) plus one view per library it imports (indices 1..511),
// recorded in the session-to-function (S-F) mapping table. Sessions bind
// preloaded library functions from a registry (libvm.Registry), hold a
// reference on each for their lifetime, and call them through a switch
// backend (package switcher), which owns the views.
package session

import (
	"errors"
	"fmt"
	"sort"
	"sync"
)

// ID identifies a session in a Table.
type ID uint64

// Sentinel errors of package session.
var (
	// ErrTooManyViews: a session imports more libraries than its EPTP list holds.
	ErrTooManyViews = errors.New("session: EPTP list full")
	// ErrUnresolved: an import names a library or function that cannot be found.
	ErrUnresolved = errors.New("session: unresolved import")
	// ErrNotSession: the image is not a session (it exports functions).
	ErrNotSession = errors.New("session: not a session image")
)

// MaxLibraries is how many libraries one session can bind: the hardware
// EPTP list has 512 entries and index 0 is the session itself.
const MaxLibraries = 511

// ViewRow is one entry of a session's EPTP list in the S-F table.
type ViewRow struct {
	Index    int    `json:"index"`    // EPTP index, 1..511
	Library  string `json:"library"`  // library name
	Instance string `json:"instance"` // "none" (not started yet), "live", "discarded"
	Refs     int    `json:"refs"`     // the library's reference count now
	Warm     bool   `json:"warm"`     // the library was loaded when the session bound it
	Calls    uint64 `json:"calls"`    // calls this session made into the view
	Faults   uint64 `json:"faults"`   // calls that faulted or timed out
	Exits    uint64 `json:"vm_exits"` // VM exits of the view's instances
}

// Row is one session of the S-F table.
type Row struct {
	ID     ID        `json:"id"`
	Image  string    `json:"image"`
	Switch string    `json:"switch"`
	Views  []ViewRow `json:"views"`
}

// Table is the S-F mapping table: session ID → its EPTP list. It is safe
// for concurrent use; sessions add and remove themselves.
type Table struct {
	mu       sync.RWMutex
	next     ID
	sessions map[ID]*Session
}

// NewTable returns an empty table.
func NewTable() *Table { return &Table{sessions: map[ID]*Session{}} }

// add registers s and gives it its ID before anyone can list it. Lock
// order: the table's, then the session's.
func (t *Table) add(s *Session) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.next++
	s.mu.Lock()
	s.id = t.next
	s.mu.Unlock()
	t.sessions[t.next] = s
}

func (t *Table) remove(id ID) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.sessions, id)
}

// Lookup returns session id's row.
func (t *Table) Lookup(id ID) (Row, bool) {
	t.mu.RLock()
	s, ok := t.sessions[id]
	t.mu.RUnlock()
	if !ok {
		return Row{}, false
	}
	return s.Row(), true
}

// List returns every session's row, by ID.
func (t *Table) List() []Row {
	t.mu.RLock()
	ss := make([]*Session, 0, len(t.sessions))
	for _, s := range t.sessions {
		ss = append(ss, s)
	}
	t.mu.RUnlock()
	rows := make([]Row, 0, len(ss))
	for _, s := range ss {
		rows = append(rows, s.Row())
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	return rows
}

// Len returns how many sessions the table holds.
func (t *Table) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.sessions)
}

// planViews assigns EPTP indices to the distinct libraries of imports, in
// order of first appearance, and refuses more than MaxLibraries.
func planViews(libs []string) (map[string]int, []string, error) {
	index := map[string]int{}
	var order []string
	for _, l := range libs {
		if _, ok := index[l]; ok {
			continue
		}
		if len(order) == MaxLibraries {
			return nil, nil, fmt.Errorf("%w: the session imports more than %d libraries (%s would be number %d); the EPTP list has 512 entries and index 0 is the session",
				ErrTooManyViews, MaxLibraries, l, MaxLibraries+1)
		}
		order = append(order, l)
		index[l] = len(order)
	}
	return index, order, nil
}
