package store

import (
	"errors"
	"fmt"

	"chat/internal/wire"
)

// Message is one room or private message as the hub's frames carry it.
type Message struct {
	From string
	To   string // a private message's recipient; empty for a room's
	Room string
	Text string
	Time int64 // Unix milliseconds
	// Seq is the room's sequence number. Append gives the message the
	// next one (see Append for a floor); Stored room messages carry it.
	// Private messages have none (0).
	Seq  uint64
	Code wire.Code // wire.AsNotice for a notice
	Tags string    // client-only message tags
}

// Stored is a message as the store keeps it, or a room event as Follow
// delivers it.
type Stored struct {
	Message
	// StreamSeq is the message's place in the stream of all rooms.
	StreamSeq uint64
	// Event is a room event's payload as PublishEvent was given it,
	// non-nil (if empty) for an event and nil for a message. An event has
	// only Room (folded, from its subject) and StreamSeq besides.
	Event []byte
}

// encodingVersion is the first byte of every stored message. The rest is
// a whole wire frame of TypeMessage, so a new field of the protocol is
// kept without a new version here: messages stored before To existed
// decode with an empty To.
const encodingVersion = 1

// errBadEncoding means a stored message this package cannot read.
var errBadEncoding = errors.New("stored message is not in a known encoding")

func appendMessage(dst []byte, m *Message) []byte {
	dst = append(dst, encodingVersion)
	return wire.Append(dst, &wire.Frame{Type: wire.TypeMessage, From: m.From, To: m.To, Room: m.Room,
		Text: m.Text, Time: m.Time, Seq: m.Seq, Code: m.Code, Tags: m.Tags})
}

func decodeMessage(b []byte) (Message, error) {
	if len(b) == 0 || b[0] != encodingVersion {
		return Message{}, errBadEncoding
	}
	body, rest, err := wire.Split(b[1:])
	if err == nil && (body == nil || len(rest) != 0) {
		err = errBadEncoding
	}
	var f wire.Frame
	if err == nil {
		err = wire.Unmarshal(body, &f)
	}
	if err == nil && f.Type != wire.TypeMessage {
		err = fmt.Errorf("%w: frame type %v", errBadEncoding, f.Type)
	}
	if err != nil {
		return Message{}, fmt.Errorf("decode stored message: %w", err)
	}
	return Message{From: f.From, To: f.To, Room: f.Room, Text: f.Text, Time: f.Time, Seq: f.Seq, Code: f.Code, Tags: f.Tags}, nil
}
