package store

import (
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
)

// Following the stream: a server whose hub shows the room messages the
// store delivers (several servers sharing the rooms, each showing every
// message, its own too, in the one order the stream gives them) reads
// ROOMS, the rooms' messages and events (events.go), with an ordered
// consumer of the store's own (a tailer, watch.go): an ephemeral
// consumer with no acknowledgements, made again where it stopped when it
// misses a message or goes silent (the connection lost, its server dead
// or cut off), so what it delivers is every message and event in stream
// order, each once.

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
// while it runs. stop waits for deliver's last call to return, and must
// not be called from deliver.
func (s *Store) Follow(after uint64, deliver func(Stored, error)) (stop func(), err error) {
	ctx, cancel := s.timeout()
	defer cancel()
	t := s.newTail(roomStream, "stream "+roomStream, []string{roomPrefix + "*", roomEventPrefix + "*"},
		func(msg jetstream.Msg, md *jetstream.MsgMetadata) error {
			deliver(followed(msg, md))
			return nil
		})
	t.next = after + 1
	if err := t.start(ctx); err != nil {
		return nil, fmt.Errorf("follow: %w", err)
	}
	return t.stop, nil
}

// followed is what Follow delivers of msg.
func followed(msg jetstream.Msg, md *jetstream.MsgMetadata) (Stored, error) {
	if token, ok := strings.CutPrefix(msg.Subject(), roomEventPrefix); ok {
		room, err := RoomOf(token)
		if err != nil {
			return Stored{StreamSeq: md.Sequence.Stream}, fmt.Errorf("event %d: %w", md.Sequence.Stream, err)
		}
		data := msg.Data()
		if data == nil {
			data = []byte{} // an empty event is still an event
		}
		return Stored{Message: Message{Room: room}, StreamSeq: md.Sequence.Stream, Event: data}, nil
	}
	m, err := decodeMessage(msg.Data())
	if err != nil {
		return Stored{StreamSeq: md.Sequence.Stream}, err
	}
	return Stored{Message: m, StreamSeq: md.Sequence.Stream}, nil
}
