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

// Following a stream: the rooms' (Follow), or a bucket's the nodes of a
// cluster share (names, nodes, members: watch, scan), with consumers of
// the store's own making rather than the client's ordered consumer or KV
// watcher. Both read through an ephemeral consumer of one replica, in
// memory, which JetStream puts on any one server of the stream's; and a
// server that died or is cut off gives no sign but silence. The client's
// ordered consumer waits ten seconds for a heartbeat, and as long for
// each new consumer it asks for; with its server cut off, a follower got
// nothing for more than forty seconds (TestFollowGoesOnPastAServerCutOff
// before this), and the KV client's watcher saw a lease end twenty
// seconds late. A tail asks for a heartbeat every watchHeartbeat and,
// missing two, makes a new consumer from where it stopped, each try
// bounded by watchRetry: a consumer JetStream puts on a server that does
// not answer is never made, and the next try goes elsewhere.
//
// The messages are taken, one at a time, on the consumer's own NATS
// goroutine, as the client's ordered consumer does: a tail's goroutine
// only makes its consumers.
//
// The buckets keep one revision per key (History 1), a marker for a key
// deleted or expired, so reading a bucket's stream is reading the keys'
// latest values: first every key there is (the state: until the
// consumer has no more pending), then every change.

const (
	watchHeartbeat = time.Second
	watchRetry     = 2 * time.Second
)

// tailer follows a stream from a stream sequence, or a bucket from its
// state.
type tailer struct {
	s       *Store
	stream  string
	filters []string
	what    string // for errors: "bucket names", "stream ROOMS"
	// take handles one message; an error ends the tail while it reads the
	// state (and is left out after).
	take func(m jetstream.Msg, md *jetstream.MsgMetadata) error

	// mu keeps the consumer's handler and stop apart: take is never
	// called once stop has begun, nor with a message of a consumer given
	// up.
	mu        sync.Mutex
	stopped   bool
	gen       int // the consumer's; its handler's messages count while it is current
	cons      jetstream.Consumer
	next      uint64 // the stream sequence to go on from; 0: the bucket's state
	delivered uint64 // the consumer's sequence of the last message taken
	state     bool   // still reading the state it began with
	toRead    uint64 // of the state, how many messages the consumer had pending

	started  chan error    // the state read, or why not
	broken   chan error    // why the current consumer must be made again
	stopping chan struct{} // closed by stop
	ended    chan struct{} // closed when its goroutine ends
	once     sync.Once
}

func (s *Store) newTail(stream, what string, filters []string, take func(jetstream.Msg, *jetstream.MsgMetadata) error) *tailer {
	return &tailer{s: s, stream: stream, filters: filters, what: what, take: take,
		started: make(chan error, 1), broken: make(chan error, 1),
		stopping: make(chan struct{}), ended: make(chan struct{})}
}

// start makes the first consumer and starts the tail's goroutine; from a
// bucket's state, it waits, within ctx, until the state is read.
func (t *tailer) start(ctx context.Context) error {
	fromState := t.state // the goroutine's once started
	var last uint64
	if fromState {
		var err error
		if last, err = t.s.leaderLastSeq(ctx, t.stream); err != nil {
			return fmt.Errorf("read %s: %w", t.what, classify(err))
		}
	}
	if err := t.consumer(ctx); err != nil {
		return fmt.Errorf("read %s: %w", t.what, err)
	}
	t.s.watching.Add(1)
	go t.run()
	if !fromState {
		return nil
	}
	select {
	case err := <-t.started:
		if err != nil {
			t.stop()
			return err
		}
	case <-ctx.Done():
		t.stop()
		return fmt.Errorf("read %s: %w: its state was not read in time", t.what, classify(ctx.Err()))
	}
	if err := t.caughtUp(ctx, last); err != nil {
		t.stop()
		return err
	}
	return nil
}

