package hub

import (
	"slices"
	"strings"
	"time"

	"chat/internal/wire"
)

// The hub's side of a cluster (Config.Node set): several servers, each
// with its own hub, are one chat. Each hub owns its own sessions; the
// others' users are remote sessions (session.node set), known from the
// names the store says are held (RemoteName) and from the room events the
// other nodes publish (Event), and shown in who, whois and members lists
// like any user, but never sent anything: their own node shows them what
// they should see. Room messages need nothing more, the store's stream
// shows them on every node (store.go).
//
// A name is held by one session in the whole cluster: the store's names
// bucket says which (an atomic create). A login or a guest's claim is
// complete only once its NameClaim is won; a name held on another node is
// asked for (the node closes that session, as a takeover does here) and
// then replaced. A name let go is released in the store (TakeReleases).

// Owner is who holds a name in a cluster: a session of a node.
type Owner struct {
	Node    string
	Session int64
	Guest   bool
}

// ClaimKind says what a NameClaim asks of the store.
type ClaimKind uint8

const (
	// ClaimCreate takes Name if nobody holds it.
	ClaimCreate ClaimKind = iota + 1
	// ClaimReplace takes Name from From, if From still holds it (or
	// nobody does).
	ClaimReplace
	// ClaimAsk asks From's node to close From's session and let the name
	// go; its outcome is OK once the node did, or is gone.
	ClaimAsk
	// ClaimRelease lets go of Name, if this session still holds it. It
	// has no outcome.
	ClaimRelease
)

// maxClaimRounds bounds how often one login asks for a name that keeps
// changing hands under it.
const maxClaimRounds = 4

// NameClaim is one step of taking a name in the cluster's names bucket.
type NameClaim struct {
	Kind    ClaimKind
	Session SessionID
	ReqID   uint32
	Name    string
	Guest   bool
	From    Owner // ClaimReplace's and ClaimAsk's holder
	rounds  int

	// The outcome, set by the loop before ClaimDone: the name's holder
	// when it was not ours to take (Create, Replace), or why it could not
	// be done (the store away, the holder's node not answering).
	Held    *Owner
	Failure StoreFailure
	Detail  string
}

// Owner is the holder a claim makes of its session on node.
func (c *NameClaim) Owner(node string) Owner {
	return Owner{Node: node, Session: int64(c.Session), Guest: c.Guest}
}

// RoomEvent is what the other nodes are told of a change in rooms made
// here: a user entering or leaving (Notice's Code and Name say which),
// quitting or lost (every room they were in, Rooms), renamed, kicked, a
// topic or modes set, or a room made (no Notice). The node a user is on is
// the only one to publish events about them, so a room's events come in
// one order, with its messages (the store's stream).
type RoomEvent struct {
	Node   string      `json:"node"`
	Notice *wire.Frame `json:"notice,omitempty"`
	Rooms  []string    `json:"rooms"`
	// Silent: the change is not shown (a session taken over from another
	// node carries on in its rooms).
	Silent bool `json:"silent,omitempty"`
	// State is the room's when it was made or entered, so that a node
	// that did not know the room has it.
	State *RoomState `json:"state,omitempty"`
	// Prefix is the standing in the room of a user entering it ("@",
	// "+"): a guest's, which State does not keep, too.
	Prefix string `json:"prefix,omitempty"`
}

// Forward is a frame for a user of another node (a private message, a
// broadcast), which that node shows them.
type Forward struct {
	Node  string      `json:"node"`
	To    string      `json:"to"`
	Frame *wire.Frame `json:"frame"`
	// Kill: Frame is the Bye of a server operator's kill (By), which the
	// user's node carries out.
	Kill bool `json:"kill,omitempty"`
}

// sendTo sends f to u, here or on u's node.
func (h *Hub) sendTo(out *outputs, u *session, f *wire.Frame) {
	if u.local() {
		out.send(u.id, f)
		return
	}
	*out = append(*out, Output{Forward: &Forward{Node: u.node, To: u.name, Frame: f}})
}

