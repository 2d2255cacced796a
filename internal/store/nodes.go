package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Nodes. Each node of a cluster keeps a lease, the key of its id in the
// nodes bucket, written with a TTL of its own (JetStream's per-message
// TTL) and written again every third of it. A node that stops writing it
// (killed, cut off from NATS) loses it once the TTL has gone by: the
// bucket's leader removes the key and leaves a marker, which every
// watcher sees as the node's end. So a lease expired is the cluster's
// one verdict that a node is dead, the same on every node.
//
// Each write after the first is a compare-and-set on the revision of the
// one before: it fails if the key expired meanwhile (its marker is the
// latest revision now) or another process wrote it (a restart of the
// node under the same id). Either way the node has lost its lease, for
// everyone else too, and is told so (lost), as it is when it cannot
// write it for a whole TTL: it must then give up its names, since other
// nodes may give them out.
//
// A survivor that sees a node's lease end claims the cleanup after it,
// cleanup.<node> in the same bucket, with a create: exactly one wins.

// cleanupTTL is how long a claim on cleaning up after a dead node stays:
// long enough that every survivor sees the node's end (even one cut off
// for a while) while it is there, so that no second one cleans up.
const cleanupTTL = 10 * time.Minute

// cleanupPrefix starts a cleanup claim's key; a node id has no '.', so
// no lease's key starts with it.
const cleanupPrefix = "cleanup."

// CheckNode refuses a node id that is not safe in a subject and a key
// (chat.node.<node>.takeover, the nodes bucket's key, an Owner's Node):
// only ASCII letters, digits, '-' and '_'. The store refuses the others
// at once, with this error; a server can check its own id with it before
// it starts.
func CheckNode(node string) error {
	if node == "" {
		return fmt.Errorf("store: no node id")
	}
	for _, r := range node {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("store: node id %q has %q: only letters, digits, '-' and '_' may be in a node id", node, r)
		}
	}
	return nil
}

// KeepLease writes node's lease, with info (the node's own, opaque to the
// store) and ttl (at least a second: JetStream counts whole seconds, and
// a fraction is rounded up), and keeps it from one goroutine of the
// store, writing it again every ttl/3, until stop. It blocks for the
// first write, which takes the lease whatever the key held: a node
// restarted with the same id has a new lease. It also drops a claim on
// cleaning up after an earlier run of this id, so that a survivor can
// clean up after this run too.
//
// lost is called once, from that goroutine, with an ErrLeaseLost, when
// the lease could not be written for ttl (a tenth less: the node gives
// its names up before the others can see the lease expire) or was found
// expired or written by another process; the lease is no longer kept
// then. stop ends it: it deletes the key (so that watchers know at once)
// if it still holds the lease, waiting for that (Config.Timeout at most),
// and must not be called from lost. Close ends it too, leaving the key
// to expire.
func (s *Store) KeepLease(node string, info []byte, ttl time.Duration, lost func(error)) (stop func(), err error) {
	if err := CheckNode(node); err != nil {
		return nil, err
	}
	if ttl < time.Second {
		return nil, fmt.Errorf("store: lease of node %s: a ttl of %v; JetStream's is a second at least", node, ttl)
	}
	l := &lease{s: s, node: node, info: bytes.Clone(info), ttl: ttl, lost: lost,
		stopping: make(chan struct{}), ended: make(chan struct{})}
	ctx, cancel := s.timeout()
	defer cancel()
	sent := time.Now()
	rev, err := s.putTTL(ctx, nodesBucket, node, l.info, ttl, nil)
	if err != nil {
		return nil, fmt.Errorf("lease of node %s: %w", node, classify(err))
	}
	if e, err := s.latest(ctx, nodesBucket, cleanupPrefix+node); err == nil && e != nil && !e.deleted {
		// Left for cleanupTTL, and gone before anyone needs it if this
		// fails.
		_ = s.deleteKey(ctx, s.nodesKV, cleanupPrefix+node, e.revision)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, ErrClosed
	}
	s.leasing.Add(1)
	go l.keep(rev, sent)
	var once sync.Once
	return func() {
		once.Do(func() { close(l.stopping) })
		<-l.ended
	}, nil
}

// lease is a lease kept; its goroutine alone touches it after
// KeepLease.
type lease struct {
	s        *Store
	node     string
	info     []byte
	ttl      time.Duration
	lost     func(error)
	stopping chan struct{} // closed by stop
	ended    chan struct{} // closed when its goroutine ends
}

// keep writes the lease every ttl/3, rev the revision of the last write,
// sent when it was sent (the TTL counts from a moment after), until stop,
// Close or the lease is lost.
func (l *lease) keep(rev uint64, sent time.Time) {
	defer l.s.leasing.Done()
	defer close(l.ended)
	every := l.ttl / 3
	// When the node takes its lease as lost if it could not write it: a
	// tenth before the TTL, so that no timer late by less than that lets
	// another node see it expire first.
	margin := l.ttl / 10
	tick := time.NewTimer(every)
	defer tick.Stop()
	// Why the last write failed; a tick late enough (the process
	// stopped) loses the lease with none failing.
	late := errors.New("no write was tried in time")
	failed := late
	for {
		select {
		case <-l.stopping:
			ctx, cancel := l.s.timeout()
			_ = l.s.deleteKey(ctx, l.s.nodesKV, l.node, rev)
			cancel()
			return
		case <-l.s.life.Done():
			return
		case <-tick.C:
		}
		until := sent.Add(l.ttl - margin)
		if !time.Now().Before(until) {
			l.lost(fmt.Errorf("%w: node %s could not write it for %v: %w", ErrLeaseLost, l.node, l.ttl, failed))
			return
		}
		at := time.Now()
		ctx, cancel := context.WithTimeout(l.s.life, min(every, until.Sub(at)))
		next, err := l.s.putTTL(ctx, nodesBucket, l.node, l.info, l.ttl, &rev)
		if conflict(err) {
			err = l.landed(ctx, &rev, err)
		}
		cancel()
		switch {
		case err == nil:
			rev, sent, failed = next, at, late
			tick.Reset(every)
		case errors.Is(err, ErrLeaseLost):
			l.lost(err)
			return
		default:
			failed = classify(err)
			tick.Reset(min(every, time.Until(until)))
		}
	}
}