// caughtUp waits, within ctx, until the tail has taken every message of
// its subjects the stream's leader had when it began (up to last). Its
// consumer is on one replica, and one that is behind (cut off a moment
// ago, or catching up after a restart) gives an old state, complete as
// far as it knows: a start that read it would take a name as free or a
// user as in no room. The leader has every acknowledged write.
func (t *tailer) caughtUp(ctx context.Context, last uint64) error {
	for {
		t.mu.Lock()
		next := t.next
		t.mu.Unlock()
		if next > last {
			return nil
		}
		seq, err := t.s.leaderNextSeq(ctx, t.stream, t.filters[0], max(next, 1))
		if err != nil {
			return fmt.Errorf("read %s: %w", t.what, err)
		}
		if seq == 0 || seq > last {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("read %s: %w: the replica it reads is behind the leader", t.what, classify(ctx.Err()))
		case <-t.stopping:
			return ErrClosed
		case <-time.After(caughtUpPoll):
		}
	}
}

// caughtUpPoll is how often caughtUp asks the leader again while the
// tail's replica catches up.
const caughtUpPoll = 20 * time.Millisecond

// stop ends the tail, waiting for take's last call to return. It must
// not be called from take.
func (t *tailer) stop() {
	t.once.Do(func() {
		t.mu.Lock()
		t.stopped = true
		t.mu.Unlock()
		close(t.stopping)
	})
	<-t.ended
}

// consumer makes a consumer from where the tail is, a try at a time
// (watchRetry each), until it has one or ctx ends.
func (t *tailer) consumer(ctx context.Context) error {
	cfg := jetstream.ConsumerConfig{
		AckPolicy:         jetstream.AckNonePolicy,
		MemoryStorage:     true,
		Replicas:          1,
		InactiveThreshold: time.Minute, // one left behind on a server that came back
	}
	if len(t.filters) == 1 {
		cfg.FilterSubject = t.filters[0]
	} else {
		cfg.FilterSubjects = t.filters
	}
	t.mu.Lock()
	if t.next > 0 {
		cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, t.next
	} else {
		cfg.DeliverPolicy = jetstream.DeliverLastPerSubjectPolicy
	}
	t.mu.Unlock()
	for {
		try, cancel := context.WithTimeout(ctx, watchRetry)
		cons, err := t.s.js.CreateConsumer(try, t.stream, cfg)
		cancel()
		if err == nil {
			t.mu.Lock()
			t.gen++
			t.cons, t.delivered = cons, 0
			if t.state {
				t.toRead = cons.CachedInfo().NumPending
			}
			t.mu.Unlock()
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

// run reads through each consumer until it goes silent, delivers out of
// order or is lost, and then makes the next, until stop, Close, or an
// error of take at start.
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
			t.fail(fmt.Errorf("read %s: %w", t.what, ErrClosed))
			return
		}
		if err := t.consumer(t.s.life); err != nil {
			t.fail(fmt.Errorf("read %s: %w", t.what, err))
			return
		}
		t.stateRead()
	}
}

// stateRead ends the start of the tail when its consumer has nothing of
// the state left to read (none at all).
func (t *tailer) stateRead() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state && t.toRead == 0 {
		t.state = false
		t.started <- nil
	}
}

// fail ends the start of the tail with err, if it was still starting.
func (t *tailer) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.state {
		t.state = false
		t.started <- err
	}
}

// breakOff has the current consumer made again, for err.
func (t *tailer) breakOff(err error) {
	select {
	case t.broken <- err:
	default:
	}
}

