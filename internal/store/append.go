package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Appends go through three goroutines and bounded channels:
//
//	Append, AppendPrivate, Inbox ──appends──▶ publisher ──acks──▶ acker ──▶ done
//	JetStream's acks and refusals ──events──▶  ▲     │              └─jobs─▶ reader (Inbox's read)
//	                                      events     rereads
//	                                           │     ▼
//	                                          rereader
//
// Numbering with several writers. A room's Seq is the one after its last
// stored message's, and several servers may append to one room. So each
// room message is published with the header
// Nats-Expected-Last-Subject-Sequence: the stream sequence of the room's
// last message as this writer knows it (0: none). JetStream stores it
// only if that is still the room's last; if another writer stored one
// first, it refuses it ("wrong last sequence", error 10071, or 10164
// while the other's is still being replicated), and the publisher has
// the rereader read the room's last message, numbers the message after
// it, and publishes it again, until Config.Timeout has gone by since its
// first publish; then it fails with ErrBusy. A room's Seqs are therefore
// unique and consecutive across writers (but where an Append failed),
// and a message refused is never stored: no Seq twice, none out of order.
//
// The price: the header names the message before, so a writer has at
// most one message of a room published and not yet acknowledged; the
// others of that room wait in the room's lane (a queue per room), while
// other rooms' messages, and private messages, go on being published
// (BenchmarkAppend: one room against ten). A writer's cache of each
// room's last message (seq, stream) saves the read while it is the only
// writer.
//
// Fairness: a writer whose message was refused needs a read and a
// publish to try again, while one that keeps writing needs only its
// acknowledgement; so a writer with a steady stream of messages for a
// room can keep another out of it until that stream pauses. Retries back
// off (with jitter) and give up after Config.Timeout.
//
// Order. Each lane's callbacks come in the order of its calls: a room's
// (Append) in its Seq order, a recipient's private messages (one lane per
// recipient and stream) in their order. A room's events (PublishEvent,
// events.go) go in the room's lane, published one at a time like its
// messages, so the stream holds a room's events and messages in the order
// of the calls. Across lanes, callbacks come as
// the acknowledgements do, which is not the order of the calls: a room
// with messages waiting does not hold up another room's. Inbox keeps its
// meaning of a barrier: its read is handed to its reader once every
// Append and AppendPrivate called before it has had its callback.
//
// A room message is published again, too, when the stream had nobody to
// take it (no responders: no leader for a moment, while one is elected):
// it was not stored, and its expected last keeps it from landing anywhere
// but next. Other publishes are never retried (a retried private message
// could land after a later one).

// appendReq is one item of the queue: a message to publish on subj of
// stream, a room event (events.go), or a barrier (read set, nothing
// published).
type appendReq struct {
	stream string
	subj   string
	room   string // room messages and events: the room's lane
	msg    Message
	event  []byte // a room event's payload, published as it is; nil for a message
	done   func(Stored, error)
	read   func()
}

func (r *appendReq) isEvent() bool { return r.event != nil }

// laneKey names the lane that keeps req in order: a room's events wait in
// the lane of its messages, so that they are stored in the order of the
// calls with them.
func (r *appendReq) laneKey() string {
	if r.isEvent() {
		return Subject(r.room)
	}
	return r.subj
}

// item is a message the publisher holds, from the queue until its
// outcome is handed to the acker.
type item struct {
	appendReq
	lane   *lane
	ticket uint64 // its place in the queue, for Inbox's barriers
	st     Stored
	err    error
	over   bool // its outcome is known

	// Room messages: how many times it was refused (as out of date, or
	// for want of a leader), when it was first published, and the room's
	// last stream sequence as a refusal gave it (0 if it did not), to
	// tell a stale read.
	refused int
	first   time.Time
	atLeast uint64
}

// lane holds one subject's messages in queue order, so that their
// outcomes go to the acker in that order: a room's, of which only the
// first is published at a time, or a recipient's private messages, all
// published at once.
type lane struct {
	subj  string
	room  bool
	queue []*item
	// Rooms only: the last message known stored, its Seq and stream
	// sequence (stream 0: none); known is false until it is read.
	known       bool
	seq, stream uint64
}

