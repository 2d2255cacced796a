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

// What makes a room a channel: its topic, its modes and who runs it. The
// names are IRC's, and so are the rules (RFC 2811); the rooms client
// reaches the same powers with its topic and kick commands.

// channel is the part of a room its operators control.
type channel struct {
	created int64 // Unix ms; 0 for a room restored from a state without it
	topic   string
	topicBy string
	topicAt int64 // Unix ms
	modes   roomModes
	key     string // +k
	limit   int    // +l; 0: none
	// ops, voiced and invited hold folded names. A registered user stays
	// an operator across sessions; a guest's standing ends with its
	// session (drop, forgetGuest).
	ops, voiced, invited map[string]bool
	bans                 []string // +b masks, nick!user@host globs
}

// roomModes are a room's flag modes.
type roomModes uint8

const (
	modeNoOutside  roomModes = 1 << iota // +n: only members may speak
	modeTopicOps                         // +t: only operators set the topic
	modeModerated                        // +m: only operators and voiced members speak
	modeInviteOnly                       // +i: enter only when invited
	modeSecret                           // +s: not listed to non-members
)

// defaultModes are a new room's, as on most IRC servers.
const defaultModes = modeNoOutside | modeTopicOps

type flagMode struct {
	letter byte
	bit    roomModes
}

// flagModes maps each flag mode letter to its bit, in the order modes are
// shown.
var flagModes = []flagMode{{'i', modeInviteOnly}, {'m', modeModerated}, {'n', modeNoOutside}, {'s', modeSecret}, {'t', modeTopicOps}}

// Limits on what one request may make a room keep.
const (
	// MaxTopicBytes bounds a topic (IRC's TOPICLEN).
	MaxTopicBytes = 390
	// MaxBans bounds a room's ban list.
	MaxBans = 100
	// MaxModeArgs bounds the arguments of one Mode request (IRC's MODES).
	MaxModeArgs = 6
	maxKeyBytes = 23
	maxMaskLen  = 100
)

func (c *channel) isOp(name string) bool     { return c.ops[name] }
func (c *channel) isVoiced(name string) bool { return c.voiced[name] }

func (c *channel) setOp(name string, on bool)    { setFlag(&c.ops, name, on) }
func (c *channel) setVoice(name string, on bool) { setFlag(&c.voiced, name, on) }

func setFlag(m *map[string]bool, name string, on bool) {
	switch {
	case on && *m == nil:
		*m = map[string]bool{name: true}
	case on:
		(*m)[name] = true
	default:
		delete(*m, name)
	}
}

// hasOperator reports whether anyone runs r: a member who is an
// operator, or a registered operator who is away for now.
func (r *room) hasOperator(h *Hub) bool {
	for name := range r.ops {
		if u := h.names[name]; u == nil || !u.guest || u.in(r) >= 0 {
			return true
		}
	}
	return false
}

// prefix is the member's standing shown before its name: "@" operator,
// "+" voiced, both ("@+") for a voiced operator, highest first as IRC's
// multi-prefix lists them.
func (r *room) prefix(s *session) string {
	p := ""
	if r.isOp(s.name) {
		p = "@"
	}
	if r.isVoiced(s.name) {
		p += "+"
	}
	return p
}

// runs reports whether s may run r: one of its operators, or a server
// operator.
func (r *room) runs(s *session) bool { return s.oper || r.isOp(s.name) }

// mask is how a ban sees a user: nick!user@host, the host being the
// server's name since addresses are nobody else's business.
func (s *session) mask() string {
	return fold(s.name) + "!" + fold(s.identOr()) + "@" + fold(hostName)
}

// hostName is every user's host in a mask; the IRC codec shows its own
// server name instead, and a mask's host part is matched with "*" anyway.
const hostName = "chat"

// banned reports whether a ban of r matches s.
func (r *room) banned(s *session) bool {
	if len(r.bans) == 0 {
		return false
	}
	m := s.mask()
	for _, b := range r.bans {
		if wire.MatchMask(fold(b), m) {
			return true
		}
	}
	return false
}

// normalMask completes a ban mask to nick!user@host: "bob" bans bob from
// anywhere, as IRC servers do.
func normalMask(m string) string {
	if !strings.ContainsAny(m, "!@") {
		return m + "!*@*"
	}
	if !strings.Contains(m, "!") {
		return "*!" + m
	}
	if !strings.Contains(m, "@") {
		return m + "@*"
	}
	return m
}

