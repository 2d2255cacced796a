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
	// room: the request names a room in Room, which must be a valid name
	// (a Say's may be empty).
	room bool
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
	wire.TypeCreate:    {handler: (*Hub).create, login: true, room: true},
	wire.TypeEnter:     {handler: (*Hub).enter, login: true, room: true},
	wire.TypeJoin:      {handler: (*Hub).join, login: true, room: true},
	wire.TypeLeave:     {handler: (*Hub).leave, login: true},
	wire.TypeWho:       {handler: (*Hub).who, login: true, guestsToo: true},
	wire.TypeRooms:     {handler: (*Hub).listRooms, login: true},
	wire.TypeSay:       {handler: (*Hub).say, login: true, metered: true},
	wire.TypeTell:      {handler: (*Hub).tell, login: true, metered: true},
	wire.TypeHistory:   {handler: (*Hub).historyRequest, login: true, room: true},
	wire.TypeBroadcast: {handler: (*Hub).broadcast, login: true, metered: true},
	wire.TypeTopic:     {handler: (*Hub).topicRequest, login: true, room: true},
	wire.TypeKick:      {handler: (*Hub).kick, login: true, room: true},
	wire.TypeMode:      {handler: (*Hub).modeRequest, login: true, room: true},
	wire.TypeFetch:     {handler: (*Hub).fetch, login: true},
	wire.TypeRefuse:    {handler: (*Hub).refuse, login: true},
	wire.TypeInvite:    {handler: (*Hub).invite, login: true, room: true},
	wire.TypeAway:      {handler: (*Hub).away, login: true},
	wire.TypeWhois:     {handler: (*Hub).whois, login: true, guestsToo: true},
	wire.TypeNick:      {handler: (*Hub).nick, login: true},
	wire.TypeOper:      {handler: (*Hub).oper, login: true},
	wire.TypeWhowas:    {handler: (*Hub).whowas, login: true},
	wire.TypeKill:      {handler: (*Hub).kill, login: true},
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
	case rule.room && wire.ValidName(f.Room) != nil:
		replyTo(wire.ErrBadName, wire.BadNameText("room", f.Room))
	case rule.metered && !h.allowMessage(out, s, f, now):
		// refused: sending too fast (flood.go)
	default:
		rule.handler(h, out, s, f, now)
	}
}

// ircHelloText is the Text of the Hello the IRC codec (server/irc) says
// for its sessions: a chat client that says it too only goes without
// resume tokens.
const ircHelloText = "irc"

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
	s.ircHello = f.Text == ircHelloText
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
	h.quit(out, s, partingWords(f.Text), now)
	h.dropName(s)
	s.name, s.guest, s.failures, s.standing, s.oper, s.away = "", false, 0, false, false, ""
	out.send(s.id, h.reply(now, f.ID, wire.OK, "goodbye "+name))
}

// leave takes the session out of Room with Text as its parting words, or
// out of every room it is in when Room is empty.
func (h *Hub) leave(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) *wire.Frame {
		rep := h.reply(now, f.ID, code, text)
		out.send(s.id, rep)
		return rep
	}
	words := partingWords(f.Text)
	if f.Room == "" {
		if len(s.joined) == 0 {
			reply(wire.ErrNotInRoom, "you are not in a room")
			return
		}
		names := make([]string, 0, len(s.joined))
		for _, j := range s.joined {
			names = append(names, j.room.name)
		}
		h.leaveRooms(out, s, words, now)
		reply(wire.OK, "you left "+strings.Join(names, ", "))
		return
	}
	r := h.room(f.Room)
	if r == nil || s.in(r) < 0 {
		reply(wire.ErrNotInRoom, "you are not in "+wire.QuoteName(f.Room)).Room = f.Room
		return
	}
	h.leaveRoom(out, s, r, words, now)
	reply(wire.OK, "you left "+r.name).Room = r.name
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
	token := h.takesTokens(s) && h.cfg.Resume.IsToken(f.Secret)
	s.verifying, s.tokenCheck = true, token
	s.setIdentity(f)
	*out = append(*out, Output{To: s.id, Verify: &VerifyRequest{Session: s.id, ReqID: f.ID, Name: f.Name, Secret: f.Secret, Token: token}})
}