// event is what comes back to the publisher about a message it holds:
// JetStream's ack or error for a publish (msg), a reread's result, or
// the end of a backoff (it), before a reread or (republish) a publish.
type event struct {
	msg *nats.Msg
	ack *jetstream.PubAck
	err error

	it        *item
	reread    bool
	last      *Stored
	republish bool
}

// outcome is what the acker gets: a done callback and its arguments, or
// a barrier's read.
type outcome struct {
	st   Stored
	err  error
	done func(Stored, error)
	read func()
}

// barrier is an Inbox read waiting for the writes queued before it.
type barrier struct {
	upto uint64 // the last ticket given before it
	read func()
}

// Append stores msg as the next message of room, asynchronously: done is
// called once, from the store's acker goroutine, with the message as
// stored (its room Seq and StreamSeq) or with an error (ErrFull,
// ErrUnavailable, ErrTimeout, ErrBusy when other writers kept renumbering
// it past Config.Timeout, or a wrapped NATS error). A room's callbacks
// come in the order of its calls; those of different rooms, and of
// private messages, as JetStream acknowledges them. Append never blocks:
// a full queue returns ErrBusy and a closed store ErrClosed, and then
// done is not called.
//
// The room's Seq is the one after the last stored for the room, by this
// writer or another; msg.Seq, when higher, is taken instead (the caller's
// floor from its room state, so numbering never goes back when all of a
// room's messages aged out). A failed Append leaves its number unused: a
// room's Seqs increase in stored order and are consecutive while nothing
// fails.
func (s *Store) Append(room string, msg Message, done func(Stored, error)) error {
	return s.queue(appendReq{stream: roomStream, subj: Subject(room), room: room, msg: msg, done: done})
}

// queue puts req on the publisher's queue, or refuses at once.
func (s *Store) queue(req appendReq) error { return offer(s, s.appends, req) }

// publisher is the publisher goroutine's state; that goroutine alone
// touches it.
type publisher struct {
	s     *Store
	lanes map[string]*lane    // by subject; a private lane goes once empty
	sent  map[*nats.Msg]*item // published, waiting for their event
	held  int                 // items and barriers held, at most MaxPending
	next  uint64              // the last ticket given
	low   uint64              // the lowest ticket whose outcome is not out
	ahead map[uint64]struct{} // tickets above low whose outcome is out
	waits []barrier           // Inbox reads, in queue order
	buf   []byte              // encoding scratch
}

// publisher takes the queue, numbers and publishes messages, and hands
// their outcomes and Inbox's reads to the acker. While it holds
// MaxPending messages and barriers it takes no more from the queue, which
// fills, and then Append says ErrBusy. It ends once Close has closed
// appends and every message it held has its outcome, closing acks and
// rereads after it.
func (s *Store) publisher() {
	defer s.pipeline.Done()
	defer close(s.acks)
	defer close(s.rereads)
	p := &publisher{s: s, lanes: make(map[string]*lane), sent: make(map[*nats.Msg]*item),
		low: 1, ahead: make(map[uint64]struct{})}
	appends := s.appends
	for appends != nil || p.held > 0 {
		in := appends
		if p.held >= s.cfg.MaxPending {
			in = nil
		}
		select {
		case req, ok := <-in:
			if !ok {
				appends = nil
				continue
			}
			p.take(req)
		case ev := <-s.events:
			p.handle(ev)
		}
	}
}

// take starts req on its way: a barrier waits for the writes before it,
// a private message is published at once, a room message once the ones
// of its room before it have their outcome.
func (p *publisher) take(req appendReq) {
	p.held++
	if req.read != nil {
		p.waits = append(p.waits, barrier{upto: p.next, read: req.read})
		p.release()
		return
	}
	p.next++
	it := &item{appendReq: req, ticket: p.next, st: Stored{Message: req.msg}}
	key := req.laneKey()
	l := p.lanes[key]
	if l == nil {
		l = &lane{subj: key, room: req.stream == roomStream}
		p.lanes[key] = l
	}
	it.lane = l
	l.queue = append(l.queue, it)
	switch {
	case !l.room:
		p.publish(it, nil)
	case len(l.queue) == 1:
		p.startRoom(l)
	}
}

