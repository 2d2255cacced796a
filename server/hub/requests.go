package hub

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"chat/internal/wire"
)

// Handle applies one decoded frame from a session and returns its effects.
// Every request gets exactly one Reply echoing its ID, unless the session is
// closing (the hub already said Bye) or unknown.
func (h *Hub) Handle(sid SessionID, f *wire.Frame, now time.Time) []Output {
	s := h.sessions[sid]
	if s == nil || s.closing {
		return nil
	}
	// The outputs are gathered in h.handling rather than in a local
	// variable: a handler is called through the rules table, so a pointer
	// to a local would make it escape, one allocation per request.
	h.handling, h.spare = h.spare, nil
	h.handle(&h.handling, s, f, now)
	out := h.handling
	h.handling = nil
	return out
}

// Recycle hands back a slice of outputs the caller has finished with, so
// the next Handle can reuse it instead of allocating one per message. The
// caller must not use outs afterwards. Calling it is optional.
func (h *Hub) Recycle(outs []Output) {
	if cap(outs) <= cap(h.spare) || cap(outs) > maxSpareOutputs {
		return
	}
	clear(outs) // drop the frames it points to
	h.spare = outs[:0]
}

// maxSpareOutputs bounds the slice Recycle keeps (a room's fan-out).
const maxSpareOutputs = 1 << 14

// BadFrame answers a frame whose body did not parse (its length prefix
// still framed it, so the connection goes on): Reply ErrBadRequest, id 0.
func (h *Hub) BadFrame(sid SessionID, now time.Time) []Output {
	s := h.sessions[sid]
	if s == nil || s.closing {
		return nil
	}
	return []Output{{To: sid, Frame: h.reply(now, 0, wire.ErrBadRequest, "malformed frame: it was ignored")}}
}

// A requestRule is what the hub checks of a request before its handler
// runs, so that each handler does only its request.
type requestRule struct {
	handler func(h *Hub, out *outputs, s *session, f *wire.Frame, now time.Time)
	// first: only as the first frame of a connection (Hello, or the Attach
	// that makes it a transfer's data connection); again is the answer to
	// one that comes later. Every other request needs the Hello first.
	first bool
	again string
	// login: only once logged in; guestsToo: before login as well on a
	// server open to guests (where anyone may take a name, so what it
	// answers is no secret: seed 003's list after logout).
	login     bool
	guestsToo bool
	// metered: counted by flood control (flood.go), refused when sent too
	// fast.
	metered bool
	// inRoom: only from a session in a room; the answer otherwise.
	inRoom string
}

// requestRules holds every request type the hub answers, indexed by type
// (an array: the lookup is on every request's path). A password-only
// server refuses everything but Hello, Ping, Login and Claim before login.
var requestRules = [...]requestRule{
	wire.TypeHello:  {handler: (*Hub).hello, first: true, again: "hello was already received on this connection"},
	wire.TypeAttach: {handler: (*Hub).attach, first: true, again: "attach must be the first frame of a new connection"},
	wire.TypePing:   {handler: (*Hub).ping},
	wire.TypeLogin:  {handler: (*Hub).login},
	wire.TypeClaim:  {handler: (*Hub).claim},

	wire.TypeLogout:    {handler: (*Hub).logout, login: true},
	wire.TypeCreate:    {handler: (*Hub).create, login: true},
	wire.TypeEnter:     {handler: (*Hub).enter, login: true},
	wire.TypeLeave:     {handler: (*Hub).leave, login: true, inRoom: "you are not in a room"},
	wire.TypeWho:       {handler: (*Hub).who, login: true, guestsToo: true},
	wire.TypeRooms:     {handler: (*Hub).listRooms, login: true},
	wire.TypeSay:       {handler: (*Hub).say, login: true, metered: true, inRoom: "you are not in a room; enter one with: enter ROOM"},
	wire.TypeTell:      {handler: (*Hub).tell, login: true, metered: true},
	wire.TypeHistory:   {handler: (*Hub).historyRequest, login: true},
	wire.TypeBroadcast: {handler: (*Hub).broadcast, login: true, metered: true},
	wire.TypeFetch:     {handler: (*Hub).fetch, login: true},
	wire.TypeRefuse:    {handler: (*Hub).refuse, login: true},
}

