package irc

import (
	"strconv"
	"strings"

	"chat/internal/wire"
)

// The command handlers: those usable before registration first, then the
// rest alphabetically (channel commands are in channels.go, CAP and
// AUTHENTICATE in caps.go). Each runs once the dispatcher's checks have
// passed, so it has at least its command's minParams parameters. A syntax
// comment heads each; what differs from RFC 2812 is said there.

// PASS <password>
//
// With a server password configured (Config.Password), that password;
// without, the password of the registered account named by NICK, and a
// nick without PASS is a guest name.
func passHandler(s *Session, dst []byte, m *message) []byte {
	if s.cfg.Password != "" {
		s.passOK = m.Params[0] == s.cfg.Password
		return dst
	}
	s.pass = m.Params[0]
	return dst
}

// NICK <nickname>
//
// Before registration it names the account or guest; after it, a guest
// takes the new name if it is free (a registered user's name is their
// account's: 447).
func nickHandler(s *Session, dst []byte, m *message) []byte {
	nick := m.Params[0]
	if !nickOK(nick) {
		return s.numeric(dst, errErroneusNickname, nick,
			"Erroneous nickname: use 1 to "+strconv.Itoa(wire.MaxNameRunes)+" characters, none of , * ? ! @ : . or spaces")
	}
	switch s.state {
	case registered:
		if nick == s.nick {
			return dst
		}
		s.request(kindNick, nick, false, wire.Frame{Type: wire.TypeNick, Name: nick})
		return dst
	case registering:
		return dst // the answer to the first one is on its way
	}
	if s.sasl.done {
		return dst // logged in: the account's name is the nick
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
// The user name and real name are what others see in WHO and WHOIS. The
// real name may be empty.
func userHandler(s *Session, dst []byte, m *message) []byte {
	if m.Params[3] == "" {
		return s.numeric(dst, errNeedMoreParams, "USER", "Not enough parameters")
	}
	s.hasUser = true
	s.user = decodeText(m.Params[0])
	if len(s.user) > maxUserLen {
		s.user = wire.CutAtRune(s.user, maxUserLen)
	}
	s.real = decodeText(m.Params[3])
	return s.register(dst)
}

// maxUserLen is USERLEN: how much of USER's user name is kept.
const maxUserLen = 16

// register logs the user in once NICK and USER are in and capability
// negotiation (if any) has ended: with the server password checked if
// there is one; already logged in by SASL, or with PASS as the account of
// that name, or without as a guest.
func (s *Session) register(dst []byte) []byte {
	if s.state != unregistered || !s.hasNick || !s.hasUser || s.capHold {
		return dst
	}
	if s.cfg.Password != "" && !s.passOK {
		dst = s.numeric(dst, errPasswdMismatch, "Password incorrect: this server needs its password (PASS)")
		return s.closeLink(dst, "Bad password")
	}
	if s.sasl.done {
		s.state = registered
		return s.welcome(dst)
	}
	s.state = registering
	if s.pass != "" {
		s.request(kindRegister, s.nick, false, wire.Frame{Type: wire.TypeLogin, Name: s.nick, Secret: s.pass, Ident: s.user, Real: s.real})
		s.pass = "" // kept no longer than needed
		return dst
	}
	s.request(kindRegister, s.nick, false, wire.Frame{Type: wire.TypeClaim, Name: s.nick, Ident: s.user, Real: s.real})
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
// user out first, so the channels hear the words.
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
	text := ""
	if len(m.Params) > 0 {
		text = decodeText(m.Params[0])
	}
	s.request(kindAway, "", false, wire.Frame{Type: wire.TypeAway, Text: text})
	return dst
}

// INFO [<target>]
func infoHandler(s *Session, dst []byte, _ *message) []byte {
	dst = s.numeric(dst, rplInfo, s.cfg.Software+", a chat server that speaks IRC")
	dst = s.numeric(dst, rplInfo, "Its rooms are these channels; its chat clients share them with you.")
	return s.numeric(dst, rplEndOfInfo, "End of /INFO list")
}

// ISON <nickname> *( " " <nickname> )
func isonHandler(s *Session, dst []byte, m *message) []byte {
	s.request(kindIson, strings.Join(m.Params, " "), false, wire.Frame{Type: wire.TypeWho})
	return dst
}

// KILL <nickname> [<comment>]
//
// Server operators only.
func killHandler(s *Session, dst []byte, m *message) []byte {
	f := wire.Frame{Type: wire.TypeKill, Name: m.Params[0]}
	if len(m.Params) > 1 {
		f.Text = decodeText(m.Params[1])
	}
	s.request(kindKill, m.Params[0], false, f)
	return dst
}

// LUSERS
func lusersHandler(s *Session, dst []byte, _ *message) []byte {
	s.request(kindLusersRooms, "", false, wire.Frame{Type: wire.TypeRooms})
	s.request(kindLusersUsers, "", false, wire.Frame{Type: wire.TypeWho})
	return dst
}

// MOTD [<target>]
func motdHandler(s *Session, dst []byte, _ *message) []byte { return s.motd(dst) }

// NOTICE <msgtarget> <text>
func noticeHandler(s *Session, dst []byte, m *message) []byte {
	return s.message(dst, m, true)
}

// OPER <name> <password>
//
// The account's password, for an account the server lists as an
// operator (chat-server -opers).
func operHandler(s *Session, dst []byte, m *message) []byte {
	s.request(kindOper, m.Params[0], false, wire.Frame{Type: wire.TypeOper, Name: m.Params[0], Secret: m.Params[1]})
	return dst
}

// PRIVMSG <msgtarget> <text>
func privmsgHandler(s *Session, dst []byte, m *message) []byte {
	return s.message(dst, m, false)
}

// maxTargets is MAXTARGETS: the targets of one PRIVMSG or NOTICE.
const maxTargets = 4

// message sends PRIVMSG or NOTICE text to a list of channels and nicks,
// with its client-only tags for a client with message-tags. A NOTICE
// (quiet) is never answered with an error.
func (s *Session) message(dst []byte, m *message, quiet bool) []byte {
	targets, text := m.Params[0], decodeText(m.Params[1])
	tags := ""
	if s.caps&capMessageTags != 0 {
		tags = m.Tags
	}
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
	code := wire.OK
	if quiet {
		code = wire.AsNotice
	}
	for i, t := range strings.Split(targets, ",") {
		if i == maxTargets {
			if !quiet {
				dst = s.numeric(dst, errTooManyTargets, t, "Too many targets: at most "+strconv.Itoa(maxTargets))
			}
			break
		}
		switch {
		case t == "":
		case strings.HasPrefix(t, "#"):
			p := s.request(kindSay, t, quiet, wire.Frame{Type: wire.TypeSay, Room: t[1:], Text: text, Code: code, Tags: tags})
			p.words, p.tags = text, tags
		case t == s.nick:
			// The hub refuses a message to oneself; IRC delivers it.
			command := "PRIVMSG"
			if quiet {
				command = "NOTICE"
			}
			dst = s.appendText(dst, s.messageTags("", "", 0, tags), s.myPrefix(), command, s.nick, text)
		default:
			p := s.request(kindTell, t, quiet, wire.Frame{Type: wire.TypeTell, To: t, Text: text, Code: code, Tags: tags})
			p.words, p.tags = text, tags
		}
	}
	return dst
}

// TIME [<target>]
//
// The hub's clock, by way of a Ping: the session keeps none.
func timeHandler(s *Session, dst []byte, _ *message) []byte {
	s.request(kindTime, "", false, wire.Frame{Type: wire.TypePing})
	return dst
}

// USERHOST <nickname> *( " " <nickname> )
func userhostHandler(s *Session, dst []byte, m *message) []byte {
	s.request(kindUserhost, strings.Join(m.Params, " "), false, wire.Frame{Type: wire.TypeWho})
	return dst
}

// VERSION [<target>]
func versionHandler(s *Session, dst []byte, _ *message) []byte {
	dst = s.numeric(dst, rplVersion, s.cfg.Software, s.cfg.Server, "a chat-server speaking IRC")
	return s.isupport(dst)
}

// WHO [<mask>]
//
// A channel, or a mask of nicks with * and ? ("", "*" and "0": everyone).
func whoHandler(s *Session, dst []byte, m *message) []byte {
	mask := "*"
	if len(m.Params) > 0 && m.Params[0] != "" {
		mask = m.Params[0]
	}
	if strings.HasPrefix(mask, "#") && len(mask) > 1 {
		s.request(kindWho, mask, false, wire.Frame{Type: wire.TypeWho, Room: mask[1:]})
		return dst
	}
	s.request(kindWho, mask, false, wire.Frame{Type: wire.TypeWho})
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
	s.request(kindWhois, nick, false, wire.Frame{Type: wire.TypeWhois, Name: nick})
	return dst
}

// WHOWAS <nickname> [<count>]
func whowasHandler(s *Session, dst []byte, m *message) []byte {
	nick := strings.Split(m.Params[0], ",")[0]
	f := wire.Frame{Type: wire.TypeWhowas, Name: nick}
	if len(m.Params) > 1 {
		if n, err := strconv.Atoi(m.Params[1]); err == nil && n > 0 {
			f.Count = uint64(n)
		}
	}
	s.request(kindWhowas, nick, false, f)
	return dst
}

// MODE <nickname> [<modes>]: the user's own modes, kept by the session:
// i (invisible) and w (wallops) are accepted and change nothing else.
func (s *Session) userMode(dst []byte, p []string) []byte {
	if p[0] != s.nick {
		return s.numeric(dst, errUsersDontMatch, "Cannot change mode for other users")
	}
	if len(p) == 1 {
		return s.numeric(dst, rplUModeIs, "+"+s.umodes)
	}
	on := true
	var applied strings.Builder
	sign := byte(0)
	for i := 0; i < len(p[1]); i++ {
		c := p[1][i]
		switch c {
		case '+', '-':
			on = c == '+'
			continue
		case 'i', 'w':
		default:
			dst = s.numeric(dst, errUModeUnknownFlag, "Unknown MODE flag")
			continue
		}
		has := strings.IndexByte(s.umodes, c) >= 0
		if has == on {
			continue
		}
		if on {
			s.umodes += string(c)
		} else {
			s.umodes = strings.ReplaceAll(s.umodes, string(c), "")
		}
		if want := "-+"[b2i(on)]; want != sign {
			applied.WriteByte(want)
			sign = want
		}
		applied.WriteByte(c)
	}
	if applied.Len() == 0 {
		return dst
	}
	return appendLine(dst, s.myPrefix(), "MODE", s.nick, applied.String())
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
