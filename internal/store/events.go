package store

// Room events (entered, left, topic, kick ...) are opaque payloads the
// hub makes, kept in ROOMS beside the room's messages on a subject of
// their own, chat.roomev.<Token(room)>, so that Follow delivers them in
// the stream's one order with the messages, on every node, and the
// history reads, which read chat.room.<Token(room)> only, never see
// them. They are not numbered: a room's Seq counts its messages.
//
// PublishEvent goes through the publisher (append.go), in the room's
// lane: an event waits for the room's messages called before it, and
// they for it, so a member's "entered" is stored before what they then
// say, and their last words before their "left". Across rooms, events
// are published as their lanes allow, not in the order of the calls: a
// room whose message waits for a renumbering (other writers) does not
// hold up the other rooms' events.

// roomEventPrefix starts the subject of a room's events.
const roomEventPrefix = "chat.roomev."

// eventSubject is where a room's events are stored.
func eventSubject(room string) string { return roomEventPrefix + Token(room) }

// PublishEvent stores data as an event of room, asynchronously: done is
// called once, from the acker goroutine, when the stream has it (nil) or
// with an error (those of Append but ErrBusy from renumbering; an event
// is not numbered). A room's events and messages are stored, and their
// callbacks come, in the order of the calls to PublishEvent and Append;
// across rooms, as JetStream acknowledges them. data is copied. It never
// blocks: a full queue returns ErrBusy, a closed store ErrClosed, and
// then done is not called.
//
// Events are kept as the room's messages are (Config's limits per room
// and for the whole stream, on their own subject) and only Follow
// delivers them.
func (s *Store) PublishEvent(room string, data []byte, done func(error)) error {
	if room == "" {
		return errNoRoom
	}
	return s.queue(appendReq{stream: roomStream, subj: eventSubject(room), room: room,
		event: append([]byte{}, data...), done: func(_ Stored, err error) { done(err) }})
}
