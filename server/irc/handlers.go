package irc

import (
	"strconv"
	"strings"

	"chat/internal/wire"
)

// The command handlers: those usable before registration first, then the
// rest alphabetically. Each runs once the dispatcher's checks have passed, so
// it has at least its command's minParams parameters. A syntax comment
// heads each; what differs from RFC 2812 is said there.

// CAP <subcommand> [<capabilities>]
//
// No capability is offered, so none is needed: LS lists none and REQ is
// refused, but LS or REQ before registration holds it until CAP END.
func capHandler(s *Session, dst []byte, m *message) []byte {
	p := m.Params
	sub := strings.ToUpper(p[0])
	switch sub {
	case "LS", "LIST":
		if s.state == unregistered && sub == "LS" {
			s.capHold = true
		}
		return appendLine(dst, s.cfg.Server, "CAP", s.me(), sub, "")
	case "REQ":
		if s.state == unregistered {
			s.capHold = true
		}
		asked := ""
		if len(p) > 1 {
			asked = p[1]
		}
		return appendLine(dst, s.cfg.Server, "CAP", s.me(), "NAK", asked)
	case "END":
		s.capHold = false
		return s.register(dst)
	}
	return s.numeric(dst, errInvalidCapCmd, p[0], "Invalid CAP command")
}

// PASS <password>
//
// The password of the registered account named by NICK; without it the
// nick is a guest name.
func passHandler(s *Session, dst []byte, m *message) []byte {
	s.pass = m.Params[0]
	return dst
}

// NICK <nickname>
//
// Before registration it names the account or guest; after it, changes
// are refused (447): the hub has no renaming.
func nickHandler(s *Session, dst []byte, m *message) []byte {
	nick := m.Params[0]
	switch s.state {
	case registered:
		if nick == s.nick {
			return dst
		}
		return s.numeric(dst, errNoNickChange, nick, "Nick changes are not supported here: reconnect with the new nick")
	case registering:
		return dst // the answer to the first one is on its way
	}
	if !nickOK(nick) {
		return s.numeric(dst, errErroneusNickname, nick,
			"Erroneous nickname: use 1 to "+strconv.Itoa(wire.MaxNameRunes)+" characters, none of , * ? ! @ : . or spaces")
	}
	s.nick, s.hasNick = nick, true
	return s.register(dst)
}

// nickOK applies IRC's nick rules on top of ours: no characters that IRC
// gives a meaning in a prefix, a target list or a channel name.
func nickOK(n string) bool {
	if wire.ValidName(n) != nil || strings.ContainsAny(n, ",*?!@:.") {
		return false
	}
	switch n[0] {
	case '#', '&', '$', '+', '~', '%', '-':
		return false
	}
	return true
}

// USER <user> <mode> <unused> <realname>
//
// Only its arrival matters: the user name shown is the nick. The real
// name may be empty.
func userHandler(s *Session, dst []byte, _ *message) []byte {
	s.hasUser = true
	return s.register(dst)
}

// register logs the user in once NICK and USER are in and capability
// negotiation (if any) has ended: with PASS as the account of that name,
// without as a guest.
func (s *Session) register(dst []byte) []byte {
	if s.state != unregistered || !s.hasNick || !s.hasUser || s.capHold {
		return dst
	}
	s.state = registering
	if s.pass != "" {
		s.request(kindRegister, s.nick, false, wire.Frame{Type: wire.TypeLogin, Name: s.nick, Secret: s.pass})
		s.pass = "" // kept no longer than needed
		return dst
	}
	s.request(kindRegister, s.nick, false, wire.Frame{Type: wire.TypeClaim, Name: s.nick})
	return dst
}

// PING [<token>]
func pingHandler(s *Session, dst []byte, m *message) []byte {
	return appendLine(dst, s.cfg.Server, "PONG", s.cfg.Server, m.Params[0])
}

// PONG [<token>]
//
// Liveness only: the loop noted the activity when the line arrived.
func pongHandler(_ *Session, dst []byte, _ *message) []byte { return dst }

// QUIT [<message>]
//
// Before registration the link closes at once; after it the hub logs the
// user out first, so the rooms hear the words.
func quitHandler(s *Session, dst []byte, m *message) []byte {
	words := "Quit"
	if len(m.Params) > 0 && m.Params[0] != "" {
		words = "Quit: " + decodeText(m.Params[0])
	}
	if s.state != registered {
		return s.closeLink(dst, words)
	}
	s.request(kindQuit, "", false, wire.Frame{Type: wire.TypeLogout, Text: words}).words = words
	return dst
}

