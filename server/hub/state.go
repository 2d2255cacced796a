package hub

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"chat/internal/wire"
)

// The hub's side of persistence (state.go writes the file): the room list
// and, for each room, a high-water mark of its sequence numbers, so that a
// restarted server neither reuses a Seq a client has seen nor makes a
// reconnecting client believe thousands of messages were lost.
//
// Sequence numbers are reserved in blocks, like an ID allocator: the state
// records for each room a number no Seq handed out has passed, and a new
// block is recorded when a room uses up half of the current one. So the
// file changes about once per seqBlock/2 messages of a room, never per
// message, and after a crash (kill -9) the restarted room continues above
// every Seq it used. A graceful shutdown records the exact last Seq
// instead, so after it the room continues exactly and a client is told the
// exact number of messages said before the restart that it missed.
const seqBlock = 1024

// RoomState is one room as the state file keeps it.
type RoomState struct {
	Name string `json:"name"`
	// Seq is the room's last sequence number when the state is exact, and
	// otherwise a number no sequence number handed out has passed.
	Seq uint64 `json:"seq"`
	// What the room's operators set (channel.go): the topic, who set it
	// and when, the modes ("+int"), key, member limit and bans, and the
	// operators who hold accounts (a guest's standing ends with it).
	Created int64    `json:"created,omitempty"` // Unix ms
	Topic   string   `json:"topic,omitempty"`
	TopicBy string   `json:"topic_by,omitempty"`
	TopicAt int64    `json:"topic_at,omitempty"`
	Modes   string   `json:"modes,omitempty"`
	Key     string   `json:"key,omitempty"`
	Limit   int      `json:"limit,omitempty"`
	Ops     []string `json:"ops,omitempty"`
	Bans    []string `json:"bans,omitempty"`
}

// StateVersion changes whenever the persistent state changes: a room is
// created or a room reserves a new block of sequence numbers. The loop
// compares it after each round to know when to save.
func (h *Hub) StateVersion() uint64 { return h.stateVer }

// RoomStates returns the persistent state, sorted by room name. exact
// gives each room's last Seq (for the final save of a graceful shutdown);
// otherwise each room's reserved high-water mark.
func (h *Hub) RoomStates(exact bool) []RoomState {
	rs := make([]RoomState, 0, len(h.rooms))
	for _, r := range h.sortedRooms() {
		rs = append(rs, h.roomStateOf(r, exact))
	}
	return rs
}

// roomStateOf is r as the state keeps it (RoomStates).
func (h *Hub) roomStateOf(r *room, exact bool) RoomState {
	seq := r.reserved
	if exact {
		seq = max(r.seq, r.next)
	}
	st := RoomState{Name: r.name, Seq: seq, Created: r.created, Topic: r.topic, TopicBy: r.topicBy, TopicAt: r.topicAt,
		Modes: r.flagString(), Key: r.key, Limit: r.limit, Bans: slices.Clone(r.bans)}
	for name := range r.ops {
		if u := h.names[name]; u == nil || !u.guest {
			st.Ops = append(st.Ops, name)
		}
	}
	slices.Sort(st.Ops)
	return st
}

// Restore recreates rooms from a saved state, before any session connects.
// exact says the saved Seqs are the rooms' last ones (a graceful shutdown);
// otherwise they are high-water marks and the true last Seq is unknown.
// Messages said before the restart are not kept, and History says so,
// unless the hub is Durable: the caller then gives each room's last
// stored Seq, and History reads the older messages from the store.
func (h *Hub) Restore(rooms []RoomState, exact bool) error {
	for _, rs := range rooms {
		if err := wire.ValidName(rs.Name); err != nil {
			return fmt.Errorf("bad room name %q", rs.Name)
		}
		if h.room(rs.Name) != nil {
			return fmt.Errorf("room %s is listed twice", rs.Name)
		}
		r := &room{name: rs.Name, seq: rs.Seq, next: rs.Seq, reserved: rs.Seq + seqBlock}
		if h.cfg.Durable {
			// The store keeps what came before; the cache starts empty.
			r.history.from = rs.Seq
		} else {
			r.restartSeq, r.restartExact = rs.Seq, exact
		}
		if err := r.restoreChannel(rs); err != nil {
			return fmt.Errorf("room %s: %w", rs.Name, err)
		}
		h.rooms[fold(rs.Name)] = r
	}
	if len(rooms) > 0 {
		h.stateVer++
	}
	return nil
}

// restoreChannel sets what the room's operators had set. A state written
// before rooms had modes has none: the room gets the defaults.
func (r *room) restoreChannel(rs RoomState) error {
	r.created = rs.Created
	if validTopic(rs.Topic) {
		r.topic, r.topicBy, r.topicAt = wire.CutAtRune(rs.Topic, MaxTopicBytes), rs.TopicBy, rs.TopicAt
	}
	r.modes = defaultModes
	if rs.Modes != "" {
		r.modes = 0
		for _, c := range strings.TrimPrefix(rs.Modes, "+") {
			if c == 'k' || c == 'l' {
				continue // their values are Key and Limit
			}
			i := slices.IndexFunc(flagModes, func(f flagMode) bool { return rune(f.letter) == c })
			if i < 0 {
				return fmt.Errorf("unknown mode %q", c)
			}
			r.modes |= flagModes[i].bit
		}
	}
	if rs.Limit < 0 {
		return fmt.Errorf("negative member limit %d", rs.Limit)
	}
	r.key, r.limit = rs.Key, rs.Limit
	for _, name := range rs.Ops {
		r.setOp(name, true)
	}
	r.bans = slices.Clone(rs.Bans)
	return nil
}

// flagString is r's flag modes, "+nt": the key and limit are kept apart.
func (r *room) flagString() string {
	b := []byte{'+'}
	for _, f := range flagModes {
		if r.modes&f.bit != 0 {
			b = append(b, f.letter)
		}
	}
	return string(b)
}

// nextSeq hands out a room's next sequence number, reserving a new block
// in the state when half of the current one is used up.
func (h *Hub) nextSeq(r *room) uint64 {
	var n uint64
	if h.cfg.Durable {
		// Shown only once stored (store.go): seq catches up then.
		r.next = max(r.next, r.seq) + 1
		n = r.next
	} else {
		r.seq++
		n = r.seq
	}
	if n+seqBlock/2 > r.reserved {
		r.reserved = n + seqBlock
		h.stateVer++
	}
	return n
}

// newRoom adds an empty room and marks the state changed.
func (h *Hub) newRoom(name string, now time.Time) *room {
	r := &room{name: name, reserved: seqBlock}
	r.created = ms(now)
	r.modes = defaultModes
	h.rooms[fold(name)] = r
	h.stateVer++
	return r
}

func (h *Hub) sortedRooms() []*room {
	rs := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *room) int { return strings.Compare(a.name, b.name) })
	return rs
}
