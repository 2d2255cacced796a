package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Reading and watching the buckets the nodes of a cluster share (names,
// nodes, members), with consumers of the store's own making rather than
// the KV client's watcher. Both are ordered consumers of one replica, in
// memory: JetStream puts such a consumer on any one server of the
// bucket's, and a server that died or is cut off gives no sign but
// silence. The KV client's watcher takes about twenty seconds to notice
// and make a consumer elsewhere, long past a node's lease; this one asks
// for a heartbeat every watchHeartbeat, and, missing two, makes a new
// consumer from where it stopped, each try bounded by watchRetry (a
// consumer placed on a server that does not answer is never made).
//
// The buckets keep one revision per key (History 1), a marker for a key
// deleted or expired, so reading the stream is reading the keys' latest
// values: first every key there is (the state: until the consumer has
// no more pending), then every change.

const (
	watchHeartbeat = time.Second
	watchRetry     = 2 * time.Second
)

// scan calls fn with every key of bucket that has a value, and its value,
// in the bucket's order, until the values there were when it began are
// all read, within ctx. An error of fn is the bucket's content this
// version cannot use.
func (s *Store) scan(ctx context.Context, bucket string, fn func(key string, val []byte) error) error {
	t, err := s.tail(ctx, bucket, ">", func(key string, val []byte, deleted bool) error { return fn(key, val) })
	if err != nil {
		return err
	}
	t.stop()
	return nil
}

// watch calls change with every key of bucket matching keys (a KV key
// pattern) that has a value, and then with every change (deleted for a
// delete, a purge, or an expiry), from a goroutine of its own, until
// stop. It returns once change has had every value there was, within
// Config.Timeout. An error of change, about a value it cannot read,
// fails watch at start, and is left out later.
func (s *Store) watch(bucket, keys string, change func(key string, val []byte, deleted bool) error) (stop func(), err error) {
	ctx, cancel := s.timeout()
	defer cancel()
	t, err := s.tail(ctx, bucket, keys, change)
	if err != nil {
		return nil, err
	}
	return t.stop, nil
}

// tailer is a watch of a bucket; its goroutine alone touches it once
// tail returned, but for stopping and ended.
type tailer struct {
	s      *Store
	bucket string
	prefix string // a key's subject is prefix + key
	filter string
	change func(key string, val []byte, deleted bool) error

	cons      jetstream.Consumer
	next      uint64 // the stream sequence to go on from, once one was read
	delivered uint64 // the consumer's sequence of the last message read
	state     bool   // still reading the state it began with
	toRead    uint64 // of the state, how many messages the consumer had pending

	started  chan error    // the state read, or why not
	stopping chan struct{} // closed by stop
	ended    chan struct{} // closed when its goroutine ends
	once     sync.Once
}

// tail starts a watch of bucket and waits, within ctx, until it has read
// the state.
func (s *Store) tail(ctx context.Context, bucket, keys string, change func(key string, val []byte, deleted bool) error) (*tailer, error) {
	prefix := "$KV." + bucket + "."
	t := &tailer{s: s, bucket: bucket, prefix: prefix, filter: prefix + keys, change: change, state: true,
		started: make(chan error, 1), stopping: make(chan struct{}), ended: make(chan struct{})}
	if err := t.consumer(ctx); err != nil {
		return nil, fmt.Errorf("watch bucket %s: %w", bucket, err)
	}
	s.watching.Add(1)
	go t.run()
	select {
	case err := <-t.started:
		if err != nil {
			t.stop()
			return nil, err
		}
	case <-ctx.Done():
		t.stop()
		return nil, fmt.Errorf("watch bucket %s: %w: its state was not read in time", bucket, classify(ctx.Err()))
	}
	return t, nil
}

// stop ends the watch and waits for its goroutine, change's last call
// with it. It must not be called from change.
func (t *tailer) stop() {
	t.once.Do(func() { close(t.stopping) })
	<-t.ended
}

// consumer makes a consumer of the bucket from where the watch is, a try
// at a time (watchRetry each), until it has one or ctx ends.
func (t *tailer) consumer(ctx context.Context) error {
	cfg := jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverLastPerSubjectPolicy,
		AckPolicy:         jetstream.AckNonePolicy,
		FilterSubject:     t.filter,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: time.Minute, // one left behind on a server that came back
	}
	if t.next > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, t.next
	}
	stream := "KV_" + t.bucket
	for {
		try, cancel := context.WithTimeout(ctx, watchRetry)
		cons, err := t.s.js.CreateConsumer(try, stream, cfg)
		cancel()
		if err == nil {
			t.cons, t.delivered = cons, 0
			if t.state {
				t.toRead = cons.CachedInfo().NumPending
			}
			return nil
		}
		if errors.Is(err, nats.ErrConnectionClosed) {
			return classify(err)
		}
		select {
		case <-ctx.Done():
			return classify(err)
		case <-t.stopping:
			return ErrClosed
		case <-time.After(watchRetry / 10):
		}
	}
}

