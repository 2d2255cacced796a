package hub

import (
	"fmt"
	"slices"
	"strings"

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
		seq := r.reserved
		if exact {
			seq = r.seq
		}
		rs = append(rs, RoomState{Name: r.name, Seq: seq})
	}
	return rs
}

// Restore recreates rooms from a saved state, before any session connects.
// exact says the saved Seqs are the rooms' last ones (a graceful shutdown);
// otherwise they are high-water marks and the true last Seq is unknown.
// Messages said before the restart are not kept: History says so.
func (h *Hub) Restore(rooms []RoomState, exact bool) error {
	for _, rs := range rooms {
		if err := wire.ValidName(rs.Name); err != nil {
			return fmt.Errorf("bad room name %q", rs.Name)
		}
		if h.rooms[rs.Name] != nil {
			return fmt.Errorf("room %s is listed twice", rs.Name)
		}
		h.rooms[rs.Name] = &room{name: rs.Name, seq: rs.Seq, reserved: rs.Seq + seqBlock,
			restartSeq: rs.Seq, restartExact: exact}
	}
	if len(rooms) > 0 {
		h.stateVer++
	}
	return nil
}

// nextSeq hands out a room's next sequence number, reserving a new block
// in the state when half of the current one is used up.
func (h *Hub) nextSeq(r *room) uint64 {
	r.seq++
	if r.seq+seqBlock/2 > r.reserved {
		r.reserved = r.seq + seqBlock
		h.stateVer++
	}
	return r.seq
}

// newRoom adds an empty room and marks the state changed.
func (h *Hub) newRoom(name string) {
	h.rooms[name] = &room{name: name, reserved: seqBlock}
	h.stateVer++
}

func (h *Hub) sortedRooms() []*room {
	rs := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *room) int { return strings.Compare(a.name, b.name) })
	return rs
}