// handle checks a request against its rule and hands it to its handler.
// Every check that fails answers the request, so each gets exactly one
// Reply.
func (h *Hub) handle(out *outputs, s *session, f *wire.Frame, now time.Time) {
	replyTo := func(code wire.Code, text string) {
		out.send(s.id, h.reply(now, f.ID, code, text))
	}
	if f.Type == wire.TypePong {
		return // liveness only; the loop noted the activity
	}
	var rule requestRule
	if int(f.Type) < len(requestRules) {
		rule = requestRules[f.Type]
	}
	switch {
	case rule.handler == nil:
		replyTo(wire.ErrUnknown, "unknown request type "+strconv.Itoa(int(f.Type)))
	case f.ID == 0:
		replyTo(wire.ErrBadRequest, "bad request: every request needs a nonzero id")
	case h.shutdown:
		replyTo(wire.ErrUnavailable, "the server is shutting down")
	case !s.hello && !rule.first:
		replyTo(wire.ErrNoHello, "say hello first: the connection must start with a Hello")
	case s.hello && rule.first:
		replyTo(wire.ErrBadRequest, rule.again)
	case rule.login && s.name == "" && !(rule.guestsToo && h.cfg.Guests):
		replyTo(wire.ErrNotLoggedIn, "please log in first: login NAME")
	case rule.metered && !h.allowMessage(out, s, f, now):
		// refused: sending too fast (flood.go)
	case rule.inRoom != "" && s.room == nil:
		replyTo(wire.ErrNotInRoom, rule.inRoom)
	default:
		rule.handler(h, out, s, f, now)
	}
}

// hello answers the first frame of a chat connection: Version, Text.
func (h *Hub) hello(out *outputs, s *session, f *wire.Frame, now time.Time) {
	if f.Version != wire.Version {
		out.send(s.id, h.reply(now, f.ID, wire.ErrVersion, fmt.Sprintf("protocol version %d is not supported; this server speaks version %d", f.Version, wire.Version)))
		out.send(s.id, h.bye(now, wire.ByeMalformed, "unsupported protocol version"))
		*out = append(*out, Output{To: s.id, Close: true})
		h.detach(s)
		return
	}
	s.hello = true
	r := h.reply(now, f.ID, wire.OK, h.cfg.Software)
	r.Version = wire.Version
	out.send(s.id, r)
}

func (h *Hub) ping(out *outputs, s *session, f *wire.Frame, now time.Time) {
	out.send(s.id, h.reply(now, f.ID, wire.OK, "pong"))
}

// logout ends the login and leaves the room, the connection staying open:
// Text, the words the user left with.
func (h *Hub) logout(out *outputs, s *session, f *wire.Frame, now time.Time) {
	name := s.name
	h.endTransfersOf(out, s, now)
	h.leaveRoomSaying(out, s, partingWords(f.Text), now)
	delete(h.names, s.name)
	s.name, s.guest, s.failures = "", false, 0
	out.send(s.id, h.reply(now, f.ID, wire.OK, "goodbye "+name))
}

func (h *Hub) leave(out *outputs, s *session, f *wire.Frame, now time.Time) {
	name := s.room.name
	h.leaveRoom(out, s, now)
	out.send(s.id, h.reply(now, f.ID, wire.OK, "you left "+name))
}

func (h *Hub) login(out *outputs, s *session, f *wire.Frame, now time.Time) {
	if s.name != "" {
		out.send(s.id, h.reply(now, f.ID, wire.ErrLoggedIn, "you are already logged in as "+s.name))
		return
	}
	if wire.ValidName(f.Name) != nil {
		out.send(s.id, h.reply(now, f.ID, wire.ErrBadName, wire.BadNameText("user", f.Name)))
		return
	}
	if f.Secret == "" || len(f.Secret) > wire.MaxSecretBytes {
		// Not worth a hash: it cannot be right.
		h.loginFailed(out, s, f.ID, now)
		return
	}
	s.verifying = true
	*out = append(*out, Output{To: s.id, Verify: &VerifyRequest{Session: s.id, ReqID: f.ID, Name: f.Name, Secret: f.Secret}})
}