// AWAY [<message>]
func awayHandler(s *Session, dst []byte, m *message) []byte {
	s.away = len(m.Params) > 0 && m.Params[0] != ""
	if s.away {
		return s.numeric(dst, rplNowAway, "You have been marked as being away")
	}
	return s.numeric(dst, rplUnAway, "You are no longer marked as being away")
}

// ISON <nickname> *( " " <nickname> )
func isonHandler(s *Session, dst []byte, m *message) []byte {
	s.request(kindIson, strings.Join(m.Params, " "), false, wire.Frame{Type: wire.TypeWho})
	return dst
}

// JOIN <channel>{,<channel>} [<keys>] / JOIN 0
//
// One room at a time: only the first channel is joined, and the hub takes
// the user out of the room they are in (the client is told with a PART
// and a notice when the Enter is answered). A channel that does not exist
// yet is created first, as IRC users expect.
func joinHandler(s *Session, dst []byte, m *message) []byte {
	list := m.Params[0]
	if list == "0" {
		if s.room != "" {
			s.request(kindPart, "#"+s.room, false, wire.Frame{Type: wire.TypeLeave})
		}
		return dst
	}
	chans := strings.Split(list, ",")
	ch := chans[0]
	if len(chans) > 1 {
		dst = s.serverNotice(dst, "You can be in one channel at a time here: joining "+ch+" only")
	}
	if !strings.HasPrefix(ch, "#") || len(ch) == 1 {
		return s.numeric(dst, errNoSuchChannel, ch, "No such channel: channel names start with #")
	}
	room := ch[1:]
	if room == s.room {
		return dst
	}
	if wire.ValidName(room) != nil {
		return s.numeric(dst, errBadChanName, ch, "Illegal channel name: "+wire.BadNameText("room", room))
	}
	s.createErr = ""
	s.request(kindCreate, ch, false, wire.Frame{Type: wire.TypeCreate, Room: room})
	s.request(kindEnter, ch, false, wire.Frame{Type: wire.TypeEnter, Room: room})
	s.request(kindJoinNames, ch, false, wire.Frame{Type: wire.TypeWho, Room: room})
	return dst
}

// LIST [<channels>]
//
// Every room is listed, whatever was asked.
func listHandler(s *Session, dst []byte, _ *message) []byte {
	s.request(kindList, "", false, wire.Frame{Type: wire.TypeRooms})
	return dst
}

// MODE <channel> [<modes>] / MODE <nickname> [<modes>]
//
// Nothing has modes here: queries answer "+", changes are refused.
func modeHandler(s *Session, dst []byte, m *message) []byte {
	p := m.Params
	target := p[0]
	if strings.HasPrefix(target, "#") {
		switch {
		case len(p) == 1:
			return s.numeric(dst, rplChannelModeIs, target, "+")
		case strings.Trim(p[1], "+-") == "b":
			return s.numeric(dst, rplEndOfBanList, target, "End of channel ban list")
		}
		return s.numeric(dst, errChanOPrivsNeeded, target, "Channel modes cannot be changed on this server")
	}
	if target != s.nick {
		return s.numeric(dst, errUsersDontMatch, "Cannot change mode for other users")
	}
	return s.numeric(dst, rplUModeIs, "+")
}

// MOTD [<target>]
func motdHandler(s *Session, dst []byte, _ *message) []byte { return s.motd(dst) }

// NAMES [<channel>{,<channel>}]
//
// The first channel only; without one, the channel the user is in.
func namesHandler(s *Session, dst []byte, m *message) []byte {
	p := m.Params
	if len(p) == 0 || p[0] == "" {
		if s.room == "" {
			return s.numeric(dst, rplEndOfNames, "*", "End of /NAMES list.")
		}
		p = []string{"#" + s.room}
	}
	ch := strings.Split(p[0], ",")[0]
	if !strings.HasPrefix(ch, "#") || len(ch) == 1 {
		return s.numeric(dst, rplEndOfNames, ch, "End of /NAMES list.")
	}
	s.request(kindNames, ch, false, wire.Frame{Type: wire.TypeWho, Room: ch[1:]})
	return dst
}

// NOTICE <msgtarget> <text>
func noticeHandler(s *Session, dst []byte, m *message) []byte {
	return s.message(dst, m.Params[0], m.Params[1], true)
}

// PART <channel>{,<channel>} [<message>]
func partHandler(s *Session, dst []byte, m *message) []byte {
	ch := strings.Split(m.Params[0], ",")[0]
	if s.room == "" || ch != "#"+s.room {
		return s.numeric(dst, errNotOnChannel, ch, "You're not on that channel")
	}
	words := ""
	if len(m.Params) > 1 {
		words = decodeText(m.Params[1])
	}
	s.request(kindPart, ch, false, wire.Frame{Type: wire.TypeLeave}).words = words
	return dst
}