// takesTokens reports whether s is given resume tokens and may log in with
// one: a session of the chat protocol on a server that has them.
func (h *Hub) takesTokens(s *session) bool { return h.cfg.Resume != nil && !s.ircHello }

func (h *Hub) loginFailed(out *outputs, s *session, id uint32, now time.Time) {
	h.loginRefused(out, s, id, "login failed: wrong name or password", now)
}

// loginRefused answers a failed login with text; the failure counts toward
// closing the connection.
func (h *Hub) loginRefused(out *outputs, s *session, id uint32, text string, now time.Time) {
	s.failures++
	out.send(s.id, h.reply(now, id, wire.ErrBadLogin, text))
	h.tooManyFailures(out, s, now)
}

// tooManyFailures ends a session that has failed too many password checks.
// A logged-in one (failing Oper) may be in rooms, which hear it was
// disconnected, as of a flooder (cutFlooder).
func (h *Hub) tooManyFailures(out *outputs, s *session, now time.Time) {
	if s.failures >= h.cfg.MaxLoginFailures {
		h.tellShared(out, s, func(r *room) *wire.Frame {
			n := h.notice(now, wire.NoticeLost, s.name, r.name, s.name+" was disconnected from "+r.name+" after too many failed password checks")
			n.Words = "too many failed password checks"
			return n
		})
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
	byToken := s.tokenCheck
	s.tokenCheck = false
	var out outputs
	if s.operCheck {
		s.operCheck = false
		h.operResult(&out, s, reqID, name, v, now)
		return out
	}
	switch {
	case h.shutdown:
		out.send(sid, h.reply(now, reqID, wire.ErrUnavailable, "the server is shutting down"))
	case v == VerdictBusy:
		out.send(sid, h.reply(now, reqID, wire.ErrUnavailable, "the server is busy checking passwords; try again in a moment"))
	case v == VerdictUnavailable:
		out.send(sid, h.reply(now, reqID, wire.ErrUnavailable, "the server cannot check passwords right now; try again shortly"))
	case v != VerdictOK && byToken:
		h.loginRefused(&out, s, reqID, "login failed: the resume token is not valid (expired, or the password changed); log in with the password", now)
	case v != VerdictOK:
		h.loginFailed(&out, s, reqID, now)
	case s.name != "":
		// Cannot happen while the loop holds frames back during a check.
		out.send(sid, h.reply(now, reqID, wire.ErrLoggedIn, "you are already logged in as "+s.name))
	case h.clustered():
		h.claimName(&out, s, reqID, name, false)
	default:
		h.loggedIn(&out, s, reqID, name, now)
	}
	return out
}

// loggedIn completes the login of s to the account name, taking over the
// name from whoever held it: a guest is closed, another connection of the
// account hands its rooms over.
func (h *Hub) loggedIn(out *outputs, s *session, reqID uint32, name string, now time.Time) {
	r := h.reply(now, reqID, wire.OK, "welcome "+name)
	r.Name = name
	if h.takesTokens(s) {
		// A new token at every login, by password or by token, so that
		// a client that keeps coming back keeps a valid one.
		r.Secret = h.cfg.Resume.Issue(name, now)
	}
	old := h.user(name)
	switch {
	case old != nil && !old.local():
		// Held on another node, which let it go: the login carries on
		// in its rooms.
		delete(h.names, name)
		s.name = name
		h.inheritRemote(out, s, old, r)
		s.away = old.away
	case old != nil && old.guest:
		// A guest took the name before the account was made (or with
		// another case): the account's owner has it now.
		h.endTransfersOf(out, old, now)
		h.quit(out, old, "", now)
		out.send(old.id, h.bye(now, wire.ByeTakeover, "the name "+old.name+" belongs to a registered user, who logged in"))
		*out = append(*out, Output{To: old.id, Close: true})
		h.detach(old)
	case old != nil:
		// Takeover: the new connection inherits the rooms, silently.
		out.send(old.id, h.bye(now, wire.ByeTakeover, "you logged in from another connection"))
		*out = append(*out, Output{To: old.id, Close: true})
		r.Text = "welcome " + name + "; your other connection was closed"
		s.name = name
		if len(old.joined) > 0 {
			h.inherit(s, old, r)
		}
		s.away = old.away
		h.detach(old)
	}
	s.name, s.guest, s.failures = name, false, 0
	h.names[name] = s
	out.send(s.id, r)
	h.readInbox(out, s)
}

// inherit moves old's rooms to s, which takes old's place in each, and
// says so in r, the reply to s's login: Room and Seq of the first, Rooms
// all of them.
func (h *Hub) inherit(s, old *session, r *wire.Frame) {
	names := make([]string, 0, len(old.joined))
	for _, j := range old.joined {
		j.room.replace(old, s)
		s.joined = append(s.joined, membership{room: j.room, joinSeq: j.room.seq})
		names = append(names, j.room.name)
		r.Rooms = append(r.Rooms, wire.Room{Name: j.room.name, Members: uint64(len(j.room.members))})
	}
	old.joined = nil
	r.Text = "welcome " + s.name + "; you are in " + strings.Join(names, ", ") + ", taken over from your other connection"
	r.Room, r.Seq = s.joined[0].room.name, s.joined[0].room.seq
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
	case h.user(f.Name) != nil:
		reply(wire.ErrNameTaken, "the name "+f.Name+" is in use; choose another")
	case h.cfg.IsRegistered != nil && h.cfg.IsRegistered(f.Name):
		reply(wire.ErrNameTaken, "the name "+f.Name+" belongs to a registered user; log in with: login "+f.Name)
	case h.clustered():
		s.setIdentity(f)
		h.claimName(out, s, f.ID, f.Name, true)
	default:
		s.setIdentity(f)
		h.guestIn(out, s, f.ID, f.Name, now)
	}
}

