package loadgen

// The checker follows, at one receiver, the sequence numbers of every sender
// it hears from, and classifies each delivery as new, duplicate or out of
// order. Loss cannot be seen by one receiver alone (it does not know how many
// messages a sender in another process sent), so the checker only counts
// unique deliveries; the run compares their sum with the expected total,
// which the deterministic schedule makes computable anywhere.

// seqTrack is one sender's state at one receiver: every sequence number below
// next has been received, and max is the highest received. In a correct run
// each delivery is next, and the state is these two numbers only.
type seqTrack struct {
	next uint32 // lowest sequence number not yet received; starts at 1
	max  uint32
}

// verdict classifies one delivery.
type verdict uint8

const (
	deliveryNew        verdict = iota // first time this (sender, seq) arrives, in order
	deliveryOutOfOrder                // first time, but after a later seq of the same sender
	deliveryDuplicate                 // this (sender, seq) arrived before
)

// checker is one receiver's state. It is used by the receiver's reader
// goroutine only, so it needs no lock.
type checker struct {
	// room and rooms place stable senders: sender i is in room i % rooms and
	// has rank i / rooms there, which indexes slots.
	room, rooms uint32
	stable      uint32 // senders below this are stable sessions
	slots       []seqTrack
	// extra holds senders outside slots (churners), made on first sight.
	extra map[uint32]*seqTrack
	// gaps holds (sender<<32 | seq) received above a sender's next: empty
	// unless the server reorders or loses, so it costs nothing normally.
	gaps map[uint64]struct{}

	unique, duplicates, outOfOrder uint64
}

// newChecker makes the state for a receiver in room of a run with stable
// sessions spread over rooms, sized for the room's members.
func newChecker(room, rooms, stable uint32) *checker {
	members := stable / rooms
	if room < stable%rooms {
		members++
	}
	return &checker{room: room, rooms: rooms, stable: stable, slots: make([]seqTrack, members)}
}

// inRoom reports whether a stable sender belongs to this receiver's room; a
// message from a stable sender of another room was misrouted.
func (c *checker) inRoom(sender uint32) bool {
	return sender >= c.stable || sender%c.rooms == c.room
}

func (c *checker) track(sender uint32) *seqTrack {
	if sender < c.stable && sender%c.rooms == c.room {
		return &c.slots[sender/c.rooms]
	}
	t := c.extra[sender]
	if t == nil {
		if c.extra == nil {
			c.extra = make(map[uint32]*seqTrack)
		}
		t = &seqTrack{}
		c.extra[sender] = t
	}
	return t
}

// observe records the delivery of seq (from 1) from sender.
func (c *checker) observe(sender, seq uint32) verdict {
	t := c.track(sender)
	if t.next == 0 {
		t.next = 1
	}
	key := uint64(sender)<<32 | uint64(seq)
	switch {
	case seq < t.next:
		c.duplicates++
		return deliveryDuplicate
	case seq == t.next:
		t.next++
		for len(c.gaps) > 0 {
			k := uint64(sender)<<32 | uint64(t.next)
			if _, ok := c.gaps[k]; !ok {
				break
			}
			delete(c.gaps, k)
			t.next++
		}
	default:
		if _, ok := c.gaps[key]; ok {
			c.duplicates++
			return deliveryDuplicate
		}
		if c.gaps == nil {
			c.gaps = make(map[uint64]struct{})
		}
		c.gaps[key] = struct{}{}
	}
	c.unique++
	late := seq < t.max
	t.max = max(t.max, seq)
	if late {
		c.outOfOrder++
		return deliveryOutOfOrder
	}
	return deliveryNew
}