// PRIVMSG <msgtarget> <text>
func privmsgHandler(s *Session, dst []byte, m *message) []byte {
	return s.message(dst, m.Params[0], m.Params[1], false)
}

// message sends PRIVMSG or NOTICE text to a channel or nick list of at
// most 4 targets. A NOTICE (quiet) is never answered with an error.
func (s *Session) message(dst []byte, targets, text string, quiet bool) []byte {
	text = decodeText(text)
	if strings.HasPrefix(text, "\x01") {
		// CTCP: an ACTION is "/me"; other queries (VERSION, PING) have
		// no answerer on a rooms client and are dropped.
		body := strings.TrimSuffix(strings.TrimPrefix(text, "\x01"), "\x01")
		rest, isAction := strings.CutPrefix(body, "ACTION ")
		if !isAction {
			return dst
		}
		text = "/me " + rest
	}
	for i, t := range strings.Split(targets, ",") {
		if i == 4 {
			if !quiet {
				dst = s.numeric(dst, errTooManyTargets, t, "Too many targets: at most 4")
			}
			break
		}
		switch {
		case strings.HasPrefix(t, "#"):
			if s.room == "" || t != "#"+s.room {
				if !quiet {
					dst = s.numeric(dst, errCannotSendToChan, t, "Cannot send to channel (you are not in it)")
				}
				continue
			}
			s.request(kindSay, t, quiet, wire.Frame{Type: wire.TypeSay, Text: text})
		case t == s.nick:
			// The hub refuses a message to oneself; IRC delivers it.
			dst = s.appendText(dst, s.prefix(s.nick), "PRIVMSG", s.nick, text)
		default:
			s.request(kindTell, t, quiet, wire.Frame{Type: wire.TypeTell, To: t, Text: text})
		}
	}
	return dst
}

// TOPIC <channel> [<topic>]
//
// Rooms have no topic, and none can be set.
func topicHandler(s *Session, dst []byte, m *message) []byte {
	if len(m.Params) > 1 {
		return s.numeric(dst, errChanOPrivsNeeded, m.Params[0], "Topics cannot be set on this server")
	}
	return s.numeric(dst, rplNoTopic, m.Params[0], "No topic is set")
}

// USERHOST <nickname> *( " " <nickname> )
//
// Answered from the session alone: only the user's own nick is known
// here without asking the hub, and only it is listed.
func userhostHandler(s *Session, dst []byte, m *message) []byte {
	var hosts []string
	for _, n := range m.Params {
		if n == s.nick {
			hosts = append(hosts, n+"="+awayMark(s.away)+s.nick+"@"+s.cfg.Server)
		}
	}
	return s.numeric(dst, rplUserHost, strings.Join(hosts, " "))
}

// awayMark is USERHOST's away flag.
func awayMark(away bool) string {
	if away {
		return "-"
	}
	return "+"
}

// VERSION [<target>]
func versionHandler(s *Session, dst []byte, _ *message) []byte {
	return s.numeric(dst, rplVersion, s.cfg.Software, s.cfg.Server, "a chat-server speaking IRC")
}

// WHO [<mask>]
//
// A channel, a nick, or everyone ("", "*" or "0").
func whoHandler(s *Session, dst []byte, m *message) []byte {
	mask := ""
	if len(m.Params) > 0 {
		mask = m.Params[0]
	}
	switch {
	case strings.HasPrefix(mask, "#") && len(mask) > 1:
		s.request(kindWho, mask, false, wire.Frame{Type: wire.TypeWho, Room: mask[1:]})
	case mask == "" || mask == "*" || mask == "0":
		s.request(kindWho, "*", false, wire.Frame{Type: wire.TypeWho})
	default:
		s.request(kindWho, mask, false, wire.Frame{Type: wire.TypeWho})
	}
	return dst
}

// WHOIS [<target>] <nickname>{,<nickname>}
//
// The nick is the last parameter, so this checks it rather than the
// table's minParams; only the first nick of a list is answered.
func whoisHandler(s *Session, dst []byte, m *message) []byte {
	p := m.Params
	if len(p) == 0 || p[len(p)-1] == "" {
		return noNicknameGiven(s, dst, m)
	}
	nick := strings.Split(p[len(p)-1], ",")[0]
	s.request(kindWhois, nick, false, wire.Frame{Type: wire.TypeWho})
	return dst
}
