package store

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Following the stream: a server whose hub shows the room messages the
// store delivers (several servers sharing the rooms, each showing every
// message, its own too, in the one order the stream gives them) reads
// ROOMS with an ordered consumer, of the rooms' messages and events
// (events.go). An ordered consumer is ephemeral, has no
// acknowledgements, and recreates itself where it stopped when the
// connection comes back or it misses a message, so what it delivers is
// every message and event in stream order, each once.

// LastStreamSeq is the stream's last sequence over every room, messages
// and events: Follow from it delivers what is stored after the caller
// read the rooms' last Seqs. It is no message's StreamSeq when an event
// came last. It blocks; it is for start-up.
func (s *Store) LastStreamSeq() (uint64, error) {
	ctx, cancel := s.timeout()
	defer cancel()
	info, err := s.rooms.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("stream %s: %w", roomStream, classify(err))
	}
	return info.State.LastSeq, nil
}

// Follow calls deliver with every room message and event stored after
// the stream sequence after, in the stream's order (within a room, its
// Seq order, and events in the order PublishEvent was called with its
// messages), one at a time from a NATS goroutine, until stop is called.
// An event has Event set (non-nil), Room (folded) and StreamSeq; a
// message it cannot decode, or an event on a subject that names no room,
// comes with an error instead. deliver should hand the message over and
// return quickly: the consumer's flow control holds the stream back
// while it runs.
func (s *Store) Follow(after uint64, deliver func(Stored, error)) (stop func(), err error) {
	ctx, cancel := s.timeout()
	defer cancel()
	cons, err := s.rooms.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{roomPrefix + "*", roomEventPrefix + "*"},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    after + 1,
	})
	if err != nil {
		return nil, fmt.Errorf("follow stream %s: %w", roomStream, classify(err))
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		md, err := msg.Metadata()
		if err != nil {
			deliver(Stored{}, fmt.Errorf("follow stream %s: %w", roomStream, err))
			return
		}
		if token, ok := strings.CutPrefix(msg.Subject(), roomEventPrefix); ok {
			room, err := RoomOf(token)
			if err != nil {
				deliver(Stored{StreamSeq: md.Sequence.Stream}, fmt.Errorf("event %d: %w", md.Sequence.Stream, err))
				return
			}
			data := msg.Data()
			if data == nil {
				data = []byte{} // an empty event is still an event
			}
			deliver(Stored{Message: Message{Room: room}, StreamSeq: md.Sequence.Stream, Event: data}, nil)
			return
		}
		m, err := decodeMessage(msg.Data())
		if err != nil {
			deliver(Stored{StreamSeq: md.Sequence.Stream}, err)
			return
		}
		deliver(Stored{Message: m, StreamSeq: md.Sequence.Stream}, nil)
	})
	if err != nil {
		return nil, fmt.Errorf("follow stream %s: %w", roomStream, classify(err))
	}
	return cc.Stop, nil
}
