package daemon

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/uaaf/uaaf/hypervisor/kvm"
	"github.com/uaaf/uaaf/hypervisor/monitor"
)

// pool keeps KVM machines (a VM with vCPU 0, CPUID set) ready, so that no
// session or library instance creates one on its request path: Take hands
// out a ready machine, and a background goroutine refills the pool to its
// target size. Creating a machine here costs ~0.2–1 ms of KVM work.
// Safe for concurrent use.
type pool struct {
	sys   *kvm.System
	cpuid []kvm.CPUIDEntry2

	// shells keeps, per image template in use, guests made ahead of need
	// (monitor.Shell: memory mapped and installed in a ready VM).
	shellMu   sync.Mutex
	shells    map[*monitor.Template]chan *monitor.Shell
	perShells int

	ready  chan *kvm.Machine
	wake   chan struct{}
	done   chan struct{}
	target atomic.Int64 // how many to keep ready
	wg     sync.WaitGroup

	hits, misses atomic.Uint64
	refill       atomic.Int64 // mean ns to create one machine (EWMA)
	arrivals     atomic.Uint64
}

// maxPool bounds the pool's size whatever a policy asks for.
const maxPool = 1024

func newPool(sys *kvm.System, cpuid []kvm.CPUIDEntry2, target, perShells int) *pool {
	p := &pool{sys: sys, cpuid: cpuid, ready: make(chan *kvm.Machine, maxPool),
		wake: make(chan struct{}, 1), done: make(chan struct{}),
		shells: map[*monitor.Template]chan *monitor.Shell{}, perShells: perShells}
	p.setTarget(target)
	p.wg.Add(1)
	go p.fill()
	return p
}

// setTarget changes how many machines the pool keeps ready (clamped to
// [0, maxPool]).
func (p *pool) setTarget(n int) {
	p.target.Store(int64(min(max(n, 0), maxPool)))
	p.poke()
}

func (p *pool) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// fill creates machines until the pool holds its target, and shells of
// every template in use, then waits.
func (p *pool) fill() {
	defer p.wg.Done()
	for {
		p.fillShells()
		for int64(len(p.ready)) < p.target.Load() {
			if p.stopped() {
				return
			}
			m, err := p.create()
			if err != nil {
				break // try again when poked: Take creates its own meanwhile
			}
			select {
			case p.ready <- m:
			default:
				m.Close()
			}
		}
		select {
		case <-p.done:
			return
		case <-p.wake:
		case <-time.After(time.Second):
		}
	}
}

// stopped reports whether Close has begun.
func (p *pool) stopped() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// fillShells tops up the shell queue of every template in use.
func (p *pool) fillShells() {
	p.shellMu.Lock()
	type want struct {
		t *monitor.Template
		q chan *monitor.Shell
	}
	var ws []want
	for t, q := range p.shells {
		ws = append(ws, want{t, q})
	}
	p.shellMu.Unlock()
	for _, w := range ws {
		for len(w.q) < cap(w.q) {
			if p.stopped() {
				return
			}
			m, err := p.create()
			if err != nil {
				return
			}
			sh, err := w.t.NewShell(m)
			if err != nil {
				break // the template was closed, or KVM failed: Shell falls back
			}
			// Queued under shellMu, which forget holds to remove the queue
			// before it drains it: no shell lands in a queue nobody will
			// drain.
			p.shellMu.Lock()
			live, queued := p.shells[w.t] == w.q, false
			if live {
				select {
				case w.q <- sh:
					queued = true
				default:
				}
			}
			p.shellMu.Unlock()
			if !queued {
				sh.Close()
			}
			if !live {
				break
			}
		}
	}
}

// Shell returns a shell of t if one is ready; nil when none is. A session
// that was bound asks for t's shells with want.
func (p *pool) Shell(t *monitor.Template) *monitor.Shell {
	if p.perShells <= 0 {
		return nil
	}
	p.shellMu.Lock()
	q, ok := p.shells[t]
	p.shellMu.Unlock()
	if !ok {
		return nil
	}
	defer p.poke()
	select {
	case sh := <-q:
		p.hits.Add(1)
		p.arrivals.Add(1)
		return sh
	default:
		return nil
	}
}

// want asks for t's shells to be made ahead from now on (a session of it
// was bound, or a pre-warm); a no-op if they are already.
func (p *pool) want(t *monitor.Template) {
	if p.perShells <= 0 {
		return
	}
	p.shellMu.Lock()
	_, ok := p.shells[t]
	if !ok {
		p.shells[t] = make(chan *monitor.Shell, p.perShells)
	}
	p.shellMu.Unlock()
	if !ok {
		p.poke()
	}
}

// shellsOf returns how many shells of t are ready.
func (p *pool) shellsOf(t *monitor.Template) int {
	p.shellMu.Lock()
	defer p.shellMu.Unlock()
	return len(p.shells[t])
}

// forget drops t's shells (its image was removed, or its keep-alive ended).
func (p *pool) forget(t *monitor.Template) {
	if p == nil {
		return
	}
	p.shellMu.Lock()
	q, ok := p.shells[t]
	delete(p.shells, t)
	p.shellMu.Unlock()
	if ok {
		drainShells(q) // nothing is queued to q from now on (fillShells checks under shellMu)
	}
}

func drainShells(q chan *monitor.Shell) {
	for {
		select {
		case sh := <-q:
			sh.Close()
		default:
			return
		}
	}
}

func (p *pool) create() (*kvm.Machine, error) {
	start := time.Now()
	m, err := p.sys.NewMachine(p.cpuid)
	if err == nil {
		d := int64(time.Since(start))
		// The refill goroutine and a Take on an empty pool update it at
		// once: compare-and-swap, so neither update is lost.
		for {
			old := p.refill.Load()
			avg := d
			if old != 0 {
				avg = old + (d-old)/8
			}
			if p.refill.CompareAndSwap(old, avg) {
				break
			}
		}
	}
	return m, err
}

// Take returns a ready machine, or creates one when the pool is empty
// (hit says which). The caller owns it.
func (p *pool) Take() (m *kvm.Machine, hit bool, err error) {
	p.arrivals.Add(1)
	defer p.poke()
	select {
	case m := <-p.ready:
		p.hits.Add(1)
		return m, true, nil
	default:
	}
	p.misses.Add(1)
	m, err = p.create()
	return m, false, err
}

// Ready returns how many machines are ready now.
func (p *pool) Ready() int { return len(p.ready) }

// Close stops refilling and closes the ready machines and shells.
func (p *pool) Close() {
	close(p.done)
	p.wg.Wait()
	p.shellMu.Lock()
	for t, q := range p.shells {
		delete(p.shells, t)
		drainShells(q)
	}
	p.shellMu.Unlock()
	for {
		select {
		case m := <-p.ready:
			m.Close()
		default:
			return
		}
	}
}