func (h *Hub) loginFailed(out *outputs, s *session, id uint32, now time.Time) {
	s.failures++
	out.send(s.id, h.reply(now, id, wire.ErrBadLogin, "login failed: wrong name or password"))
	if s.failures >= h.cfg.MaxLoginFailures {
		out.send(s.id, h.bye(now, wire.ByeLimit, fmt.Sprintf("too many failed logins (%d)", s.failures)))
		*out = append(*out, Output{To: s.id, Close: true})
		h.detach(s)
	}
}

// LoginResult completes a login after the password check ran. A session
// that ended meanwhile is ignored.
func (h *Hub) LoginResult(sid SessionID, reqID uint32, name string, v Verdict, now time.Time) []Output {
	s := h.sessions[sid]
	if s == nil || s.closing || !s.verifying {
		return nil
	}
	s.verifying = false
	var out outputs
	switch {
	case h.shutdown:
		out.send(sid, h.reply(now, reqID, wire.ErrUnavailable, "the server is shutting down"))
	case v == VerdictBusy:
		out.send(sid, h.reply(now, reqID, wire.ErrUnavailable, "the server is busy checking passwords; try again in a moment"))
	case v == VerdictUnavailable:
		out.send(sid, h.reply(now, reqID, wire.ErrUnavailable, "the server cannot check passwords right now; try again shortly"))
	case v != VerdictOK:
		h.loginFailed(&out, s, reqID, now)
	case s.name != "":
		// Cannot happen while the loop holds frames back during a check.
		out.send(sid, h.reply(now, reqID, wire.ErrLoggedIn, "you are already logged in as "+s.name))
	default:
		r := h.reply(now, reqID, wire.OK, "welcome "+name)
		r.Name = name
		if old := h.names[name]; old != nil {
			// Takeover: the new connection inherits the room, silently.
			out.send(old.id, h.bye(now, wire.ByeTakeover, "you logged in from another connection"))
			out = append(out, Output{To: old.id, Close: true})
			r.Text = "welcome " + name + "; your other connection was closed"
			if old.room != nil {
				r.Text = "welcome " + name + "; you are in " + old.room.name + ", taken over from your other connection"
				s.room = old.room
				s.room.replace(old, s)
				s.joinSeq = s.room.seq
				old.room = nil
				r.Room = s.room.name
				r.Seq = s.room.seq
			}
			h.detach(old)
		}
		s.name, s.guest, s.failures = name, false, 0
		h.names[name] = s
		out.send(sid, r)
	}
	return out
}

func (h *Hub) claim(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) { out.send(s.id, h.reply(now, f.ID, code, text)) }
	switch {
	case !h.cfg.Guests:
		reply(wire.ErrGuestsClosed, "this server allows no guests; log in with: login NAME")
	case s.name != "":
		reply(wire.ErrLoggedIn, "you are already logged in as "+s.name)
	case wire.ValidName(f.Name) != nil:
		reply(wire.ErrBadName, wire.BadNameText("user", f.Name))
	case h.names[f.Name] != nil:
		reply(wire.ErrNameTaken, "the name "+f.Name+" is in use; choose another")
	case h.cfg.IsRegistered != nil && h.cfg.IsRegistered(f.Name):
		reply(wire.ErrNameTaken, "the name "+f.Name+" belongs to a registered user; log in with: login "+f.Name)
	default:
		s.name, s.guest = f.Name, true
		h.names[f.Name] = s
		r := h.reply(now, f.ID, wire.OK, "welcome "+f.Name)
		r.Name = f.Name
		out.send(s.id, r)
	}
}

