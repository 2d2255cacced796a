package hub

import (
	"slices"
	"strings"
	"time"

	"chat/internal/wire"
)

// Membership: a session is in any number of rooms up to Config.MaxJoined.
// Join (an IRC client's JOIN) adds a room to those it is in; Enter (the
// rooms client's command) leaves them all first, so a rooms client is in
// one room at a time as seed 000 says.

// membership is one room a session is in.
type membership struct {
	room *room
	// joinSeq is the room's last Seq when the session entered it: later
	// messages were sent to it live, so History does not replay them.
	joinSeq uint64
}

// fold is the key room names are compared by (wire.FoldName): "#Lounge"
// and "#lounge" are one room, as IRC users expect; the room keeps the case
// it was given. User names are compared exactly, as seeds 001 and 003 say
// ("case sensitive"): "Bob" and "bob" are two users.
func fold(name string) string { return wire.FoldName(name) }

// room returns the room of that name, nil if there is none.
func (h *Hub) room(name string) *room { return h.rooms[fold(name)] }

// user returns the logged-in session of that name, nil if there is none.
func (h *Hub) user(name string) *session { return h.names[name] }

// in returns the index of r among s's rooms, -1 if s is not in it.
func (s *session) in(r *room) int {
	for i, m := range s.joined {
		if m.room == r {
			return i
		}
	}
	return -1
}

// only returns the room s is in when it is in exactly one, else nil.
func (s *session) only() *room {
	if len(s.joined) == 1 {
		return s.joined[0].room
	}
	return nil
}

// admit checks that s may enter r (bans, invitation, key, member limit)
// and returns the refusal, OK if none. How many rooms s is in is Join's
// to check, before it makes a room. An
// invitation opens an invite-only room, as RFC 2811 says, and nothing
// else: a ban, a key or a limit still hold, so a member cannot let a
// banned user back in. The room's own operators and server operators
// pass all of them.
func (h *Hub) admit(s *session, r *room, key string) (wire.Code, string) {
	runs := r.runs(s)
	switch {
	case r.banned(s) && !runs:
		return wire.ErrBanned, "you are banned from " + r.name
	case r.modes&modeInviteOnly != 0 && !r.invited[s.name] && !runs:
		return wire.ErrInviteOnly, r.name + " is invite only; ask one of its operators for an invitation"
	case r.key != "" && key != r.key && !runs:
		return wire.ErrBadKey, r.name + " has a key; enter it with the key"
	case r.limit > 0 && len(r.members) >= r.limit && !runs:
		return wire.ErrRoomFull, r.name + " is full"
	}
	return wire.OK, ""
}

// enterRoom adds s to r, telling the members, and replies to the request
// with the room's state: its Seq, topic, modes and members.
func (h *Hub) enterRoom(out *outputs, s *session, r *room, id uint32, now time.Time) {
	others := make([]string, 0, len(r.members))
	for _, m := range r.members {
		others = append(others, m.name)
	}
	slices.Sort(others)
	entered := h.notice(now, wire.NoticeEntered, s.name, r.name, s.name+" entered "+r.name)
	out.toRoom(r, nil, entered)
	if len(r.members) == 0 && !r.hasOperator(h) {
		// An empty room nobody runs (new, or its last operator was a
		// guest who left) is run by whoever enters it, as an IRC channel
		// that emptied is made again; a room with members and no
		// operator stays so until a server operator gives it one.
		r.setOp(s.name, true)
		h.stateVer++ // a registered operator is saved
	}
	delete(r.invited, s.name)
	r.members = append(r.members, s)
	s.joined = append(s.joined, membership{room: r, joinSeq: r.seq})
	if h.clustered() {
		st := h.roomStateOf(r, true)
		h.publish(out, &RoomEvent{Notice: entered, Rooms: []string{r.name}, State: &st, Prefix: r.prefix(s)})
	}
	text := "you entered " + r.name
	if len(others) > 0 {
		text += " with " + strings.Join(others, ", ")
	}
	if r.topic != "" {
		text += "; topic: " + r.topic
	}
	rep := h.reply(now, id, wire.OK, text)
	h.roomState(rep, r, s)
	rep.Users = h.members(r)
	rep.Count = h.sinceSeen(s, r)
	out.send(s.id, rep)
}

