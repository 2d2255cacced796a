package store

import (
	"context"
	"errors"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Appends go through two goroutines and two bounded channels:
//
//	Append ──appends──▶ publisher ──acks──▶ acker ──▶ done
//
// Ordering: the publisher takes Appends in the order they were queued,
// numbers each within its room and publishes it asynchronously on the one
// NATS connection; NATS delivers one connection's messages in order and
// JetStream stores a stream's messages in the order they arrive, so a
// room's stored order is its Append order. Publishes are never retried
// (a retried message could land after a later one). The acker waits for
// the acknowledgements in that same order, so done callbacks come in
// Append order too, across all rooms.

type appendReq struct {
	room string
	msg  Message
	done func(Stored, error)
}

// pending is a published Append waiting for its acknowledgement, or one
// that failed before publishing (err set, fut nil).
type pending struct {
	fut  jetstream.PubAckFuture
	st   Stored
	err  error
	done func(Stored, error)
}

// Append stores msg as the next message of room, asynchronously: done is
// called once, from the store's acker goroutine, with the message as
// stored (its room Seq and StreamSeq) or with an error (ErrFull,
// ErrUnavailable, ErrTimeout, or a wrapped NATS error). Callbacks come in
// the order of the Appends. Append never blocks: a full queue returns
// ErrBusy and a closed store ErrClosed, and then done is not called.
//
// The room's Seq is the one after the last stored for the room; msg.Seq,
// when higher, is taken instead (the caller's floor from its room state,
// so numbering never goes back when all of a room's messages aged out).
// A failed Append leaves its number unused: a room's Seqs increase in
// stored order and are consecutive while nothing fails.
func (s *Store) Append(room string, msg Message, done func(Stored, error)) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	select {
	case s.appends <- appendReq{room, msg, done}:
		return nil
	default:
		return ErrBusy
	}
}

// publisher numbers and publishes queued Appends; it alone touches
// roomSeq. It ends when Close closes appends, closing acks after it.
func (s *Store) publisher() {
	defer s.wg.Done()
	defer close(s.acks)
	var buf []byte
	for req := range s.appends {
		p := pending{done: req.done, st: Stored{Message: req.msg}}
		subj := Subject(req.room)
		last, err := s.lastSeq(req.room, subj)
		if err != nil {
			p.err = err
			s.acks <- p
			continue
		}
		p.st.Seq = max(last+1, req.msg.Seq)
		buf = appendMessage(buf[:0], &p.st.Message)
		// The client keeps the data until acknowledged; it must not share buf.
		data := append([]byte(nil), buf...)
		p.fut, err = s.js.PublishMsgAsync(&nats.Msg{Subject: subj, Data: data},
			jetstream.WithRetryAttempts(0), jetstream.WithExpectStream(streamName))
		if err != nil {
			p.err = classify(err)
		} else {
			s.roomSeq[req.room] = p.st.Seq
		}
		s.acks <- p
	}
}

// lastSeq is the room's last Seq handed out, read from the stream the
// first time the room is seen.
func (s *Store) lastSeq(room, subj string) (uint64, error) {
	if seq, ok := s.roomSeq[room]; ok {
		return seq, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	raw, err := s.stream.GetLastMsgForSubject(ctx, subj)
	var seq uint64
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
	case err != nil:
		return 0, classify(err)
	default:
		m, err := decodeMessage(raw.Data)
		if err != nil {
			return 0, err
		}
		seq = m.Seq
	}
	s.roomSeq[room] = seq
	return seq, nil
}

// acker waits for each publish's acknowledgement in Append order and
// calls its done.
func (s *Store) acker() {
	defer s.wg.Done()
	for p := range s.acks {
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