// startRoom publishes the room's first message waiting, once its last
// stored message is known, or its first event waiting: an event is not
// numbered and needs no last message.
func (p *publisher) startRoom(l *lane) {
	it := l.queue[0]
	if it.isEvent() {
		if it.first.IsZero() {
			it.first = time.Now()
		}
		p.publish(it, nil)
		return
	}
	if !l.known {
		p.s.rereads <- it
		return
	}
	it.st.Seq = max(l.seq+1, it.msg.Seq)
	if it.first.IsZero() {
		it.first = time.Now()
	}
	p.publish(it, []jetstream.PublishOpt{jetstream.WithExpectLastSequencePerSubject(l.stream)})
}

// publish sends it, with opts (a room message's expected last).
func (p *publisher) publish(it *item, opts []jetstream.PublishOpt) {
	data := it.event // the caller's, copied by PublishEvent
	if !it.isEvent() {
		p.buf = appendMessage(p.buf[:0], &it.st.Message)
		// The client keeps the data until acknowledged; it must not share buf.
		data = append([]byte(nil), p.buf...)
	}
	m := &nats.Msg{Subject: it.subj, Data: data}
	opts = append(opts, jetstream.WithRetryAttempts(0), jetstream.WithExpectStream(it.stream))
	p.sent[m] = it
	if _, err := p.s.js.PublishMsgAsync(m, opts...); err != nil {
		delete(p.sent, m)
		p.finish(it, classify(err))
	}
}

// handle takes an event about a message held.
func (p *publisher) handle(ev event) {
	switch {
	case ev.msg != nil:
		it := p.sent[ev.msg]
		if it == nil {
			return // not ours: nothing else publishes asynchronously
		}
		delete(p.sent, ev.msg)
		p.published(it, ev.ack, ev.err)
	case ev.reread:
		p.reread(ev.it, ev.last, ev.err)
	case ev.republish: // a backoff ended
		p.startRoom(ev.it.lane)
	default: // a backoff ended
		p.s.rereads <- ev.it
	}
}

// published takes JetStream's answer to a publish.
func (p *publisher) published(it *item, ack *jetstream.PubAck, err error) {
	l := it.lane
	switch {
	case err == nil:
		it.st.StreamSeq = ack.Sequence
		if l.room && !it.isEvent() {
			l.seq, l.stream = it.st.Seq, ack.Sequence
		}
		p.finish(it, nil)
	case l.room && outOfDate(err):
		p.refused(it, err)
	case l.room && errors.Is(err, jetstream.ErrNoStreamResponse):
		// Nobody took it, so it was not stored: the stream has no
		// leader for a moment (one is being elected). The expected last
		// makes publishing a message again safe; an event, which has
		// none, still lands before what waits behind it in the lane.
		p.later(it, err)
	default:
		p.finish(it, classify(err))
	}
}

// JetStream's refusals of a message whose expected last is not the
// subject's last.
const (
	jsWrongLastSeq      jetstream.ErrorCode = 10071 // "wrong last sequence: N", N the subject's last
	jsWrongLastSeqTaken jetstream.ErrorCode = 10164 // another is being stored on the subject meanwhile
)

func outOfDate(err error) bool {
	var api *jetstream.APIError
	return errors.As(err, &api) && (api.ErrorCode == jsWrongLastSeq || api.ErrorCode == jsWrongLastSeqTaken)
}

// refused renumbers a room message another writer overtook: it reads the
// room's last message at once the first time, after a backoff the next
// ones, until Config.Timeout has gone by since the first publish.
func (p *publisher) refused(it *item, err error) {
	p.s.renumbered.Add(1)
	it.lane.known = false
	it.refused++
	it.atLeast = 0
	var api *jetstream.APIError
	if errors.As(err, &api) && api.ErrorCode == jsWrongLastSeq {
		_, n, _ := strings.Cut(api.Description, ": ")
		it.atLeast, _ = strconv.ParseUint(n, 10, 64)
	}
	if time.Since(it.first) > p.s.cfg.Timeout {
		p.finish(it, fmt.Errorf("%w: room %q: other writers kept storing messages first for %v (%d tries): %v",
			ErrBusy, it.room, p.s.cfg.Timeout, it.refused, err))
		return
	}
	if it.refused == 1 {
		p.s.rereads <- it
		return
	}
	p.backoff(it, it.refused-1, event{it: it})
}