// roomState sets what a reply says of a room: its name, last Seq, topic
// and modes (the key only to a member, who could enter without it).
func (h *Hub) roomState(f *wire.Frame, r *room, s *session) {
	f.Room, f.Seq = r.name, r.seq
	f.Words, f.By, f.At = r.topic, r.topicBy, r.topicAt
	f.Mode = r.modeString(s.in(r) >= 0)
}

// members lists r's members with their standing in it, in order of entry.
func (h *Hub) members(r *room) []wire.User {
	users := make([]wire.User, 0, len(r.members))
	for _, m := range r.members {
		users = append(users, h.userRow(m, r))
	}
	return users
}

// leaveRoom takes s out of r, telling the others with the words s left
// with; it is the caller's to know that s is in r.
func (h *Hub) leaveRoom(out *outputs, s *session, r *room, words string, now time.Time) {
	h.drop(s, r)
	text := s.name + " left " + r.name
	if words != "" {
		text += " (" + words + ")"
	}
	n := h.notice(now, wire.NoticeLeft, s.name, r.name, text)
	n.Words = words
	out.toRoom(r, nil, n)
	h.publish(out, &RoomEvent{Notice: n, Rooms: []string{r.name}})
}

// leaveRooms takes s out of every room it is in, telling each.
func (h *Hub) leaveRooms(out *outputs, s *session, words string, now time.Time) {
	for len(s.joined) > 0 {
		h.leaveRoom(out, s, s.joined[0].room, words, now)
	}
}

// drop takes s out of r, silently. A guest's standing in the room goes
// with it; a registered operator stays one.
func (h *Hub) drop(s *session, r *room) {
	h.rememberSeen(s, r)
	if i := s.in(r); i >= 0 {
		s.joined = slices.Delete(s.joined, i, i+1)
	}
	r.remove(s)
	r.setVoice(s.name, false)
	if s.guest {
		r.setOp(s.name, false)
	}
}

// leaveAll takes s out of every room, silently.
func (h *Hub) leaveAll(s *session) {
	for len(s.joined) > 0 {
		h.drop(s, s.joined[0].room)
	}
	s.joined = nil
}

// tellSharers sends every other session that shares a room with s one
// notice, made by notice for the first room they share: a user who logs
// out of three rooms is one QUIT to someone in all three.
func (h *Hub) tellSharers(out *outputs, s *session, notice func(r *room) *wire.Frame) {
	h.mark++
	s.mark = h.mark
	for _, j := range s.joined {
		var n *wire.Frame
		for _, m := range j.room.members {
			if m.mark == h.mark || m.closing || !m.local() {
				continue
			}
			m.mark = h.mark
			if n == nil {
				n = notice(j.room)
			}
			out.send(m.id, n)
		}
	}
}

// tellShared is tellSharers for a notice the other nodes hear too.
func (h *Hub) tellShared(out *outputs, s *session, notice func(r *room) *wire.Frame) {
	h.publishShared(out, s, notice)
	h.tellSharers(out, s, notice)
}

// quitNotice is what the members of r hear when s logs out with words.
func (h *Hub) quitNotice(now time.Time, s *session, r *room, words string) *wire.Frame {
	text := s.name + " left " + r.name
	if words != "" {
		text += " (" + words + ")"
	}
	n := h.notice(now, wire.NoticeQuit, s.name, r.name, text)
	n.Words = words
	return n
}

// quit logs s out of every room it is in with its parting words, telling
// each session that shared one once.
func (h *Hub) quit(out *outputs, s *session, words string, now time.Time) {
	h.tellShared(out, s, func(r *room) *wire.Frame { return h.quitNotice(now, s, r, words) })
	h.leaveAll(s)
}

// forgetGuest drops a guest's name from every room's operators, voices
// and invitations, so that whoever takes the name next inherits nothing.
func (h *Hub) forgetGuest(name string) {
	for _, r := range h.rooms {
		if r.ops[name] || r.voiced[name] || r.invited[name] {
			delete(r.ops, name)
			delete(r.voiced, name)
			delete(r.invited, name)
		}
	}
}