// Forwarded shows a frame another node forwarded to a user here; one who
// is no longer here does not get it.
func (h *Hub) Forwarded(fw *Forward) []Output {
	u := h.names[fw.To]
	if u == nil || !u.local() || u.closing || fw.Frame == nil {
		return nil
	}
	if fw.Kill {
		var out outputs
		h.disconnect(&out, u, fw.Frame.By, fw.Frame.Text, time.UnixMilli(fw.Frame.Time))
		return out
	}
	return []Output{{To: u.id, Frame: fw.Frame}}
}

// clustered reports whether the hub is one node of a cluster.
func (h *Hub) clustered() bool { return h.cfg.Node != "" }

// local reports whether s is a session of this node.
func (s *session) local() bool { return s.node == "" }

// publish tells the other nodes of a change in rooms.
func (h *Hub) publish(out *outputs, ev *RoomEvent) {
	if !h.clustered() {
		return
	}
	ev.Node = h.cfg.Node
	*out = append(*out, Output{Event: ev})
}

// announce shows notice n to r's members here and tells the other nodes.
func (h *Hub) announce(out *outputs, r *room, n *wire.Frame) {
	out.toRoom(r, nil, n)
	h.publish(out, &RoomEvent{Notice: n, Rooms: []string{r.name}})
}

// publishShared tells the other nodes of a notice about s that its rooms'
// members hear once each (tellSharers): a quit, a loss, a new name.
func (h *Hub) publishShared(out *outputs, s *session, notice func(r *room) *wire.Frame) {
	if !h.clustered() || len(s.joined) == 0 || !s.local() {
		return
	}
	ev := &RoomEvent{Notice: notice(s.joined[0].room)}
	for _, j := range s.joined {
		ev.Rooms = append(ev.Rooms, j.room.name)
	}
	h.publish(out, ev)
}

// claimName asks the store for name before a login or a guest's claim
// completes; the session's frames wait for the outcome (ClaimDone).
func (h *Hub) claimName(out *outputs, s *session, reqID uint32, name string, guest bool) {
	s.verifying = true
	*out = append(*out, Output{To: s.id, Claim: &NameClaim{Kind: ClaimCreate, Session: s.id, ReqID: reqID, Name: name, Guest: guest}})
}

// ClaimDone takes the outcome of a NameClaim and returns its effects: the
// login or claim completed, refused, or the claim's next step.
func (h *Hub) ClaimDone(c *NameClaim, now time.Time) []Output {
	var out outputs
	if c.Kind == ClaimRelease {
		return nil
	}
	s := h.sessions[c.Session]
	if s == nil || s.closing || !s.verifying {
		if c.Held == nil && c.Failure == StoreOK && c.Kind != ClaimAsk {
			// Won for a session that is gone: let it go again.
			h.releases = append(h.releases, NameClaim{Kind: ClaimRelease, Session: c.Session, Name: c.Name, Guest: c.Guest})
		}
		return nil
	}
	next := func(kind ClaimKind, from Owner) {
		if c.rounds++; c.rounds > maxClaimRounds {
			s.verifying = false
			out.send(s.id, h.reply(now, c.ReqID, wire.ErrUnavailable, "the name "+c.Name+" is changing hands on another server; try again in a moment"))
			return
		}
		c.Kind, c.From, c.Held, c.Failure, c.Detail = kind, from, nil, StoreOK, ""
		out = append(out, Output{To: s.id, Claim: c})
	}
	switch {
	case h.shutdown:
		s.verifying = false
		out.send(s.id, h.reply(now, c.ReqID, wire.ErrUnavailable, "the server is shutting down"))
	case c.Failure != StoreOK:
		s.verifying = false
		text := "you cannot log in right now: the servers' record of names does not answer; try again shortly"
		if c.Kind == ClaimAsk {
			text = c.Name + " is logged in on another server, which does not answer; try again shortly"
		}
		out.send(s.id, h.reply(now, c.ReqID, wire.ErrUnavailable, text))
	case c.Kind == ClaimAsk:
		next(ClaimReplace, c.From)
	case c.Held == nil:
		s.verifying = false
		if s.name != "" {
			h.renamed(&out, s, c.ReqID, c.Name, now)
		} else if c.Guest {
			h.guestIn(&out, s, c.ReqID, c.Name, now)
		} else {
			h.loggedIn(&out, s, c.ReqID, c.Name, now)
		}
	case c.Guest && !(c.Held.Node == h.cfg.Node && h.sessions[SessionID(c.Held.Session)] == nil):
		s.verifying = false
		out.send(s.id, h.reply(now, c.ReqID, wire.ErrNameTaken, "the name "+c.Name+" is in use; choose another"))
	case c.Held.Node == h.cfg.Node:
		// Held here: by a session the login takes over (loggedIn closes
		// it), or by one that is gone and whose release is on its way.
		next(ClaimReplace, *c.Held)
	default:
		next(ClaimAsk, *c.Held)
	}
	return out
}

