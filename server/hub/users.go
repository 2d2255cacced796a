package hub

import (
	"strings"
	"time"
	"unicode/utf8"

	"chat/internal/wire"
)

// What others see of a user, and what a user may change of it: the user
// and real names an IRC client gives, an away message, a guest's name,
// server operator status.

// Bounds on what a user may make the hub keep about them, in bytes.
const (
	maxIdentBytes = 16
	maxRealBytes  = 100
	maxAwayBytes  = 300
)

// identOr is the user name others see: the one the client gave, else the
// login name.
func (s *session) identOr() string {
	if s.ident != "" {
		return s.ident
	}
	return s.name
}

// cleanLine returns text fit to show as one line: valid UTF-8 without
// control characters, cut to max bytes; "" if it is not.
func cleanLine(text string, max int) string {
	if !utf8.ValidString(text) || strings.ContainsFunc(text, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return ""
	}
	if len(text) > max {
		text = wire.CutAtRune(text, max)
	}
	return text
}

// setIdentity keeps the user and real names a Login or Claim carried.
func (s *session) setIdentity(f *wire.Frame) {
	s.ident = cleanLine(strings.ReplaceAll(f.Ident, " ", ""), maxIdentBytes)
	s.real = cleanLine(f.Real, maxRealBytes)
}

// userRow is a user as a who reply lists them, in room r (nil: none, as
// when every room they are in is hidden from the asker): Prefix is "*"
// for a server operator, then the user's standing in r.
func (h *Hub) userRow(u *session, r *room) wire.User {
	row := wire.User{Name: u.name, Away: u.away, Ident: u.ident, Real: u.real}
	if u.oper {
		row.Prefix = "*"
	}
	if r != nil {
		row.Room = r.name
		row.Prefix += r.prefix(u)
	}
	return row
}

// away sets or clears the session's away message.
func (h *Hub) away(out *outputs, s *session, f *wire.Frame, now time.Time) {
	s.away = cleanLine(f.Text, maxAwayBytes)
	text := "you are no longer marked as away"
	if s.away != "" {
		text = "you are marked as away: " + s.away
	}
	rep := h.reply(now, f.ID, wire.OK, text)
	rep.Words = s.away
	out.send(s.id, rep)
}

// whois answers who a user is: one User row (Prefix "*" for a server
// operator) and the rooms they are in that the asker may know of.
func (h *Hub) whois(out *outputs, s *session, f *wire.Frame, now time.Time) {
	u := h.user(f.Name)
	if u == nil || u.closing {
		out.send(s.id, h.reply(now, f.ID, wire.ErrNoSuchUser, "no user named "+wire.QuoteName(f.Name)+" is connected"))
		return
	}
	row := wire.User{Name: u.name, Away: u.away, Ident: u.ident, Real: u.real}
	if u.oper {
		row.Prefix = "*"
	}
	rep := h.reply(now, f.ID, wire.OK, u.name+" is connected")
	rep.Users = []wire.User{row}
	for _, j := range u.joined {
		r := j.room
		if r.modes&modeSecret != 0 && s.in(r) < 0 && s != u && !s.oper {
			continue
		}
		rep.Rooms = append(rep.Rooms, wire.Room{Name: r.name, Members: uint64(len(r.members)), Prefix: r.prefix(u)})
	}
	if u.guest {
		rep.Text += " as a guest"
	} else {
		rep.Name = u.name // logged in to the account of that name
	}
	out.send(s.id, rep)
}

// nick gives a guest another name: free, not an account's. A registered
// user's name is their account's and stays.
func (h *Hub) nick(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) { out.send(s.id, h.reply(now, f.ID, code, text)) }
	holder := h.user(f.Name)
	switch {
	case wire.ValidName(f.Name) != nil:
		reply(wire.ErrBadName, wire.BadNameText("user", f.Name))
		return
	case f.Name == s.name:
		rep := h.reply(now, f.ID, wire.OK, "you are "+s.name)
		rep.Name = s.name
		out.send(s.id, rep)
		return
	case !s.guest:
		reply(wire.ErrNotAllowed, "you are logged in to the account "+s.name+", whose name stays")
		return
	case holder != nil && holder != s:
		reply(wire.ErrNameTaken, "the name "+f.Name+" is in use; choose another")
		return
	case holder == nil && h.cfg.IsRegistered != nil && h.cfg.IsRegistered(f.Name):
		reply(wire.ErrNameTaken, "the name "+f.Name+" belongs to a registered user")
		return
	case h.clustered():
		h.claimName(out, s, f.ID, f.Name, true)
		return
	}
	h.renamed(out, s, f.ID, f.Name, now)
}

