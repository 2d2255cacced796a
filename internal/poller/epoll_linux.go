package poller

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Epoll is the epoll(7) Poller (Linux). It is level-triggered, like poll(2),
// so the two are interchangeable; a Wait costs O(ready descriptors) rather
// than O(all), and an interest change that changes nothing makes no system
// call.
type Epoll struct {
	epfd     int
	interest map[int]uint32 // fd -> events registered with the kernel
	buf      []unix.EpollEvent
}

// NewEpoll returns an empty epoll Poller; Close releases its descriptor.
func NewEpoll() (*Epoll, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	return &Epoll{epfd: fd, interest: make(map[int]uint32), buf: make([]unix.EpollEvent, 128)}, nil
}

// Close closes the epoll descriptor.
func (p *Epoll) Close() error {
	if p.epfd < 0 {
		return nil
	}
	err := unix.Close(p.epfd)
	p.epfd = -1
	return err
}

// Len returns the number of descriptors in the set.
func (p *Epoll) Len() int { return len(p.interest) }

// Has reports whether fd is in the set.
func (p *Epoll) Has(fd int) bool {
	_, ok := p.interest[fd]
	return ok
}

// Add puts fd in the set with read interest.
func (p *Epoll) Add(fd int) error {
	if fd < 0 {
		return fmt.Errorf("poller: add: bad descriptor %d", fd)
	}
	if _, ok := p.interest[fd]; ok {
		return fmt.Errorf("poller: add: descriptor %d already present", fd)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("poller: add %d: epoll_ctl: %w", fd, err)
	}
	p.interest[fd] = unix.EPOLLIN
	return nil
}

// SetRead turns read interest on or off. Unknown descriptors are ignored.
func (p *Epoll) SetRead(fd int, on bool) { p.set(fd, unix.EPOLLIN, on) }

// SetWrite turns write interest on or off. Unknown descriptors are ignored.
func (p *Epoll) SetWrite(fd int, on bool) { p.set(fd, unix.EPOLLOUT, on) }

func (p *Epoll) set(fd int, bit uint32, on bool) {
	cur, ok := p.interest[fd]
	if !ok {
		return
	}
	next := cur &^ bit
	if on {
		next = cur | bit
	}
	if next == cur {
		return
	}
	ev := unix.EpollEvent{Events: next, Fd: int32(fd)}
	// It cannot fail for a registered, open descriptor; the interest kept
	// here follows the kernel's.
	if unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, fd, &ev) == nil {
		p.interest[fd] = next
	}
}

// Remove takes fd out of the set. Removing an unknown descriptor does
// nothing.
func (p *Epoll) Remove(fd int) {
	if _, ok := p.interest[fd]; !ok {
		return
	}
	delete(p.interest, fd)
	// EBADF if fd was closed already (the kernel dropped it then).
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// Wait blocks until at least one descriptor is ready or the timeout passes
// (a negative timeout waits forever) and appends the ready descriptors to
// events[:0]. An interrupted wait (EINTR) returns no events and no error.
// Descriptors beyond one call's buffer stay ready and come next call.
func (p *Epoll) Wait(timeout time.Duration, events []Event) ([]Event, error) {
	events = events[:0]
	if want := min(max(len(p.interest), 128), 4096); len(p.buf) < want {
		p.buf = make([]unix.EpollEvent, want)
	}
	n, err := unix.EpollWait(p.epfd, p.buf, waitMillis(timeout))
	if err != nil {
		if errors.Is(err, unix.EINTR) {
			return events, nil
		}
		return events, fmt.Errorf("epoll_wait: %w", err)
	}
	for _, e := range p.buf[:n] {
		r := e.Events
		events = append(events, Event{
			Fd:       int(e.Fd),
			Readable: r&(unix.EPOLLIN|unix.EPOLLPRI) != 0,
			Writable: r&unix.EPOLLOUT != 0,
			Hangup:   r&unix.EPOLLHUP != 0,
			Err:      r&unix.EPOLLERR != 0,
		})
	}
	return events, nil
}