func (h *Hub) create(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) { out.send(s.id, h.reply(now, f.ID, code, text)) }
	switch {
	case wire.ValidName(f.Room) != nil:
		reply(wire.ErrBadName, wire.BadNameText("room", f.Room))
	case h.rooms[f.Room] != nil:
		reply(wire.ErrRoomExists, "room "+f.Room+" already exists")
	case len(h.rooms) >= h.cfg.MaxRooms:
		reply(wire.ErrLimit, fmt.Sprintf("cannot create room %s: the server has reached its limit of %d rooms", f.Room, h.cfg.MaxRooms))
	default:
		h.newRoom(f.Room)
		reply(wire.OK, "created room "+f.Room+"; enter it with: enter "+f.Room)
	}
}

func (h *Hub) enter(out *outputs, s *session, f *wire.Frame, now time.Time) {
	if wire.ValidName(f.Room) != nil {
		out.send(s.id, h.reply(now, f.ID, wire.ErrBadName, wire.BadNameText("room", f.Room)))
		return
	}
	r := h.rooms[f.Room]
	if r == nil {
		out.send(s.id, h.reply(now, f.ID, wire.ErrNoSuchRoom, "no room named "+f.Room+"; create it with: create "+f.Room))
		return
	}
	if s.room == r {
		rep := h.reply(now, f.ID, wire.OK, "you are already in "+r.name)
		rep.Room, rep.Seq = r.name, r.seq
		out.send(s.id, rep)
		return
	}
	h.leaveRoom(out, s, now)
	others := make([]string, 0, len(r.members))
	for _, m := range r.members {
		others = append(others, m.name)
	}
	slices.Sort(others)
	out.toRoom(r, nil, h.notice(now, wire.NoticeEntered, s.name, r.name, s.name+" entered "+r.name))
	r.members = append(r.members, s)
	s.room, s.joinSeq = r, r.seq
	text := "you entered " + r.name
	if len(others) > 0 {
		text += " with " + strings.Join(others, ", ")
	}
	rep := h.reply(now, f.ID, wire.OK, text)
	rep.Room, rep.Seq = r.name, r.seq
	out.send(s.id, rep)
}

// leaveRoom takes s out of its room, if any, and tells the others.
func (h *Hub) leaveRoom(out *outputs, s *session, now time.Time) {
	h.leaveRoomSaying(out, s, "", now)
}

// leaveRoomSaying is leaveRoom with the words the user left with (an IRC
// QUIT's message), shown after the notice.
func (h *Hub) leaveRoomSaying(out *outputs, s *session, words string, now time.Time) {
	r := s.room
	if r == nil {
		return
	}
	r.remove(s)
	s.room = nil
	text := s.name + " left " + r.name
	if words != "" {
		text += " (" + words + ")"
	}
	out.toRoom(r, nil, h.notice(now, wire.NoticeLeft, s.name, r.name, text))
}

// maxPartingWords bounds the words a logout may leave with, in bytes.
const maxPartingWords = 300

// partingWords returns the words a Logout carried, if they are fit to show:
// valid UTF-8 on one line, cut to maxPartingWords.
func partingWords(text string) string {
	if text == "" || !utf8.ValidString(text) || strings.ContainsAny(text, "\r\n") {
		return ""
	}
	if len(text) > maxPartingWords {
		text = wire.CutAtRune(text, maxPartingWords) + "…"
	}
	return text
}

// who lists the logged-in users and their rooms; with Room set, only that
// room's members (an IRC client's NAMES and WHO of a channel).
func (h *Hub) who(out *outputs, s *session, f *wire.Frame, now time.Time) {
	var users []wire.User
	text := ""
	if f.Room != "" {
		r := h.rooms[f.Room]
		if r == nil {
			out.send(s.id, h.reply(now, f.ID, wire.ErrNoSuchRoom, "no room named "+wire.QuoteName(f.Room)))
			return
		}
		users = make([]wire.User, 0, len(r.members))
		for _, m := range r.members {
			users = append(users, wire.User{Name: m.name, Room: r.name})
		}
		text = wire.Plural(len(users), "user", "users") + " in " + r.name
	} else {
		users = make([]wire.User, 0, len(h.names))
		for name, u := range h.names {
			e := wire.User{Name: name}
			if u.room != nil {
				e.Room = u.room.name
			}
			users = append(users, e)
		}
		text = wire.Plural(len(users), "user", "users") + " connected"
	}
	slices.SortFunc(users, func(a, b wire.User) int { return strings.Compare(a.Name, b.Name) })
	shown := fitFrame(len(users), func(i int) int { return len(users[i].Name) + len(users[i].Room) })
	if shown < len(users) {
		text += fmt.Sprintf(" (the first %d are listed)", shown)
	}
	r := h.reply(now, f.ID, wire.OK, text)
	r.Users = users[:shown]
	r.Count = uint64(len(users))
	out.send(s.id, r)
}

