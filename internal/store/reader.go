package store

import (
	"context"
	"errors"
	"time"
)

// The reader goroutine runs the reads (Replay, Last, Page, Inbox) and the
// small writes beside the messages (SaveRoom, SaveSeen, ClearInbox) one
// at a time, in the order they were asked for; Inbox's read is queued by
// the acker (append.go), the others by their callers.

// enqueue hands job to the reader, or refuses at once.
func (s *Store) enqueue(job func()) error { return offer(s, s.jobs, job) }

// offer puts v on one of the store's queues without waiting: ErrClosed
// once Close began (which closes the queues under s.mu), ErrBusy when the
// queue is full.
func offer[T any](s *Store, ch chan<- T, v T) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case ch <- v:
		return nil
	default:
		return ErrBusy
	}
}

func (s *Store) reader() {
	defer s.reading.Done()
	for job := range s.jobs {
		job()
	}
}

// timeout is the context of one read or write: Config.Timeout.
func (s *Store) timeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.cfg.Timeout)
}

// startRetry is the pause between two tries of a read that Retry repeats.
const startRetry = 250 * time.Millisecond

// Retry calls read until it succeeds, fails otherwise than for want of an
// answer (ErrUnavailable, ErrTimeout), or Config.OpenTimeout has passed
// since the first try. It is for the blocking reads a server makes at its
// start, after Open: a server restarted while a NATS node is stopped or
// cut off, or while the cluster elects a leader, waits for an answer as
// Open does, rather than exiting at the first read that timed out. read
// must be safe to repeat.
func (s *Store) Retry(read func() error) error {
	deadline := time.Now().Add(s.cfg.OpenTimeout)
	for {
		err := read()
		if err == nil || !(errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTimeout)) || !time.Now().Add(startRetry).Before(deadline) {
			return err
		}
		time.Sleep(startRetry)
	}
}
