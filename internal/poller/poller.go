// Package poller waits for readiness on many file descriptors, with poll(2)
// (New, NewPoll) or, on Linux, epoll(7) (NewEpoll), behind one interface.
//
// The poll(2) implementation keeps one persistent pollfd slice and an index
// from descriptor to slot, so adding, removing and changing interest are
// O(1) and a Wait does not rebuild anything: the slice is handed to the
// kernel as is. Its Wait still costs O(N) in the kernel; epoll's costs
// O(ready).
package poller

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Event is the readiness of one descriptor after Wait.
type Event struct {
	Fd int
	// Readable: data, EOF or a pending connection can be read without blocking.
	Readable bool
	// Writable: a write will not block.
	Writable bool
	// Hangup or Err: the peer is gone or the descriptor has an error. They are
	// reported whatever the interest, so a caller must act on them (read to
	// find the error, or stop polling the descriptor) or Wait returns at once.
	Hangup bool
	Err    bool
}

// Poller is a set of descriptors with their interests. It is not safe for
// concurrent use: one goroutine owns it.
type Poller interface {
	// Len returns the number of descriptors in the set.
	Len() int
	// Has reports whether fd is in the set.
	Has(fd int) bool
	// Add puts fd in the set with read interest.
	Add(fd int) error
	// SetRead turns read interest on or off. Unknown descriptors are ignored.
	SetRead(fd int, on bool)
	// SetWrite turns write interest on or off. Unknown descriptors are ignored.
	SetWrite(fd int, on bool)
	// Remove takes fd out of the set; call it before closing fd. Removing an
	// unknown descriptor does nothing.
	Remove(fd int)
	// Wait blocks until at least one descriptor is ready or the timeout
	// passes (a negative timeout waits forever) and appends the ready
	// descriptors to events[:0]. An interrupted wait (EINTR) returns no
	// events and no error. Readiness is level-triggered.
	Wait(timeout time.Duration, events []Event) ([]Event, error)
	// Close releases what the poller holds (not the descriptors in it).
	Close() error
}

// Poll is the poll(2) Poller.
type Poll struct {
	fds   []unix.PollFd
	index map[int]int // fd -> slot in fds
}

// New returns an empty poll(2) Poller, the default.
func New() Poller { return NewPoll() }

// NewPoll returns an empty poll(2) Poller.
func NewPoll() *Poll {
	return &Poll{index: make(map[int]int)}
}

// Close does nothing: a Poll holds no descriptor.
func (p *Poll) Close() error { return nil }

// waitMillis converts a Wait timeout for the kernel.
func waitMillis(timeout time.Duration) int {
	if timeout < 0 {
		return -1
	}
	// Round up so a deadline 0.4ms away does not become a busy loop of
	// zero-timeout polls.
	return int((timeout + time.Millisecond - 1) / time.Millisecond)
}

// Len returns the number of descriptors in the set.
func (p *Poll) Len() int { return len(p.fds) }

// Has reports whether fd is in the set.
func (p *Poll) Has(fd int) bool {
	_, ok := p.index[fd]
	return ok
}

// Add puts fd in the set with read interest.
func (p *Poll) Add(fd int) error {
	if fd < 0 {
		return fmt.Errorf("poller: add: bad descriptor %d", fd)
	}
	if _, ok := p.index[fd]; ok {
		return fmt.Errorf("poller: add: descriptor %d already present", fd)
	}
	p.index[fd] = len(p.fds)
	p.fds = append(p.fds, unix.PollFd{Fd: int32(fd), Events: unix.POLLIN})
	return nil
}

// SetRead turns read interest on or off. Unknown descriptors are ignored.
func (p *Poll) SetRead(fd int, on bool) { p.set(fd, unix.POLLIN, on) }

// SetWrite turns write interest on or off. Unknown descriptors are ignored.
func (p *Poll) SetWrite(fd int, on bool) { p.set(fd, unix.POLLOUT, on) }

func (p *Poll) set(fd int, bit int16, on bool) {
	i, ok := p.index[fd]
	if !ok {
		return
	}
	if on {
		p.fds[i].Events |= bit
	} else {
		p.fds[i].Events &^= bit
	}
}

// Remove takes fd out of the set (swapping the last slot into its place).
// Removing an unknown descriptor does nothing.
func (p *Poll) Remove(fd int) {
	i, ok := p.index[fd]
	if !ok {
		return
	}
	last := len(p.fds) - 1
	if i != last {
		p.fds[i] = p.fds[last]
		p.index[int(p.fds[i].Fd)] = i
	}
	p.fds = p.fds[:last]
	delete(p.index, fd)
}

// Wait blocks until at least one descriptor is ready or the timeout passes
// (a negative timeout waits forever) and appends the ready descriptors to
// events[:0]. An interrupted wait (EINTR) returns no events and no error.
func (p *Poll) Wait(timeout time.Duration, events []Event) ([]Event, error) {
	events = events[:0]
	ms := waitMillis(timeout)
	// The kernel sets every entry's Revents, so nothing is reset here.
	n, err := unix.Poll(p.fds, ms)
	if err != nil {
		if errors.Is(err, unix.EINTR) {
			return events, nil
		}
		return events, fmt.Errorf("poll: %w", err)
	}
	for i := 0; i < len(p.fds) && n > 0; i++ {
		r := p.fds[i].Revents
		if r == 0 {
			continue
		}
		n--
		events = append(events, Event{
			Fd:       int(p.fds[i].Fd),
			Readable: r&(unix.POLLIN|unix.POLLPRI) != 0,
			Writable: r&unix.POLLOUT != 0,
			Hangup:   r&unix.POLLHUP != 0,
			Err:      r&(unix.POLLERR|unix.POLLNVAL) != 0,
		})
	}
	return events, nil
}
