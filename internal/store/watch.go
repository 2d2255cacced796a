package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Reading and watching the buckets the nodes of a cluster share. Both go
// through the KV client's watcher: an ordered consumer of the bucket's
// latest value per key, which says when it has delivered every value
// there was (a nil entry), and then goes on with every change, a delete
// or a key's expiry included (as a marker).

// scan calls fn with every key of kv that has a value, and its value, in
// the bucket's order, until the values there were when it began are all
// read. An error of fn is the bucket's content this version cannot use.
func (s *Store) scan(ctx context.Context, kv jetstream.KeyValue, bucket string, fn func(key string, val []byte) error) error {
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("read bucket %s: %w", bucket, classify(err))
	}
	defer w.Stop()
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return fmt.Errorf("read bucket %s: %w", bucket, classify(ctx.Err()))
		}
		if e == nil {
			return nil
		}
		if err := fn(e.Key(), e.Value()); err != nil {
			return s.incompatible(fmt.Sprintf("bucket %s, key %s", bucket, e.Key()), err)
		}
	}
}

// watch calls change with every key of kv matching keys (a KV key
// pattern) that has a value, and then with every change (deleted for a
// delete, a purge, or an expiry), from a goroutine of its own, until
// stop. It returns once change has had every value there was. An error
// of change, about a value it cannot read, fails watch at start, and is
// left out later.
func (s *Store) watch(kv jetstream.KeyValue, bucket, keys string, change func(key string, val []byte, deleted bool) error) (stop func(), err error) {
	// The watcher's subscription lives as long as the context it was made
	// with, so that one ends only with stop; Config.Timeout bounds the
	// start.
	ctx, cancel := context.WithCancel(context.Background())
	late := time.AfterFunc(s.cfg.Timeout, cancel)
	defer late.Stop()
	w, err := kv.Watch(ctx, keys)
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w: no answer within %v (%v)", ErrTimeout, s.cfg.Timeout, err)
		}
		cancel()
		return nil, fmt.Errorf("watch bucket %s: %w", bucket, classify(err))
	}
	var stopped atomic.Bool // no more calls of change
	started := make(chan error, 1)
	ended := make(chan struct{})
	s.watching.Add(1)
	go func() {
		defer s.watching.Done()
		defer close(ended)
		initial := true
		// Until the watcher closes its channel (stopped, or the
		// connection closed), even once stopped: its consumer's
		// goroutine waits on the channel.
		for e := range w.Updates() {
			switch {
			case stopped.Load():
			case e == nil:
				if initial {
					initial = false
					started <- nil
				}
			case initial && e.Operation() != jetstream.KeyValuePut:
				// Gone before the watch began: not part of the state.
			default:
				err := change(e.Key(), e.Value(), e.Operation() != jetstream.KeyValuePut)
				if err != nil && initial {
					stopped.Store(true)
					started <- s.incompatible(fmt.Sprintf("bucket %s, key %s", bucket, e.Key()), err)
				}
			}
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			stopped.Store(true)
			cancel()
			w.Stop()
			<-ended
		})
	}
	select {
	case err = <-started:
	case <-ended:
		err = fmt.Errorf("watch bucket %s: %w", bucket, ErrUnavailable)
	case <-ctx.Done():
		err = fmt.Errorf("watch bucket %s: %w: its state was not read within %v", bucket, ErrTimeout, s.cfg.Timeout)
	}
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}
