package store

import (
	"context"
	"errors"
	"hash/fnv"
	"time"
)

// The reader goroutines run the reads (Replay, Last, Page, Inbox, the
// cluster's leases, names and members) and the small writes beside the
// messages (SaveRoom, SaveSeen, ClearInbox). Each job has a key, a room,
// a user or a node, and a key's jobs always go to the same reader, which
// runs them one at a time in the order they were asked for: a user's
// ClearInbox after its Inbox, a room's later state after its earlier.
// Jobs of different keys go on side by side: each is mostly a wait for
// NATS, and a thousand users back at once (a dead node's, on the others)
// each want their history. Inbox's read is queued by the acker
// (append.go), the others by their callers.

// readers is how many reader goroutines a store runs: a dead node's
// thousands of users back on the others each read their inbox at login
// and wait for a read of their room's last message at Enter, and a read
// that waits behind hundreds of others in one reader's queue is a wait
// of seconds, though NATS is not busy.
const readers = 32

// The keys of the reader's jobs: what a job's order is kept within.
func roomJob(room string) string { return "room " + room }
func userJob(user string) string { return "user " + user }
func nodeJob(node string) string { return "node " + node }

// enqueue hands job, about key, to its reader, or refuses at once.
func (s *Store) enqueue(key string, job func()) error {
	return offer(s, s.reads[shard(key, readers)], job)
}

// shard is which of n goroutines serves key: always the same one.
func shard(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

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

func (s *Store) reader(jobs <-chan func()) {
	defer s.reading.Done()
	for job := range jobs {
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