// read has the current consumer's messages taken until stop (nil), until
// it must be made again (why), or Close.
func (t *tailer) read() error {
	t.mu.Lock()
	gen, cons := t.gen, t.cons
	t.mu.Unlock()
	select {
	case <-t.broken: // the last consumer's
	default:
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		t.mu.Lock()
		defer t.mu.Unlock()
		if t.stopped || t.gen != gen {
			return
		}
		if err := t.taken(m); err != nil {
			t.gen++ // nothing more of this consumer
			t.breakOff(err)
		}
	}, jetstream.PullHeartbeat(watchHeartbeat), jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		if errors.Is(err, jetstream.ErrNoHeartbeat) || errors.Is(err, jetstream.ErrConsumerDeleted) ||
			errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, nats.ErrNoResponders) ||
			errors.Is(err, nats.ErrConnectionClosed) {
			t.mu.Lock()
			current := t.gen == gen
			t.mu.Unlock()
			if current {
				t.breakOff(err)
			}
		}
	}))
	if err != nil {
		return err
	}
	defer cc.Stop()
	select {
	case <-t.stopping:
		return nil
	case <-t.s.life.Done():
		return ErrClosed
	case err := <-t.broken:
		return err
	}
}

// errGap is a consumer that skipped a message.
var errGap = errors.New("the consumer skipped a message")

// taken takes one message, in order, under t.mu.
func (t *tailer) taken(m jetstream.Msg) error {
	md, err := m.Metadata()
	if err != nil {
		return err
	}
	if md.Sequence.Consumer != t.delivered+1 {
		return errGap
	}
	t.delivered, t.next = md.Sequence.Consumer, md.Sequence.Stream+1
	if err := t.take(m, md); err != nil && t.state {
		return err
	}
	if t.state && (md.NumPending == 0 || md.Sequence.Consumer >= t.toRead) {
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
	_ = t.s.js.DeleteConsumer(ctx, t.stream, t.cons.CachedInfo().Name)
}

// kvChange is a bucket's key changed: its value, or deleted (a delete, a
// purge or an expiry), at revision rev.
type kvChange func(key string, val []byte, deleted bool, rev uint64) error

// bucketTail follows bucket's keys matching keys (a KV key pattern) from
// its state: change gets each key with a value, its value, and then
// every change (deleted for a delete, a purge or an expiry). An error of
// change at start is the bucket's content this version cannot use.
func (s *Store) bucketTail(bucket, keys string, change kvChange) *tailer {
	prefix := "$KV." + bucket + "."
	var t *tailer
	t = s.newTail("KV_"+bucket, "bucket "+bucket, []string{prefix + keys}, func(m jetstream.Msg, md *jetstream.MsgMetadata) error {
		h := m.Headers()
		deleted := h.Get(kvOperationHeader) != "" || h.Get(jetstream.MarkerReasonHeader) != ""
		key := strings.TrimPrefix(m.Subject(), prefix)
		if t.state && deleted {
			return nil // gone before the tail began: not part of the state
		}
		if err := change(key, m.Data(), deleted, md.Sequence.Stream); err != nil {
			return s.incompatible(fmt.Sprintf("bucket %s, key %s", bucket, key), err)
		}
		return nil
	})
	t.state = true
	return t
}

// scan calls fn with every key of bucket that has a value, and its value,
// in the bucket's order, until the values there were when it began are
// all read, within ctx. An error of fn is the bucket's content this
// version cannot use.
func (s *Store) scan(ctx context.Context, bucket string, fn func(key string, val []byte) error) error {
	t := s.bucketTail(bucket, ">", func(key string, val []byte, _ bool, _ uint64) error { return fn(key, val) })
	if err := t.start(ctx); err != nil {
		return err
	}
	t.stop()
	return nil
}

// watch calls change with every key of bucket matching keys that has a
// value, and then with every change, one at a time from a NATS
// goroutine, until stop. It returns once change has had every value there was, within
// Config.Timeout. An error of change, about a value it cannot read,
// fails watch at start, and is left out later.
func (s *Store) watch(bucket, keys string, change kvChange) (stop func(), err error) {
	ctx, cancel := s.timeout()
	defer cancel()
	t := s.bucketTail(bucket, keys, change)
	if err := t.start(ctx); err != nil {
		return nil, err
	}
	return t.stop, nil
}