// TakeReleases returns the names let go since the last call, for the loop
// to release in the store.
func (h *Hub) TakeReleases() []NameClaim {
	r := h.releases
	h.releases = nil
	return r
}

// release lets go of s's name in the cluster. At shutdown the names stay
// this node's: its users' clients log in on another node, taking them
// over, and the node that cleans up after this one tells the rooms of
// those who did not.
func (h *Hub) release(s *session) {
	if h.clustered() && s.local() && s.name != "" && !h.shutdown {
		h.releases = append(h.releases, NameClaim{Kind: ClaimRelease, Session: s.id, Name: s.name, Guest: s.guest})
	}
}

// TakeoverAsked closes this node's session holding name, as a login on
// another node asked (ClaimAsk): the session's rooms carry on with that
// login, so they are told nothing. A session that is not here (gone, or
// another one now) is left alone: the asker's replace finds out.
func (h *Hub) TakeoverAsked(name string, session int64, now time.Time) []Output {
	s := h.names[name]
	if s == nil || !s.local() || s.closing || int64(s.id) != session {
		return nil
	}
	var out outputs
	h.endTransfersOf(&out, s, now)
	out.send(s.id, h.bye(now, wire.ByeTakeover, "you logged in on another server"))
	out = append(out, Output{To: s.id, Close: true})
	// Its rooms are the new session's: no events, no release (the
	// asker replaces the name).
	s.closing = true
	h.leaveAll(s)
	delete(h.names, s.name)
	h.remember(s)
	return out
}

// remote returns the remote session of name on node, made if need be; a
// name held here is left alone (nil).
func (h *Hub) remote(name, node string) *session {
	u := h.names[name]
	switch {
	case u == nil:
		h.remoteSerial--
		u = &session{id: SessionID(h.remoteSerial), name: name, node: node}
		h.names[name] = u
	case !u.local():
		u.node = node
	default:
		return nil
	}
	return u
}

// RemoteName takes a change in the cluster's names: name is now held by o
// (nil: by nobody). A remote user comes or goes; a session here whose name
// another node took (its login won while this node was cut off) is closed.
func (h *Hub) RemoteName(name string, o *Owner, now time.Time) []Output {
	var out outputs
	u := h.names[name]
	switch {
	case o != nil && o.Node == h.cfg.Node:
		// Ours: the claim's outcome says so too.
	case o != nil:
		if u != nil && u.local() && !u.closing {
			if h.sessions[u.id] != nil && u.verifying {
				return nil
			}
			out.send(u.id, h.bye(now, wire.ByeTakeover, "you logged in on another server"))
			out = append(out, Output{To: u.id, Close: true})
			u.closing = true
			h.leaveAll(u)
			delete(h.names, name)
			h.remember(u)
		}
		if r := h.remote(name, o.Node); r != nil {
			r.guest = o.Guest
		}
	case u != nil && !u.local():
		// Gone. It stays in its rooms until the event that says how
		// (left, quit, lost) comes: the stream and the names bucket are
		// two ways, in no order.
		delete(h.names, name)
	}
	return out
}