// landed tells a write of the lease refused for its revision (err) that
// an earlier write of this node stored after it gave up on it from the
// lease lost: the key expired meanwhile (a marker is its latest revision)
// or another process wrote it. For the first, it moves *rev to that
// write's, and the next write, soon, says when the lease was kept last.
func (l *lease) landed(ctx context.Context, rev *uint64, err error) error {
	e, gerr := l.s.latest(ctx, nodesBucket, l.node)
	switch {
	case gerr != nil:
		return gerr
	case e != nil && !e.deleted && e.revision > *rev && bytes.Equal(e.value, l.info):
		*rev = e.revision
		return errors.New("a write of the lease given up on was stored")
	case e == nil || e.deleted:
		return fmt.Errorf("%w: node %s's lease expired: %w", ErrLeaseLost, l.node, err)
	}
	return fmt.Errorf("%w: node %s's lease was written by another process: %w", ErrLeaseLost, l.node, err)
}

// putTTL writes key of bucket with a TTL (rounded up to whole seconds,
// as JetStream counts them), if its latest revision is still *rev (0: no
// revision at all), or whatever it is if rev is nil; the revision
// written.
func (s *Store) putTTL(ctx context.Context, bucket, key string, val []byte, ttl time.Duration, rev *uint64) (uint64, error) {
	m := nats.NewMsg("$KV." + bucket + "." + key)
	m.Data = val
	opts := []jetstream.PublishOpt{jetstream.WithMsgTTL((ttl + time.Second - 1).Truncate(time.Second))}
	if rev != nil {
		opts = append(opts, jetstream.WithExpectLastSequencePerSubject(*rev))
	}
	ack, err := s.js.PublishMsg(ctx, m, opts...)
	if err != nil {
		return 0, err
	}
	return ack.Sequence, nil
}

// WatchNodes calls fn with every node that has a lease, and then with
// every change, one at a time from a NATS goroutine, in the bucket's
// order, until stop is called: alive false (info nil) when a lease expired or was
// ended, alive true with the lease's info when one was taken, or taken
// again with other info (a node restarted with the same id). A lease
// written again as it was is no change. It returns once fn has had every
// lease there was. fn should hand the change over and return quickly.
// stop waits for fn to return, and must not be called from fn.
func (s *Store) WatchNodes(fn func(node string, info []byte, alive bool)) (stop func(), err error) {
	seen := make(map[string][]byte) // the leases as fn was last told; the watch's goroutine's
	// "*": one token, the leases' keys, not the cleanup claims'.
	return s.watch(nodesBucket, "*", func(key string, val []byte, deleted bool, _ uint64) error {
		last, alive := seen[key]
		switch {
		case deleted && !alive:
			return nil
		case deleted:
			delete(seen, key)
			fn(key, nil, false)
		case alive && bytes.Equal(last, val):
			return nil
		default:
			seen[key] = val
			fn(key, val, true)
		}
		return nil
	})
}

// ClaimCleanup claims the cleanup after node, dead (its lease ended),
// asynchronously: done is called once, from a registrar goroutine, with
// won true for exactly one of the claimants on any nodes, false for the
// others, until the claim expires (cleanupTTL) or node takes a lease
// again. An error (ErrUnavailable, ErrTimeout) leaves it unknown whether
// this claim won: another node may clean up, or nobody. It never blocks:
// a full queue returns ErrBusy, a closed store ErrClosed, and then done is
// not called.
func (s *Store) ClaimCleanup(node string, done func(won bool, err error)) error {
	if err := CheckNode(node); err != nil {
		return err
	}
	key := cleanupPrefix + node
	return s.register(key, func() {
		ctx, cancel := s.timeout()
		defer cancel()
		var won bool
		err := settle(ctx, func() error {
			e, err := s.latest(ctx, nodesBucket, key)
			switch {
			case err != nil:
				return classify(err)
			case e != nil && !e.deleted:
				return nil // another's
			}
			var rev uint64
			if e != nil {
				rev = e.revision
			}
			_, err = s.putTTL(ctx, nodesBucket, key, nil, cleanupTTL, &rev)
			switch {
			case conflict(err):
				return errAgain
			case err != nil:
				return classify(err)
			}
			won = true
			return nil
		})
		if err != nil {
			err = fmt.Errorf("claim the cleanup after node %s: %w", node, err)
		}
		done(won, err)
	})
}

// Lease reads node's lease from the bucket's leader, and calls done with
// its info from a reader goroutine, nil when node holds none (it
// expired, was ended, or never was). Unlike the watch's view it cannot be
// behind: a node that took its lease again after the watch saw it end
// has one. It never blocks: a full queue returns ErrBusy, a closed store
// ErrClosed, and then done is not called.
func (s *Store) Lease(node string, done func(info []byte, err error)) error {
	if err := CheckNode(node); err != nil {
		return err
	}
	return s.enqueue(nodeJob(node), func() {
		ctx, cancel := s.timeout()
		defer cancel()
		e, err := s.latest(ctx, nodesBucket, node)
		switch {
		case err != nil:
			done(nil, fmt.Errorf("lease of node %s: %w", node, classify(err)))
		case e == nil || e.deleted:
			done(nil, nil)
		default:
			done(e.value, nil)
		}
	})
}