// guestIn completes a guest's claim of name.
func (h *Hub) guestIn(out *outputs, s *session, reqID uint32, name string, now time.Time) {
	if u := h.names[name]; u != nil && !u.local() {
		h.leaveAll(u) // its node let the name go
	}
	s.name, s.guest = name, true
	h.names[name] = s
	r := h.reply(now, reqID, wire.OK, "welcome "+name)
	r.Name = name
	out.send(s.id, r)
}

// create makes a room, whose creator is its operator.
func (h *Hub) create(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) { out.send(s.id, h.reply(now, f.ID, code, text)) }
	switch {
	case h.room(f.Room) != nil:
		reply(wire.ErrRoomExists, "room "+h.room(f.Room).name+" already exists")
	case len(h.rooms) >= h.cfg.MaxRooms:
		reply(wire.ErrLimit, h.roomLimitText(f.Room))
	default:
		mark := len(*out)
		r := h.newRoom(f.Room, now)
		r.setOp(s.name, true)
		s.standing = true
		reply(wire.OK, "created room "+f.Room+"; enter it with: enter "+f.Room)
		h.saveRoomFirst(out, mark, s, f.ID, r)
		if h.clustered() {
			st := h.roomStateOf(r, true)
			h.publish(out, &RoomEvent{Rooms: []string{r.name}, State: &st})
		}
	}
}

func (h *Hub) joinLimitText(s *session) string {
	return "you are in " + wire.Plural(len(s.joined), "room", "rooms") + ", the most one session may be in; leave one first"
}

func (h *Hub) roomLimitText(name string) string {
	return fmt.Sprintf("cannot create room %s: the server has reached its limit of %d rooms", name, h.cfg.MaxRooms)
}