func (h *Hub) listRooms(out *outputs, s *session, f *wire.Frame, now time.Time) {
	rows := make([]wire.Room, 0, len(h.rooms))
	for name, r := range h.rooms {
		rows = append(rows, wire.Room{Name: name, Members: uint64(len(r.members))})
	}
	slices.SortFunc(rows, func(a, b wire.Room) int { return strings.Compare(a.Name, b.Name) })
	text := wire.Plural(len(rows), "room", "rooms")
	if len(rows) == 0 {
		text = "no rooms yet; create one with: create ROOM"
	}
	shown := fitFrame(len(rows), func(i int) int { return len(rows[i].Name) })
	if shown < len(rows) {
		text += fmt.Sprintf(" (the first %d are listed)", shown)
	}
	r := h.reply(now, f.ID, wire.OK, text)
	r.Rooms = rows[:shown]
	r.Count = uint64(len(rows))
	out.send(s.id, r)
}

// checkText applies the message text rules; it returns a nonzero code and
// the reply text when they are broken.
func checkText(text string) (wire.Code, string) {
	switch {
	case text == "":
		return wire.ErrBadRequest, "a message needs some text"
	case !utf8.ValidString(text):
		return wire.ErrBadRequest, "message text is not valid UTF-8"
	}
	if n := utf8.RuneCountInString(text); n > wire.MaxTextRunes {
		return wire.ErrTooLong, fmt.Sprintf("message too long: %d characters, the limit is %d", n, wire.MaxTextRunes)
	}
	return wire.OK, ""
}

func (h *Hub) say(out *outputs, s *session, f *wire.Frame, now time.Time) {
	if code, text := checkText(f.Text); code != wire.OK {
		out.send(s.id, h.reply(now, f.ID, code, text))
		return
	}
	r := s.room
	m := &wire.Frame{Type: wire.TypeMessage, From: s.name, Room: r.name, Text: f.Text, Time: ms(now), Seq: h.nextSeq(r)}
	r.history.add(m, h.cfg.HistoryLen, h.cfg.HistoryBytes)
	out.toRoom(r, s, m)
	rep := h.reply(now, f.ID, wire.OK, "")
	rep.Room, rep.Seq = r.name, r.seq
	out.send(s.id, rep)
}

func (h *Hub) tell(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) { out.send(s.id, h.reply(now, f.ID, code, text)) }
	if wire.ValidName(f.To) != nil {
		reply(wire.ErrBadName, wire.BadNameText("user", f.To))
		return
	}
	if f.To == s.name {
		reply(wire.ErrSelf, "you cannot send a private message to yourself")
		return
	}
	if code, text := checkText(f.Text); code != wire.OK {
		reply(code, text)
		return
	}
	to := h.names[f.To]
	if to == nil || to.closing {
		reply(wire.ErrNoSuchUser, "no user named "+f.To+" is connected")
		return
	}
	out.send(to.id, &wire.Frame{Type: wire.TypePrivate, From: s.name, To: f.To, Text: f.Text, Time: ms(now)})
	reply(wire.OK, "message sent to "+f.To)
}

// fitFrame returns how many of n list entries fit in one frame, given each
// entry's string bytes; the rest of an entry's encoding is under 24 bytes.
// A who or rooms reply over wire.MaxFrameSize could not be decoded.
func fitFrame(n int, strBytes func(i int) int) int {
	const budget = wire.MaxFrameSize - 4096 // the reply's other fields
	size := 0
	for i := 0; i < n; i++ {
		size += strBytes(i) + 24
		if size > budget {
			return i
		}
	}
	return n
}