// modeString shows r's modes, "+nt" or "+klnt key 10", the key only when
// withKey.
func (r *room) modeString(withKey bool) string {
	var letters, args []string
	for _, f := range flagModes {
		if r.modes&f.bit != 0 {
			letters = append(letters, string(f.letter))
		}
	}
	if r.key != "" {
		letters = append(letters, "k")
		key := "*"
		if withKey {
			key = r.key
		}
		args = append(args, key)
	}
	if r.limit > 0 {
		letters = append(letters, "l")
		args = append(args, strconv.Itoa(r.limit))
	}
	slices.Sort(letters)
	out := "+" + strings.Join(letters, "")
	if len(args) > 0 {
		// The arguments follow their letters' order: k before l.
		out += " " + strings.Join(args, " ")
	}
	return out
}

// topicRequest reads a room's topic, or sets it (Code TopicSet).
func (h *Hub) topicRequest(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) *wire.Frame {
		rep := h.reply(now, f.ID, code, text)
		out.send(s.id, rep)
		return rep
	}
	r := h.room(f.Room)
	if r == nil || (r.modes&modeSecret != 0 && s.in(r) < 0) {
		reply(wire.ErrNoSuchRoom, "no room named "+wire.QuoteName(f.Room))
		return
	}
	if f.Code != wire.TopicSet {
		text := "no topic is set in " + r.name
		if r.topic != "" {
			text = "the topic of " + r.name + " is: " + r.topic
		}
		rep := reply(wire.OK, text)
		rep.Room, rep.Words, rep.By, rep.At = r.name, r.topic, r.topicBy, r.topicAt
		return
	}
	switch {
	case s.in(r) < 0 && !s.oper:
		reply(wire.ErrNotInRoom, "you are not in "+r.name)
		return
	case r.modes&modeTopicOps != 0 && !r.runs(s):
		reply(wire.ErrNotOperator, "only the operators of "+r.name+" may set its topic")
		return
	case !validTopic(f.Text):
		reply(wire.ErrBadRequest, "a topic is one line of UTF-8 text")
		return
	}
	topic := f.Text
	if len(topic) > MaxTopicBytes {
		topic = wire.CutAtRune(topic, MaxTopicBytes)
	}
	r.topic, r.topicBy, r.topicAt = topic, s.name, ms(now)
	h.stateVer++
	text := s.name + " set the topic of " + r.name + " to: " + topic
	if topic == "" {
		text = s.name + " cleared the topic of " + r.name
	}
	n := h.notice(now, wire.NoticeTopic, s.name, r.name, text)
	n.By, n.Words, n.At = s.name, topic, r.topicAt
	h.announce(out, r, n)
	rep := reply(wire.OK, "topic set")
	rep.Room, rep.Words, rep.By, rep.At = r.name, topic, s.name, r.topicAt
}

// validTopic reports whether text may be a topic: one line of UTF-8, in
// which IRC's formatting codes (bold, colours) are welcome.
func validTopic(text string) bool {
	return utf8.ValidString(text) && !strings.ContainsAny(text, "\r\n\x00")
}

// kick puts a member out of a room, with a reason: operators only.
func (h *Hub) kick(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) { out.send(s.id, h.reply(now, f.ID, code, text)) }
	r := h.room(f.Room)
	if r == nil {
		reply(wire.ErrNoSuchRoom, "no room named "+wire.QuoteName(f.Room))
		return
	}
	target := h.user(f.Name)
	switch {
	case s.in(r) < 0 && !s.oper:
		reply(wire.ErrNotInRoom, "you are not in "+r.name)
		return
	case !r.runs(s):
		reply(wire.ErrNotOperator, "only the operators of "+r.name+" may kick")
		return
	case target == nil:
		reply(wire.ErrNoSuchUser, "no user named "+wire.QuoteName(f.Name)+" is connected")
		return
	case target.in(r) < 0:
		rep := h.reply(now, f.ID, wire.ErrNoSuchUser, target.name+" is not in "+r.name)
		rep.Name = target.name
		out.send(s.id, rep)
		return
	}
	reason := partingWords(f.Text)
	text := s.name + " kicked " + target.name + " out of " + r.name
	if reason != "" {
		text += " (" + reason + ")"
	}
	n := h.notice(now, wire.NoticeKicked, target.name, r.name, text)
	n.By, n.Words = s.name, reason
	h.announce(out, r, n)
	h.drop(target, r)
	reply(wire.OK, "you kicked "+target.name+" out of "+r.name)
}

