package store

import (
	"context"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Appends go through two goroutines and two bounded channels:
//
//	Append, AppendPrivate, Inbox ──appends──▶ publisher ──acks──▶ acker ──▶ done
//	                                                                └─jobs─▶ reader (Inbox's read)
//
// Ordering: the publisher takes the queue in the order it was filled,
// numbers each room message within its room and publishes every message
// asynchronously on the one NATS connection; NATS delivers one
// connection's messages in order and JetStream stores a stream's messages
// in the order they arrive, so a room's stored order is its Append order.
// Publishes are never retried (a retried message could land after a later
// one). The acker waits for the acknowledgements in that same order, so
// done callbacks come in the order of the calls too, across all rooms and
// private messages.
//
// Inbox puts a barrier in the queue instead of a message: when the acker
// reaches it, every write queued before it has been acknowledged or has
// failed, and the acker hands the inbox read to the reader goroutine, so
// that the read sees those writes and the acks behind it do not wait for
// the read.

// appendReq is one item of the queue: a message to publish on subj of
// stream, or a barrier (read set, nothing published).
type appendReq struct {
	stream string
	subj   string
	room   string // room messages: the room it is numbered in
	msg    Message
	done   func(Stored, error)
	read   func()
}

// pending is a published message waiting for its acknowledgement, one
// that failed before publishing (err set, fut nil), or a barrier (read
// set).
type pending struct {
	fut  jetstream.PubAckFuture
	st   Stored
	err  error
	done func(Stored, error)
	read func()
}

// Append stores msg as the next message of room, asynchronously: done is
// called once, from the store's acker goroutine, with the message as
// stored (its room Seq and StreamSeq) or with an error (ErrFull,
// ErrUnavailable, ErrTimeout, or a wrapped NATS error). Callbacks come in
// the order of the calls to Append and AppendPrivate. Append never
// blocks: a full queue returns ErrBusy and a closed store ErrClosed, and
// then done is not called.
//
// The room's Seq is the one after the last stored for the room; msg.Seq,
// when higher, is taken instead (the caller's floor from its room state,
// so numbering never goes back when all of a room's messages aged out).
// A failed Append leaves its number unused: a room's Seqs increase in
// stored order and are consecutive while nothing fails.
func (s *Store) Append(room string, msg Message, done func(Stored, error)) error {
	return s.queue(appendReq{stream: roomStream, subj: Subject(room), room: room, msg: msg, done: done})
}

// queue puts req on the publisher's queue, or refuses at once.
func (s *Store) queue(req appendReq) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.appends <- req:
		return nil
	default:
		return ErrBusy
	}
}

// publisher numbers and publishes queued messages; it alone touches
// roomSeq. It ends when Close closes appends, closing acks after it.
func (s *Store) publisher() {
	defer s.pipeline.Done()
	defer close(s.acks)
	var buf []byte
	for req := range s.appends {
		var p pending
		p, buf = s.publish(req, buf)
		s.acks <- p
	}
}

// publish publishes req (a barrier passes as it is), encoding it in buf,
// which it returns for the next.
func (s *Store) publish(req appendReq, buf []byte) (pending, []byte) {
	p := pending{done: req.done, read: req.read, st: Stored{Message: req.msg}}
	if req.read != nil {
		return p, buf
	}
	if req.stream == roomStream {
		last, err := s.lastSeq(req.room, req.subj)
		if err != nil {
			p.err = err
			return p, buf
		}
		p.st.Seq = max(last+1, req.msg.Seq)
	}
	buf = appendMessage(buf[:0], &p.st.Message)
	// The client keeps the data until acknowledged; it must not share buf.
	data := append([]byte(nil), buf...)
	var err error
	p.fut, err = s.js.PublishMsgAsync(&nats.Msg{Subject: req.subj, Data: data},
		jetstream.WithRetryAttempts(0), jetstream.WithExpectStream(req.stream))
	switch {
	case err != nil:
		p.err = classify(err)
	case req.stream == roomStream:
		s.roomSeq[req.room] = p.st.Seq
	}
	return p, buf
}

// lastSeq is the room's last Seq handed out, read from the stream the
// first time the room is seen.
func (s *Store) lastSeq(room, subj string) (uint64, error) {
	if seq, ok := s.roomSeq[room]; ok {
		return seq, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	last, err := s.lastStored(ctx, subj)
	if err != nil {
		return 0, err
	}
	var seq uint64
	if last != nil {
		seq = last.Seq
	}
	s.roomSeq[room] = seq
	return seq, nil
}

// acker waits for each publish's acknowledgement in queue order and calls
// its done, or hands a barrier's read to the reader.
func (s *Store) acker() {
	defer s.pipeline.Done()
	for p := range s.acks {
		if p.read != nil {
			s.jobs <- p.read // Close keeps jobs open until the acker is done
			continue
		}
		if p.fut != nil {
			select {
			case ack := <-p.fut.Ok():
				p.st.StreamSeq = ack.Sequence
			case err := <-p.fut.Err():
				p.err = classify(err)
			}
		}
		if p.err != nil {
			p.st = Stored{}
		}
		p.done(p.st, p.err)
	}
}