// remoteMember returns the remote member of one of rooms called name.
func (h *Hub) remoteMember(rooms []string, name string) *session {
	for _, rn := range rooms {
		if r := h.room(rn); r != nil {
			for _, m := range r.members {
				if m.name == name && !m.local() {
					return m
				}
			}
		}
	}
	return nil
}

// Event takes a room event another node published and shows it here.
func (h *Hub) Event(ev *RoomEvent, now time.Time) []Output {
	if ev.Node == h.cfg.Node || len(ev.Rooms) == 0 {
		return nil
	}
	var out outputs
	n := ev.Notice
	if n == nil {
		if ev.State != nil && h.room(ev.State.Name) == nil {
			h.restoreRoom(*ev.State)
		}
		return nil
	}
	switch n.Code {
	case wire.NoticeEntered:
		r := h.room(ev.Rooms[0])
		if r == nil && ev.State != nil {
			r = h.restoreRoom(*ev.State)
		}
		u := h.remote(n.Name, ev.Node)
		if r == nil || u == nil || u.in(r) >= 0 {
			return nil
		}
		if !ev.Silent {
			out.toRoom(r, nil, n)
		}
		delete(r.invited, u.name)
		if strings.Contains(ev.Prefix, "@") {
			r.setOp(u.name, true)
		}
		if strings.Contains(ev.Prefix, "+") {
			r.setVoice(u.name, true)
		}
		r.members = append(r.members, u)
		u.joined = append(u.joined, membership{room: r, joinSeq: r.seq})
	case wire.NoticeLeft, wire.NoticeKicked:
		r := h.room(ev.Rooms[0])
		u := h.remoteMember(ev.Rooms[:1], n.Name)
		if u == nil && n.Code == wire.NoticeKicked {
			u = h.names[n.Name] // kicked from here by another node's operator
		}
		if r == nil || u == nil || u.in(r) < 0 || (n.Code == wire.NoticeLeft && u.node != ev.Node) {
			return nil
		}
		out.toRoom(r, nil, n)
		h.drop(u, r)
	case wire.NoticeQuit, wire.NoticeLost, wire.NoticeRenamed:
		u := h.remoteMember(ev.Rooms, n.Name)
		if u == nil || u.node != ev.Node {
			// Only the user's node speaks of them: a loss published
			// after their old node died is stale once they are back on
			// another one.
			return nil
		}
		if cur := h.names[n.Name]; n.Code == wire.NoticeLost && cur != nil && cur != u {
			// Back on another node before the dead one's loss was told:
			// what stays of them from the dead node goes without a word.
			h.leaveAll(u)
			return nil
		}
		h.tellSharers(&out, u, func(*room) *wire.Frame { return n })
		if n.Code == wire.NoticeRenamed {
			if h.names[u.name] == u {
				delete(h.names, u.name)
			}
			u.name = n.To
			if v := h.names[u.name]; v == nil || (!v.local() && len(v.joined) == 0) {
				h.names[u.name] = u
			}
		} else {
			h.leaveAll(u)
		}
	case wire.NoticeInvited:
		// Shown to the user by a forward; every node lets them in.
		if r := h.room(ev.Rooms[0]); r != nil {
			setFlag(&r.invited, n.Name, true)
		}
	case wire.NoticeTopic:
		if r := h.room(ev.Rooms[0]); r != nil {
			r.topic, r.topicBy, r.topicAt = n.Words, n.By, n.At
			out.toRoom(r, nil, n)
		}
	case wire.NoticeMode:
		if r := h.room(ev.Rooms[0]); r != nil {
			if changes, code, _ := parseModes(strings.Fields(n.Mode)); code == wire.OK {
				h.applyModes(r, changes)
			}
			out.toRoom(r, nil, n)
		}
	}
	return out
}

