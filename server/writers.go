package server

import "sync"

// Parallel writes. On loopback and on a busy host a write(2) to a TCP
// socket costs 7-15 µs, most of it the kernel's TCP and IP work (on
// loopback also the receiving side's, run in the writer's context). In
// rooms of 100 each message goes to 100 different sockets, so coalescing
// cannot save those writes, and the loop's one thread saturates near 50k
// deliveries a second while the other cores idle.
//
// A writePool lends the write system calls of one loop pass to helper
// goroutines, the way Redis's I/O threads do, and keeps the loop's
// ownership of every descriptor: the loop hands each helper a disjoint
// share of the connections to flush, flushes a share itself, and waits
// until all are done before it touches any connection again. A helper
// only calls conn.flush (the socket's write and its own output buffer);
// everything else that follows a write (errors, write interest, the buffer
// pool, closing) is done by the loop afterwards, in order. Between passes
// the helpers are parked on their channels, so the loop alone runs the
// server, and a pass with little output is written by the loop alone.

// parallelWriteMin is the fewest connections with output in one pass that
// are worth the helpers' wake-up (a few microseconds each).
const parallelWriteMin = 32

type writePool struct {
	jobs []chan []flushJob
	wg   sync.WaitGroup
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
	p := &writePool{jobs: make([]chan []flushJob, helpers)}
	for i := range p.jobs {
		ch := make(chan []flushJob)
		p.jobs[i] = ch
		go p.help(ch)
	}
	return p
}

func (p *writePool) help(jobs <-chan []flushJob) {
	for share := range jobs {
		flushShare(share)
		p.wg.Done()
	}
}

func flushShare(share []flushJob) {
	for i := range share {
		share[i].err = share[i].c.flush()
	}
}

// flush writes the output of every job's connection, in parallel, and
// sets each job's error. The loop must not use any of the connections
// until it returns.
func (p *writePool) flush(jobs []flushJob) {
	parts := len(p.jobs) + 1
	size := (len(jobs) + parts - 1) / parts
	rest := jobs
	for _, ch := range p.jobs {
		if len(rest) <= size {
			break
		}
		p.wg.Add(1)
		ch <- rest[len(rest)-size:]
		rest = rest[:len(rest)-size]
	}
	flushShare(rest)
	p.wg.Wait()
}

// stop ends the helpers.
func (p *writePool) stop() {
	if p == nil {
		return
	}
	for _, ch := range p.jobs {
		close(ch)
	}
}
