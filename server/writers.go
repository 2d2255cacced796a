package server

import (
	"sync"
	"sync/atomic"
)

// Parallel writes. A write(2) to a TCP socket costs microseconds, most of
// it the kernel's TCP and IP work (on loopback also the receiving side's,
// run in the writer's context). In rooms of 100 each message goes to 100
// different sockets, so coalescing cannot save those writes, and the
// loop's one thread saturates while the other cores idle.
//
// A writePool lends the write system calls of one loop pass to helper
// goroutines, the way Redis's I/O threads do, and keeps the loop's
// ownership of every descriptor: while the loop waits, each connection of
// the pass is flushed by exactly one of the loop and the helpers, and the
// loop touches none of them again until all are done. A helper only calls
// conn.flush (the socket's write and its own output buffer); everything
// else that follows a write (errors, write interest, the buffer pool,
// closing) is done by the loop afterwards, in order. Between passes the
// helpers are parked, so the loop alone runs the server, and a pass with
// little output is written by the loop alone.
//
// The work is shared, not split: the loop and the helpers take a few
// connections at a time from one counter until none are left. A split in
// fixed shares would make the loop wait for a helper's whole share whenever
// the helper's thread has not yet got a CPU (on a machine whose cores are
// busy, for a time slice or more). So the loop writes whatever the helpers
// have not taken, and waits only for the chunks they are in the middle of.

// parallelWriteMin is the fewest connections with output in one pass that
// are worth the helpers' wake-up (a few microseconds each).
const parallelWriteMin = 32

// writeChunk is how many connections the loop or a helper takes at a time:
// few, so that a helper preempted in the middle of its chunk holds up the
// loop for little.
const writeChunk = 4

type writePool struct {
	wake []chan struct{} // one per helper, holding at most one wake-up

	// The pass being written. jobs and next are set by the loop while no
	// helper is in (open false, active 0) and published by open.
	mu     sync.Mutex
	done   sync.Cond // signalled when the last helper leaves a closed pass
	open   bool      // helpers may join
	active int       // helpers inside
	jobs   []flushJob
	next   atomic.Int64 // index of the next job to take
}

// flushJob is one connection to flush and, afterwards, how it went.
type flushJob struct {
	c   *conn
	err error
}

// newWritePool starts helpers goroutines; nil when helpers is below 1
// (the loop then writes everything itself).
func newWritePool(helpers int) *writePool {
	if helpers < 1 {
		return nil
	}
	p := &writePool{wake: make([]chan struct{}, helpers)}
	p.done.L = &p.mu
	for i := range p.wake {
		ch := make(chan struct{}, 1)
		p.wake[i] = ch
		go p.help(ch)
	}
	return p
}

// help joins every pass it is woken for, if that pass is still open. A
// wake-up that comes late finds the pass closed (or joins a later one,
// which is as good).
func (p *writePool) help(wake <-chan struct{}) {
	for range wake {
		p.mu.Lock()
		if !p.open {
			p.mu.Unlock()
			continue
		}
		p.active++
		jobs := p.jobs
		p.mu.Unlock()

		p.take(jobs)

		p.mu.Lock()
		p.active--
		if p.active == 0 && !p.open {
			p.done.Signal()
		}
		p.mu.Unlock()
	}
}

// take flushes chunks of jobs until every chunk has been taken.
func (p *writePool) take(jobs []flushJob) {
	for {
		end := p.next.Add(writeChunk)
		start := end - writeChunk
		if start >= int64(len(jobs)) {
			return
		}
		for i := start; i < min(end, int64(len(jobs))); i++ {
			jobs[i].err = jobs[i].c.flush()
		}
	}
}

// flush writes the output of every job's connection, in parallel, and
// sets each job's error. The loop must not use any of the connections
// until it returns.
func (p *writePool) flush(jobs []flushJob) {
	p.mu.Lock()
	p.jobs = jobs
	p.next.Store(0)
	p.open = true
	p.mu.Unlock()
	for _, ch := range p.wake {
		select {
		case ch <- struct{}{}:
		default: // already has a wake-up it has not taken
		}
	}

	p.take(jobs)

	p.mu.Lock()
	p.open = false
	for p.active > 0 {
		p.done.Wait()
	}
	p.jobs = nil
	p.mu.Unlock()
}

// stop ends the helpers.
func (p *writePool) stop() {
	if p == nil {
		return
	}
	for _, ch := range p.wake {
		close(ch)
	}
}