// restoreRoom makes a room another node made, from its state.
func (h *Hub) restoreRoom(st RoomState) *room {
	if wire.ValidName(st.Name) != nil || len(h.rooms) >= h.cfg.MaxRooms {
		return nil
	}
	r := &room{name: st.Name, seq: st.Seq, next: st.Seq, reserved: st.Seq + seqBlock}
	r.history.from = st.Seq
	if r.restoreChannel(st) != nil {
		r.modes = defaultModes
	}
	h.rooms[fold(st.Name)] = r
	return r
}

// RestoreMembers puts the other nodes' users in their rooms, as the
// store's members bucket has them at start.
func (h *Hub) RestoreMembers(members map[string][]string, nodeOf func(name string) string) {
	for roomName, names := range members {
		r := h.room(roomName)
		if r == nil {
			continue
		}
		slices.Sort(names)
		for _, name := range names {
			node := nodeOf(name)
			if node == "" || node == h.cfg.Node {
				continue
			}
			if u := h.remote(name, node); u != nil && u.in(r) < 0 {
				r.members = append(r.members, u)
				u.joined = append(u.joined, membership{room: r, joinSeq: r.seq})
			}
		}
	}
}

// inheritRemote lets s carry on in the rooms old, a session of another
// node that s's login took over, was in, telling the other nodes
// silently; reply is s's login reply.
func (h *Hub) inheritRemote(out *outputs, s, old *session, reply *wire.Frame) {
	if len(old.joined) > 0 {
		h.inherit(s, old, reply)
		reply.Text = "welcome " + s.name + "; you are in " + roomNames(s) + ", taken over from your connection to another server"
		for _, j := range s.joined {
			st := h.roomStateOf(j.room, true)
			h.publish(out, &RoomEvent{Notice: h.notice(time.Time{}, wire.NoticeEntered, s.name, j.room.name, ""), Rooms: []string{j.room.name}, Silent: true, State: &st,
				Prefix: j.room.prefix(s)})
		}
	}
}

// roomNames lists the rooms s is in.
func roomNames(s *session) string {
	names := make([]string, 0, len(s.joined))
	for _, j := range s.joined {
		names = append(names, j.room.name)
	}
	return strings.Join(names, ", ")
}

// LostEvent is what a dead node's rooms are told of its user name, who was
// in rooms and did not come back on another node within the liveness
// window; the node that cleans up after it publishes it in its name.
func LostEvent(node, name string, rooms []string, now time.Time) *RoomEvent {
	slices.Sort(rooms)
	text := "contact with " + name + " was lost (their server stopped answering)"
	n := &wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeLost, From: wire.ServerName, Name: name, Room: rooms[0], Text: text, Time: ms(now),
		Words: "their server stopped answering"}
	return &RoomEvent{Node: node, Notice: n, Rooms: rooms}
}

// Isolated closes every session of this node, logged in or not, which
// lost its lease in the cluster: other nodes may now give their names to someone else, so they
// must reconnect (their clients go to another server) and log in again.
// Their rooms are told by the node that cleans up after this one.
func (h *Hub) Isolated(now time.Time) []Output {
	var out outputs
	notice := h.notice(now, wire.NoticeShutdown, "", "", "this server lost contact with the rest of the chat; reconnect")
	bye := h.bye(now, wire.ByeShutdown, "this server lost contact with the rest of the chat")
	for _, s := range h.sortedSessions() {
		if s.closing {
			continue
		}
		h.endTransfersOf(&out, s, now)
		// A session not logged in yet goes too: a login under way would
		// complete on a node whose users the others take as lost (its
		// claim, if won, is let go again: ClaimDone).
		if s.name != "" {
			out.send(s.id, notice)
		}
		out.send(s.id, bye)
		out = append(out, Output{To: s.id, Close: true})
		s.closing = true
		if s.name != "" {
			h.leaveAll(s)
			delete(h.names, s.name)
			h.remember(s)
		}
	}
	return out
}