// enter puts the session in an existing room, out of every other: the
// rooms client's one room at a time. In a cluster it does so once the
// stream here caught up with the store (catchUp).
func (h *Hub) enter(out *outputs, s *session, f *wire.Frame, now time.Time) {
	if !h.catchUp(out, s, h.room(f.Room), f) {
		h.enterCaughtUp(out, s, f, now)
	}
}

func (h *Hub) enterCaughtUp(out *outputs, s *session, f *wire.Frame, now time.Time) {
	r := h.room(f.Room)
	if r == nil {
		out.send(s.id, h.reply(now, f.ID, wire.ErrNoSuchRoom, "no room named "+f.Room+"; create it with: create "+f.Room))
		return
	}
	if s.in(r) >= 0 && len(s.joined) == 1 {
		h.alreadyIn(out, s, r, f.ID, now)
		return
	}
	// A member is not admitted again: the key, limit, invitation and bans
	// are for coming in, and one who is in stays while leaving the others.
	if s.in(r) < 0 {
		if code, text := h.admit(s, r, f.Secret); code != wire.OK {
			out.send(s.id, h.reply(now, f.ID, code, text))
			return
		}
	}
	for _, j := range slices.Clone(s.joined) {
		if j.room != r {
			h.leaveRoom(out, s, j.room, "", now)
		}
	}
	if s.in(r) >= 0 {
		h.alreadyIn(out, s, r, f.ID, now)
		return
	}
	h.enterRoom(out, s, r, f.ID, now)
}

// join puts the session in a room, keeping the others it is in, and
// creates the room first if there is none of that name: IRC's JOIN.
func (h *Hub) join(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) { out.send(s.id, h.reply(now, f.ID, code, text)) }
	r := h.room(f.Room)
	switch {
	case r != nil && s.in(r) >= 0:
		h.alreadyIn(out, s, r, f.ID, now)
		return
	case len(s.joined) >= h.cfg.MaxJoined:
		// Checked before a room is made, so a refused join makes none.
		reply(wire.ErrLimit, h.joinLimitText(s))
		return
	case r == nil && len(h.rooms) >= h.cfg.MaxRooms:
		reply(wire.ErrLimit, h.roomLimitText(f.Room))
		return
	}
	mark, made := len(*out), r == nil
	if made {
		r = h.newRoom(f.Room, now)
	}
	if code, text := h.admit(s, r, f.Secret); code != wire.OK {
		reply(code, text)
		return
	}
	h.enterRoom(out, s, r, f.ID, now)
	if made {
		h.saveRoomFirst(out, mark, s, f.ID, r)
	}
}

