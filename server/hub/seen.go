package hub

// What each registered user last saw of each room: the room's Seq when
// they left it (leave, another room, logout, a lost connection). Entering
// the room again tells them how many messages came since (the Count of
// the reply), so a client can offer the last few. Guests are not
// remembered: their names are anyone's next.
//
// A durable hub's loop takes the changes (TakeSeen) to keep them in the
// message store, which gives them back at start (RestoreSeen).

// Seen is one user's last Seq of one room.
type Seen struct {
	Name string
	Room string // as the room is named
	Seq  uint64
}

// rememberSeen notes that s leaves r having seen it up to its last Seq.
func (h *Hub) rememberSeen(s *session, r *room) {
	if s.name == "" || s.guest || h.names[s.name] != s {
		return
	}
	rooms := h.seen[s.name]
	if rooms == nil {
		rooms = make(map[string]uint64)
		h.seen[s.name] = rooms
	}
	key := fold(r.name)
	if seq, ok := rooms[key]; ok && seq == r.seq {
		return
	}
	rooms[key] = r.seq
	if h.cfg.Durable {
		h.seenChanged = append(h.seenChanged, Seen{Name: s.name, Room: r.name, Seq: r.seq})
	}
}

// sinceSeen is how many messages r has had since s's user last left it.
func (h *Hub) sinceSeen(s *session, r *room) uint64 {
	seq, ok := h.seen[s.name][fold(r.name)]
	if !ok || s.guest || r.seq <= seq {
		return 0
	}
	return r.seq - seq
}

// TakeSeen returns what changed since the last call, oldest first.
func (h *Hub) TakeSeen() []Seen {
	ch := h.seenChanged
	h.seenChanged = nil
	return ch
}

// RestoreSeen loads what users last saw (user → room → Seq), before any
// session connects.
func (h *Hub) RestoreSeen(seen map[string]map[string]uint64) {
	for name, rooms := range seen {
		for room, seq := range rooms {
			if h.seen[name] == nil {
				h.seen[name] = make(map[string]uint64)
			}
			h.seen[name][fold(room)] = seq
		}
	}
}