// invite lets a user into a room: any member, or only its operators when
// the room is invite only.
func (h *Hub) invite(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) { out.send(s.id, h.reply(now, f.ID, code, text)) }
	r := h.room(f.Room)
	target := h.user(f.Name)
	switch {
	case r == nil:
		reply(wire.ErrNoSuchRoom, "no room named "+wire.QuoteName(f.Room))
	case s.in(r) < 0:
		reply(wire.ErrNotInRoom, "you are not in "+r.name)
	case r.modes&modeInviteOnly != 0 && !r.runs(s):
		reply(wire.ErrNotOperator, "only the operators of "+r.name+" may invite to it")
	case target == nil || target.closing:
		reply(wire.ErrNoSuchUser, "no user named "+wire.QuoteName(f.Name)+" is connected")
	case target.in(r) >= 0:
		reply(wire.ErrInRoom, target.name+" is already in "+r.name)
	default:
		setFlag(&r.invited, target.name, true)
		target.standing = true
		n := h.notice(now, wire.NoticeInvited, target.name, r.name, s.name+" invites you to "+r.name)
		n.By = s.name
		h.sendTo(out, target, n)
		h.publish(out, &RoomEvent{Notice: n, Rooms: []string{r.name}, Silent: true})
		rep := h.reply(now, f.ID, wire.OK, "you invited "+target.name+" to "+r.name)
		rep.Room, rep.Name = r.name, target.name
		out.send(s.id, rep)
	}
}

// modeRequest reads a room's modes (Mode empty), lists its bans (Mode
// "b" or "+b"), or changes them: operators only.
func (h *Hub) modeRequest(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) *wire.Frame {
		rep := h.reply(now, f.ID, code, text)
		rep.Room = f.Room
		out.send(s.id, rep)
		return rep
	}
	r := h.room(f.Room)
	if r == nil || (r.modes&modeSecret != 0 && s.in(r) < 0 && !s.oper) {
		reply(wire.ErrNoSuchRoom, "no room named "+wire.QuoteName(f.Room))
		return
	}
	words := strings.Fields(f.Mode)
	switch {
	case len(words) == 0:
		rep := reply(wire.OK, "the modes of "+r.name+" are "+r.modeString(s.in(r) >= 0))
		rep.Room, rep.Mode, rep.At = r.name, r.modeString(s.in(r) >= 0), r.created
		return
	case len(words) == 1 && strings.Trim(words[0], "+") == "b":
		rep := reply(wire.OK, wire.Plural(len(r.bans), "ban", "bans")+" in "+r.name)
		rep.Room = r.name
		for _, b := range r.bans {
			rep.Users = append(rep.Users, wire.User{Name: b})
		}
		return
	}
	changes, code, text := parseModes(words)
	switch {
	case code != wire.OK:
		reply(code, text)
		return
	case s.in(r) < 0 && !s.oper:
		reply(wire.ErrNotInRoom, "you are not in "+r.name)
		return
	case !r.runs(s):
		reply(wire.ErrNotOperator, "only the operators of "+r.name+" may change its modes")
		return
	}
	for _, c := range changes {
		if c.letter != 'o' && c.letter != 'v' {
			continue
		}
		if c.letter == 'o' && !c.on && r.isOp(c.arg) {
			continue // a registered operator away from the room can be removed
		}
		switch u := h.user(c.arg); {
		case u == nil:
			reply(wire.ErrNoSuchUser, "no user named "+wire.QuoteName(c.arg)+" is connected")
			return
		case u.in(r) < 0:
			reply(wire.ErrNoSuchUser, u.name+" is not in "+r.name).Name = u.name
			return
		}
	}
	applied := h.applyModes(r, changes)
	if len(applied) == 0 {
		rep := reply(wire.OK, "the modes of "+r.name+" are unchanged: "+r.modeString(true))
		rep.Room, rep.Mode = r.name, ""
		return
	}
	change := formatModes(applied)
	h.stateVer++
	n := h.notice(now, wire.NoticeMode, s.name, r.name, s.name+" set mode "+change+" on "+r.name)
	n.By, n.Mode = s.name, change
	h.announce(out, r, n)
	if s.in(r) < 0 {
		out.send(s.id, n) // a server operator from outside sees it too
	}
	rep := reply(wire.OK, "mode "+change+" set on "+r.name)
	rep.Room, rep.Mode = r.name, change
}