// renamed gives guest s the name it asked for (nick).
func (h *Hub) renamed(out *outputs, s *session, reqID uint32, name string, now time.Time) {
	if u := h.names[name]; u != nil && !u.local() {
		h.leaveAll(u) // its node let the name go
	}
	old := s.name
	for _, j := range s.joined {
		r := j.room
		op, voiced := r.isOp(old), r.isVoiced(old)
		r.setOp(old, false)
		r.setVoice(old, false)
		r.setOp(name, op)
		r.setVoice(name, voiced)
	}
	h.endTransfersOf(out, s, now)
	h.release(s)
	delete(h.names, old)
	h.remember(s)
	// What the old name held goes with it; its standing in the rooms the
	// user is in was just carried over to the new one.
	if s.standing {
		h.forgetGuest(old)
		s.standing = false
	}
	s.name = name
	h.names[s.name] = s
	h.tellShared(out, s, func(r *room) *wire.Frame {
		n := h.notice(now, wire.NoticeRenamed, old, r.name, old+" is now known as "+s.name)
		n.To = s.name
		return n
	})
	rep := h.reply(now, reqID, wire.OK, "you are now known as "+s.name)
	rep.Name, rep.By = s.name, old
	out.send(s.id, rep)
}

// oper asks for a password check of an account listed as a server
// operator; LoginResult completes it.
func (h *Hub) oper(out *outputs, s *session, f *wire.Frame, now time.Time) {
	switch {
	case s.oper:
		out.send(s.id, h.reply(now, f.ID, wire.OK, "you are a server operator already"))
	case wire.ValidName(f.Name) != nil || f.Secret == "" || len(f.Secret) > wire.MaxSecretBytes:
		h.operFailed(out, s, f.ID, now)
	default:
		s.verifying, s.operCheck = true, true
		*out = append(*out, Output{To: s.id, Verify: &VerifyRequest{Session: s.id, ReqID: f.ID, Name: f.Name, Secret: f.Secret, Oper: true}})
	}
}

// operResult completes an Oper once its password was checked.
func (h *Hub) operResult(out *outputs, s *session, reqID uint32, name string, v Verdict, now time.Time) {
	switch {
	case v == VerdictBusy || v == VerdictUnavailable:
		out.send(s.id, h.reply(now, reqID, wire.ErrUnavailable, "the server cannot check passwords right now; try again shortly"))
	case v != VerdictOK || h.cfg.IsOperator == nil || !h.cfg.IsOperator(name):
		h.operFailed(out, s, reqID, now)
	default:
		s.oper = true
		out.send(s.id, h.reply(now, reqID, wire.OK, "you are now a server operator"))
	}
}

// operFailed refuses an Oper without saying which part was wrong, and
// counts it as a failed login.
func (h *Hub) operFailed(out *outputs, s *session, id uint32, now time.Time) {
	s.failures++
	out.send(s.id, h.reply(now, id, wire.ErrNotAllowed, "oper failed: wrong name or password, or not an operator"))
	h.tooManyFailures(out, s, now)
}

// kill ends another user's connection: server operators only. The user's
// rooms hear it was lost, with the operator's reason.
func (h *Hub) kill(out *outputs, s *session, f *wire.Frame, now time.Time) {
	target := h.user(f.Name)
	switch {
	case !s.oper:
		out.send(s.id, h.reply(now, f.ID, wire.ErrNotAllowed, "only server operators may disconnect users"))
		return
	case target == nil || target.closing:
		out.send(s.id, h.reply(now, f.ID, wire.ErrNoSuchUser, "no user named "+wire.QuoteName(f.Name)+" is connected"))
		return
	}
	why := "Killed (" + s.name
	if reason := partingWords(f.Text); reason != "" {
		why += " (" + reason + ")"
	}
	why += ")"
	name := target.name
	if target.local() {
		h.disconnect(out, target, s.name, why, now)
	} else {
		// Its node disconnects it (Forwarded).
		bye := h.bye(now, wire.ByeKilled, why)
		bye.By = s.name
		*out = append(*out, Output{Forward: &Forward{Node: target.node, To: target.name, Frame: bye, Kill: true}})
	}
	if target != s {
		out.send(s.id, h.reply(now, f.ID, wire.OK, "you disconnected "+name))
	}
}

// disconnect ends target's connection at a server operator's (by) word,
// with why: its rooms hear it was lost.
func (h *Hub) disconnect(out *outputs, target *session, by, why string, now time.Time) {
	h.endTransfersOf(out, target, now)
	h.tellShared(out, target, func(r *room) *wire.Frame {
		n := h.notice(now, wire.NoticeLost, target.name, r.name, target.name+" was disconnected by "+by)
		n.Words = why
		return n
	})
	out.send(target.id, h.bye(now, wire.ByeKilled, why))
	*out = append(*out, Output{To: target.id, Close: true})
	h.detach(target)
}