// alreadyIn answers an Enter or Join of a room the session is in.
func (h *Hub) alreadyIn(out *outputs, s *session, r *room, id uint32, now time.Time) {
	rep := h.reply(now, id, wire.OK, "you are already in "+r.name)
	h.roomState(rep, r, s)
	out.send(s.id, rep)
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
// room's members with their standing in it (an IRC client's NAMES and WHO
// of a channel). A secret room's members are listed to its members only.
func (h *Hub) who(out *outputs, s *session, f *wire.Frame, now time.Time) {
	var users []wire.User
	text, mode := "", ""
	if f.Room != "" {
		r := h.room(f.Room)
		if r == nil {
			out.send(s.id, h.reply(now, f.ID, wire.ErrNoSuchRoom, "no room named "+wire.QuoteName(f.Room)))
			return
		}
		if r.modes&modeSecret == 0 || s.in(r) >= 0 || s.oper {
			users = h.members(r)
		}
		text = wire.Plural(len(users), "user", "users") + " in " + r.name
		mode = r.modeString(false)
	} else {
		users = make([]wire.User, 0, len(h.names))
		for _, u := range h.names {
			users = append(users, h.userRow(u, h.visibleRoom(s, u)))
		}
		text = wire.Plural(len(users), "user", "users") + " connected"
		slices.SortFunc(users, func(a, b wire.User) int { return strings.Compare(a.Name, b.Name) })
	}
	shown := fitFrame(len(users), func(i int) int {
		u := &users[i]
		return len(u.Name) + len(u.Room) + len(u.Away) + len(u.Ident) + len(u.Real)
	})
	if shown < len(users) {
		text += fmt.Sprintf(" (the first %d are listed)", shown)
	}
	r := h.reply(now, f.ID, wire.OK, text)
	r.Users = users[:shown]
	r.Count = uint64(len(users))
	r.Mode = mode
	out.send(s.id, r)
}

// visibleRoom is the room a who of everyone shows u in, to s: the first
// u is in that is not secret, or that s is in too.
func (h *Hub) visibleRoom(s, u *session) *room {
	for _, j := range u.joined {
		if j.room.modes&modeSecret == 0 || s.in(j.room) >= 0 {
			return j.room
		}
	}
	return nil
}

// listRooms lists the rooms with their member counts, topics and modes;
// a secret room only to its members.
func (h *Hub) listRooms(out *outputs, s *session, f *wire.Frame, now time.Time) {
	rows := make([]wire.Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		if r.modes&modeSecret != 0 && s.in(r) < 0 && !s.oper {
			continue
		}
		// The letters only, as wire.Room.Mode says: "+klnt", not "+klnt * 5".
		mode := strings.Fields(r.modeString(false))[0]
		rows = append(rows, wire.Room{Name: r.name, Members: uint64(len(r.members)), Topic: r.topic, Mode: mode})
	}
	slices.SortFunc(rows, func(a, b wire.Room) int { return strings.Compare(a.Name, b.Name) })
	text := wire.Plural(len(rows), "room", "rooms")
	if len(rows) == 0 {
		text = "no rooms yet; create one with: create ROOM"
	}
	shown := fitFrame(len(rows), func(i int) int { return len(rows[i].Name) + len(rows[i].Topic) + len(rows[i].Mode) })
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

// say sends a message to a room: Room, or the one room the session is in.
// Code AsNotice marks it a notice (IRC's NOTICE), which clients do not
// answer automatically.
func (h *Hub) say(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) { out.send(s.id, h.reply(now, f.ID, code, text)) }
	r := s.only()
	if f.Room != "" {
		r = h.room(f.Room)
	}
	switch {
	case f.Room == "" && len(s.joined) == 0:
		reply(wire.ErrNotInRoom, "you are not in a room; enter one with: enter ROOM")
		return
	case f.Room == "" && r == nil:
		reply(wire.ErrBadRequest, "you are in several rooms: say which one the message is for")
		return
	case r == nil:
		reply(wire.ErrNoSuchRoom, "no room named "+wire.QuoteName(f.Room))
		return
	}
	if code, text := h.maySpeak(s, r); code != wire.OK {
		reply(code, text)
		return
	}
	if code, text := checkMessage(f); code != wire.OK {
		reply(code, text)
		return
	}
	m := &wire.Frame{Type: wire.TypeMessage, From: s.name, Room: r.name, Text: f.Text, Time: ms(now), Tags: f.Tags}
	if f.Code == wire.AsNotice {
		m.Code = wire.AsNotice
	}
	rep := h.reply(now, f.ID, wire.OK, "")
	if f.Text == "" {
		// Tags alone (a reaction, a typing notice): passed on, neither
		// numbered nor kept, so a client resuming sees no gap for it.
		h.serial++
		m.Count = h.serial
		rep.Count = h.serial
	} else if h.cfg.Durable {
		// Shown and acknowledged once stored (messageStored).
		if h.cfg.Follows {
			// The store numbers it, above what was shown here.
			m.Seq = r.seq + 1
		} else {
			m.Seq = h.nextSeq(r)
		}
		out.store(&StoreOp{Kind: StoreMessage, Session: s.id, ReqID: f.ID, Frame: m})
		return
	} else {
		m.Seq = h.nextSeq(r)
		r.history.add(m, h.cfg.HistoryLen, h.cfg.HistoryBytes)
	}
	out.toRoom(r, s, m)
	rep.Room, rep.Seq = r.name, m.Seq
	out.send(s.id, rep)
}

// checkMessage applies the rules of a Say's or Tell's Text and Tags: text,
// or client tags alone, within their bounds.
func checkMessage(f *wire.Frame) (wire.Code, string) {
	switch {
	case len(f.Tags) > wire.MaxTagsBytes:
		return wire.ErrTooLong, fmt.Sprintf("message tags too long: %d bytes, the limit is %d", len(f.Tags), wire.MaxTagsBytes)
	case !utf8.ValidString(f.Tags) || strings.ContainsAny(f.Tags, " \r\n\x00"):
		return wire.ErrBadRequest, "message tags hold a space, a line break or bad UTF-8"
	case f.Text == "" && f.Tags != "":
		return wire.OK, ""
	}
	return checkText(f.Text)
}

// maySpeak says whether s may send a message to r: a member, or anyone
// when r takes messages from outside (-n); only operators and voiced
// members in a moderated room (+m); nobody a ban matches.
func (h *Hub) maySpeak(s *session, r *room) (wire.Code, string) {
	switch {
	case s.in(r) < 0 && r.modes&modeNoOutside != 0:
		return wire.ErrNotInRoom, "you are not in " + r.name + "; enter it to speak there"
	case r.modes&modeModerated != 0 && !r.runs(s) && !r.isVoiced(s.name):
		return wire.ErrCannotSpeak, r.name + " is moderated: only its operators and voiced members may speak"
	case r.banned(s) && !r.runs(s) && !r.isVoiced(s.name):
		return wire.ErrCannotSpeak, "you are banned from " + r.name
	}
	return wire.OK, ""
}

// tell sends a private message; a notice with Code AsNotice. The reply
// carries the recipient's away message, if any, in Words.
func (h *Hub) tell(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) *wire.Frame {
		rep := h.reply(now, f.ID, code, text)
		out.send(s.id, rep)
		return rep
	}
	if wire.ValidName(f.To) != nil {
		reply(wire.ErrBadName, wire.BadNameText("user", f.To))
		return
	}
	to := h.user(f.To)
	if to == s {
		reply(wire.ErrSelf, "you cannot send a private message to yourself")
		return
	}
	if code, text := checkMessage(f); code != wire.OK {
		reply(code, text)
		return
	}
	away := to == nil || to.closing
	keep := h.cfg.Durable && f.Text != "" && (!away || h.cfg.IsRegistered != nil && h.cfg.IsRegistered(f.To))
	if away && !keep {
		reply(wire.ErrNoSuchUser, "no user named "+f.To+" is connected")
		return
	}
	h.serial++
	p := &wire.Frame{Type: wire.TypePrivate, From: s.name, To: f.To, Text: f.Text, Time: ms(now), Tags: f.Tags, Count: h.serial}
	if f.Code == wire.AsNotice {
		p.Code = wire.AsNotice
	}
	if keep {
		// Delivered or kept for the account once stored (privateStored).
		h.storePrivate(out, s.id, f.ID, p, away)
		return
	}
	h.deliverPrivate(out, s, f.ID, to, p, now)
}

// deliverPrivate sends p to to and tells its sender (if still there, with
// the id of its request) that it was sent, with to's away message.
func (h *Hub) deliverPrivate(out *outputs, sender *session, id uint32, to *session, p *wire.Frame, now time.Time) {
	h.sendTo(out, to, p)
	if sender == nil {
		return
	}
	text := "message sent to " + to.name
	if to.away != "" {
		text += "; " + to.name + " is away: " + to.away
	}
	rep := h.reply(now, id, wire.OK, text)
	rep.Name, rep.Words, rep.Count = to.name, to.away, p.Count
	out.send(sender.id, rep)
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