// modeChange is one letter of a Mode request: +o bob, -k, +l 10.
type modeChange struct {
	on     bool
	letter byte
	arg    string
}

// parseModes reads an IRC mode change: letters with + and - signs, then
// the arguments of the letters that take one, in order.
func parseModes(words []string) ([]modeChange, wire.Code, string) {
	var changes []modeChange
	args := words[1:]
	taken := 0 // arguments taken, which MaxModeArgs bounds
	on := true
	for i := 0; i < len(words[0]); i++ {
		c := words[0][i]
		switch c {
		case '+', '-':
			on = c == '+'
			continue
		}
		ch := modeChange{on: on, letter: c}
		needsArg := false
		switch c {
		case 'o', 'v', 'b':
			needsArg = true
		case 'k':
			needsArg = on
			if !on && len(args) > 0 {
				args = args[1:] // "-k key": the key is not needed to remove it
			}
		case 'l':
			needsArg = on
		case 'i', 'm', 'n', 's', 't':
		default:
			return nil, wire.ErrUnknownMode, fmt.Sprintf("%c is not a mode this server knows; it knows b, i, k, l, m, n, o, s, t and v", c)
		}
		if needsArg {
			if len(args) == 0 {
				if c == 'b' {
					continue // a list query among changes: nothing to change
				}
				return nil, wire.ErrBadRequest, fmt.Sprintf("mode %c%c needs an argument", "-+"[b2i(on)], c)
			}
			ch.arg, args = args[0], args[1:]
			if taken++; taken > MaxModeArgs {
				return nil, wire.ErrBadRequest, fmt.Sprintf("at most %d mode changes at once", MaxModeArgs)
			}
		}
		changes = append(changes, ch)
	}
	return changes, wire.OK, ""
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// applyModes applies the changes to r and returns those that changed
// something, for the notice.
func (h *Hub) applyModes(r *room, changes []modeChange) []modeChange {
	var applied []modeChange
	for _, c := range changes {
		changed := false
		switch c.letter {
		case 'o':
			changed = r.isOp(c.arg) != c.on
			r.setOp(c.arg, c.on)
			if u := h.user(c.arg); u != nil {
				u.standing = true
			}
		case 'v':
			changed = r.isVoiced(c.arg) != c.on
			r.setVoice(c.arg, c.on)
		case 'k':
			key := c.arg
			if !c.on {
				changed, r.key, c.arg = r.key != "", "", "*"
				break
			}
			if key == "" || len(key) > maxKeyBytes || strings.ContainsAny(key, " ,:") || !utf8.ValidString(key) {
				continue
			}
			changed, r.key = r.key != key, key
		case 'l':
			if !c.on {
				changed, r.limit = r.limit != 0, 0
				break
			}
			n, err := strconv.Atoi(c.arg)
			if err != nil || n <= 0 {
				continue
			}
			changed, r.limit, c.arg = r.limit != n, n, strconv.Itoa(n)
		case 'b':
			m := normalMask(c.arg)
			if len(m) > maxMaskLen || !utf8.ValidString(m) {
				continue
			}
			// Masks compare without case, as they match.
			i := slices.IndexFunc(r.bans, func(b string) bool { return fold(b) == fold(m) })
			c.arg = m
			switch {
			case c.on && i < 0 && len(r.bans) < MaxBans:
				r.bans, changed = append(r.bans, m), true
			case !c.on && i >= 0:
				c.arg = r.bans[i]
				r.bans, changed = slices.Delete(r.bans, i, i+1), true
			}
		default:
			for _, f := range flagModes {
				if f.letter == c.letter {
					changed = (r.modes&f.bit != 0) != c.on
					if c.on {
						r.modes |= f.bit
					} else {
						r.modes &^= f.bit
					}
				}
			}
		}
		if changed {
			applied = append(applied, c)
		}
	}
	return applied
}

// formatModes writes changes as IRC does: "+o-v bob ann".
func formatModes(changes []modeChange) string {
	var letters strings.Builder
	var args []string
	sign := byte(0)
	for _, c := range changes {
		if s := "-+"[b2i(c.on)]; s != sign {
			letters.WriteByte(s)
			sign = s
		}
		letters.WriteByte(c.letter)
		if c.arg != "" {
			args = append(args, c.arg)
		}
	}
	return strings.Join(append([]string{letters.String()}, args...), " ")
}