// run reads the stream, making a new consumer each time the one it reads
// goes silent, until stop, Close, or an error of change at start.
func (t *tailer) run() {
	defer t.s.watching.Done()
	defer close(t.ended)
	t.stateRead()
	for {
		err := t.read()
		switch {
		case err == nil: // stopped
			t.forget()
			return
		case errors.Is(err, ErrIncompatible):
			t.fail(err)
			t.forget()
			return
		case t.s.life.Err() != nil || t.s.nc.IsClosed():
			t.fail(fmt.Errorf("watch bucket %s: %w", t.bucket, ErrClosed))
			return
		}
		if err := t.consumer(t.s.life); err != nil {
			t.fail(fmt.Errorf("watch bucket %s: %w", t.bucket, err))
			return
		}
		t.stateRead()
	}
}

// stateRead ends the start of the watch when its consumer has nothing of
// the state left to read (none at all).
func (t *tailer) stateRead() {
	if t.state && t.toRead == 0 {
		t.state = false
		t.started <- nil
	}
}

// fail ends the start of the watch with err, if it was still starting.
func (t *tailer) fail(err error) {
	if t.state {
		t.state = false
		t.started <- err
	}
}

// read takes the consumer's messages until stop (nil), or until it goes
// silent, delivers out of order (make a new one) or Close.
func (t *tailer) read() error {
	msgs := make(chan jetstream.Msg, 64)
	broken := make(chan error, 1)
	gone := make(chan struct{}) // this consumer is given up: its handler must not wait
	cc, err := t.cons.Consume(func(m jetstream.Msg) {
		select {
		case msgs <- m:
		case <-gone:
		}
	}, jetstream.PullHeartbeat(watchHeartbeat), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
			errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrNoResponders) ||
			errors.Is(err, nats.ErrConnectionClosed) {
			select {
			case broken <- err:
			default:
			}
		}
	}))
	if err != nil {
		close(gone)
		return err
	}
	defer func() {
		close(gone)
		cc.Stop()
	}()
	for {
		select {
		case <-t.stopping:
			return nil
		case <-t.s.life.Done():
			return ErrClosed
		case err := <-broken:
			return err
		case m := <-msgs:
			if err := t.take(m); err != nil {
				return err
			}
		}
	}
}

// errGap is a consumer that skipped a message: JetStream's, or a
// handler's that lost one.
var errGap = errors.New("the consumer skipped a message")

// take hands one message to change.
func (t *tailer) take(m jetstream.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return err
	}
	if md.Sequence.Consumer != t.delivered+1 {
		return errGap
	}
	t.delivered, t.next = md.Sequence.Consumer, md.Sequence.Stream+1
	h := m.Headers()
	deleted := h.Get(kvOperationHeader) != "" || h.Get(jetstream.MarkerReasonHeader) != ""
	key := strings.TrimPrefix(m.Subject(), t.prefix)
	select {
	case <-t.stopping:
		return nil // stop waits: no more calls of change
	default:
	}
	if !t.state || !deleted { // a key gone before the watch began is not part of the state
		if err := t.change(key, m.Data(), deleted); err != nil && t.state {
			return t.s.incompatible(fmt.Sprintf("bucket %s, key %s", t.bucket, key), err)
		}
	}
	if t.state && (md.NumPending == 0 || md.Sequence.Consumer >= t.toRead && t.toRead > 0) {
		t.state = false
		t.started <- nil
	}
	return nil
}

// forget deletes the consumer, so that it does not wait out its
// inactivity on the server.
func (t *tailer) forget() {
	ctx, cancel := context.WithTimeout(context.Background(), watchRetry)
	defer cancel()
	_ = t.s.js.DeleteConsumer(ctx, "KV_"+t.bucket, t.cons.CachedInfo().Name)
}
