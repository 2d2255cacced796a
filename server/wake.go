package server

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// wakePipe wakes the loop from other goroutines (the password workers, a
// signal, Shutdown): a byte written to it makes the loop's poll return.
// The loop owns the read end; wake may be called from any goroutine, before
// the pipe is opened and after it is closed.
type wakePipe struct {
	r int // the read end, in the poll set; -1 when closed

	mu     sync.Mutex // guards w against use after close
	w      int
	closed bool
}

// open makes the pipe, both ends non-blocking.
func (p *wakePipe) open() error {
	var fds [2]int
	if err := unix.Pipe2(fds[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		return fmt.Errorf("wake pipe: %w", err)
	}
	p.mu.Lock()
	p.r, p.w = fds[0], fds[1]
	p.mu.Unlock()
	return nil
}

// wake makes the loop's poll return. A full pipe already guarantees a
// wake-up, so EAGAIN is fine.
func (p *wakePipe) wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed && p.w >= 0 {
		unix.Write(p.w, []byte{1})
	}
}

// drain reads what woke the loop, so the pipe is quiet until the next wake.
func (p *wakePipe) drain() {
	var b [64]byte
	for {
		n, err := unix.Read(p.r, b[:])
		if n <= 0 || err != nil {
			return
		}
	}
}

// close closes both ends; wake does nothing from then on.
func (p *wakePipe) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.w >= 0 {
		unix.Close(p.w)
		unix.Close(p.r)
		p.r, p.w = -1, -1
	}
}