// later publishes a room message again after a while, the stream having
// had nobody to take it, until Config.Timeout has gone by since its
// first publish.
func (p *publisher) later(it *item, err error) {
	it.refused++
	if time.Since(it.first) > p.s.cfg.Timeout {
		p.finish(it, fmt.Errorf("%w: room %q: %v, for %v", ErrUnavailable, it.room, err, p.s.cfg.Timeout))
		return
	}
	p.backoff(it, it.refused, event{it: it, republish: true})
}

// backoff sends ev to the publisher after up to 1, 2, 4 ... 64 ms (the
// nth time), a random part of it: writers that collided do not come back
// together.
func (p *publisher) backoff(it *item, n int, ev event) {
	d := time.Millisecond << min(n-1, 6)
	d = d/2 + rand.N(d/2+1)
	time.AfterFunc(d, func() { p.s.events <- ev })
}

// reread takes the room's last message as the rereader read it, and
// publishes the room's first message waiting after it.
func (p *publisher) reread(it *item, last *Stored, err error) {
	l := it.lane
	switch {
	case err != nil:
		p.finish(it, fmt.Errorf("number a message of room %q: %w", it.room, err))
		return
	case last != nil && last.StreamSeq < it.atLeast:
		// Read from a replica that has not caught up: not yet what
		// JetStream refused against. Try again after a while.
		p.refused(it, &jetstream.APIError{ErrorCode: jsWrongLastSeqTaken, Description: "stale read"})
		return
	case last == nil:
		// None stored (or all gone by age): numbering goes on from the
		// last known, never back.
		l.stream = 0
	default:
		l.seq, l.stream = last.Seq, last.StreamSeq
	}
	l.known = true
	p.startRoom(l)
}

// finish sets its outcome, hands its lane's outcomes that are due to the
// acker, in lane order, and starts the room's next message.
func (p *publisher) finish(it *item, err error) {
	it.over, it.err = true, err
	if err != nil {
		it.st = Stored{}
	}
	l := it.lane
	for len(l.queue) > 0 && l.queue[0].over {
		done := l.queue[0]
		l.queue[0] = nil
		l.queue = l.queue[1:]
		p.out(done)
	}
	switch {
	case len(l.queue) == 0 && !l.room:
		delete(p.lanes, l.subj)
	case len(l.queue) == 0:
		l.queue = nil // its array goes; the lane keeps the room's last
	case l.room:
		p.startRoom(l)
	}
}

// out hands its outcome to the acker, and the Inbox reads that were
// waiting only for it.
func (p *publisher) out(it *item) {
	p.held--
	p.s.acks <- outcome{st: it.st, err: it.err, done: it.done}
	if it.ticket != p.low {
		p.ahead[it.ticket] = struct{}{}
		return
	}
	for p.low++; ; p.low++ {
		if _, ok := p.ahead[p.low]; !ok {
			break
		}
		delete(p.ahead, p.low)
	}
	p.release()
}

// release hands to the acker the Inbox reads whose writes before them
// all have their outcome.
func (p *publisher) release() {
	for len(p.waits) > 0 && p.waits[0].upto < p.low {
		p.held--
		p.s.acks <- outcome{read: p.waits[0].read}
		p.waits = p.waits[1:]
	}
}

// rereader reads a room's last message for the publisher, one at a time.
// It ends when the publisher closes rereads.
func (s *Store) rereader() {
	defer s.pipeline.Done()
	for it := range s.rereads {
		ctx, cancel := s.timeout()
		last, err := s.lastStored(ctx, it.subj)
		cancel()
		s.events <- event{it: it, reread: true, last: last, err: err}
	}
}

// acker calls the done callbacks in the order the publisher hands them
// over, and hands Inbox's reads to their readers.
func (s *Store) acker() {
	defer s.pipeline.Done()
	for o := range s.acks {
		if o.read != nil {
			o.read() // Close keeps reads open until the acker is done
			continue
		}
		o.done(o.st, o.err)
	}
}
