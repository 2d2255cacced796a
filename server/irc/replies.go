package irc

import (
	"strconv"
	"strings"

	"chat/internal/wire"
)

// The hub's Replies, answered in IRC's terms according to the command
// whose request they answer.

// reply answers the command whose request f replies to.
func (s *Session) reply(dst []byte, f *wire.Frame) []byte {
	p, found := s.takePending(f.ID)
	if !found {
		return dst // an answer to nothing asked (BadFrame): IRC has no word for it
	}
	ok := f.Code == wire.OK
	switch p.kind {
	case kindRegister:
		return s.registered(dst, f)
	case kindCreate:
		if !ok && f.Code != wire.ErrRoomExists {
			s.createErr = f.Text
		}
	case kindEnter:
		return s.entered(dst, &p, f)
	case kindJoinNames:
		if ok && "#"+s.room == p.target {
			return s.names(dst, p.target, f.Users)
		}
	case kindNames:
		if ok {
			return s.names(dst, p.target, f.Users)
		}
		return s.numeric(dst, rplEndOfNames, p.target, "End of /NAMES list.")
	case kindPart:
		return s.parted(dst, &p, f)
	case kindSay, kindTell:
		if !ok && !p.quiet {
			return s.notSent(dst, &p, f)
		}
	case kindWho:
		return s.who(dst, p.target, f)
	case kindWhois:
		return s.whois(dst, p.target, f)
	case kindIson:
		return s.ison(dst, p.target, f)
	case kindList:
		return s.list(dst, f)
	case kindQuit:
		s.room = ""
		return s.closeLink(dst, p.words)
	}
	return dst
}

// registered completes registration with the hub's answer to the Login or
// Claim.
func (s *Session) registered(dst []byte, f *wire.Frame) []byte {
	switch f.Code {
	case wire.OK:
		s.state = registered
		dst = s.welcome(dst)
		if f.Room != "" {
			// Took over a session that was in a room: the user is in it.
			s.room = f.Room
			ch := "#" + f.Room
			dst = appendLine(dst, s.prefix(s.nick), "JOIN", ch)
			s.request(kindJoinNames, ch, false, wire.Frame{Type: wire.TypeWho, Room: f.Room})
		}
		return dst
	case wire.ErrNameTaken:
		s.state, s.hasNick = unregistered, false
		text := "Nickname is already in use"
		if strings.Contains(f.Text, "registered") {
			text = "Nickname is registered: connect with its password (PASS) or choose another"
		}
		return appendLine(dst, s.cfg.Server, errNicknameInUse, "*", s.nick, text)
	case wire.ErrBadName:
		s.state, s.hasNick = unregistered, false
		return appendLine(dst, s.cfg.Server, errErroneusNickname, "*", s.nick, "Erroneous nickname")
	case wire.ErrBadLogin:
		dst = s.numeric(dst, errPasswdMismatch, "Password incorrect")
		return s.closeLink(dst, "Bad password")
	case wire.ErrGuestsClosed:
		dst = appendLine(dst, s.cfg.Server, errPasswdMismatch, "*", "This server needs the password of a registered account: connect with it (PASS)")
		return s.closeLink(dst, "Password required")
	}
	dst = s.serverNotice(dst, f.Text)
	return s.closeLink(dst, f.Text)
}

// welcome is the registration burst: 001 to 005 and the MOTD.
func (s *Session) welcome(dst []byte) []byte {
	dst = s.numeric(dst, rplWelcome, "Welcome to the chat network, "+s.nick)
	dst = s.numeric(dst, rplYourHost, "Your host is "+s.cfg.Server+", running version "+s.cfg.Software)
	dst = s.numeric(dst, rplCreated, "This server was created "+s.cfg.Created)
	dst = appendLine(dst, s.cfg.Server, rplMyInfo, s.nick, s.cfg.Server, s.cfg.Software, "i", "n")
	dst = appendLine(dst, s.cfg.Server, rplISupport, s.nick, "CHANTYPES=#", "CHANLIMIT=#:1", "MAXCHANNELS=1",
		"NICKLEN="+strconv.Itoa(wire.MaxNameRunes), "CHANNELLEN="+strconv.Itoa(wire.MaxNameRunes+1),
		"TOPICLEN=0", "PREFIX=", "CHANMODES=,,,", "MAXTARGETS=4", "NETWORK=chat",
		"are supported by this server")
	return s.motd(dst)
}

// motdLines is the message of the day: what differs from other IRC
// servers.
var motdLines = []string{
	"Rooms here are IRC channels: #lounge is the room lounge.",
	"You can be in one channel at a time: joining another leaves the one you are in.",
	"JOIN creates a channel that does not exist yet.",
	"People on the chat client share channels and private messages with you.",
	"Topics, channel modes, nick changes and file transfers are not supported over IRC.",
}

// motd appends 375, a 372 per line of the message of the day, and 376.
func (s *Session) motd(dst []byte) []byte {
	dst = s.numeric(dst, rplMotdStart, "- "+s.cfg.Server+" Message of the day -")
	for _, l := range motdLines {
		dst = s.numeric(dst, rplMotd, "- "+l)
	}
	return s.numeric(dst, rplEndOfMotd, "End of /MOTD command.")
}

// entered answers a JOIN's Enter: the JOIN and 331, after a PART of the
// room the hub took the user out of; or 403 with the reason, which is the
// Create's if that failed.
func (s *Session) entered(dst []byte, p *pending, f *wire.Frame) []byte {
	if f.Code != wire.OK {
		text := f.Text
		if s.createErr != "" {
			text = s.createErr
		}
		return s.numeric(dst, errNoSuchChannel, p.target, "Cannot join channel: "+text)
	}
	if s.room != "" && s.room != f.Room {
		dst = appendLine(dst, s.prefix(s.nick), "PART", "#"+s.room, "joined "+p.target)
		dst = s.serverNotice(dst, "You can be in one channel at a time here: you left #"+s.room+" to join "+p.target)
	}
	s.room = f.Room
	dst = appendLine(dst, s.prefix(s.nick), "JOIN", p.target)
	return s.numeric(dst, rplNoTopic, p.target, "No topic is set")
}

// parted answers a PART's (or JOIN 0's) Leave.
func (s *Session) parted(dst []byte, p *pending, f *wire.Frame) []byte {
	if f.Code != wire.OK {
		return s.numeric(dst, errNotOnChannel, p.target, "You're not on that channel")
	}
	s.room = ""
	words := p.words
	if words == "" {
		words = "left"
	}
	return appendLine(dst, s.prefix(s.nick), "PART", p.target, words)
}

// notSent answers a PRIVMSG's refused Say or Tell.
func (s *Session) notSent(dst []byte, p *pending, f *wire.Frame) []byte {
	switch f.Code {
	case wire.ErrNoSuchUser, wire.ErrBadName:
		return s.numeric(dst, errNoSuchNick, p.target, "No such nick/channel")
	case wire.ErrNotInRoom:
		return s.numeric(dst, errCannotSendToChan, p.target, "Cannot send to channel (you are not in it)")
	}
	return s.serverNotice(dst, "Your message to "+p.target+" was not sent: "+f.Text)
}

// names appends the 353 lines (as many as needed to stay within MaxLine)
// and 366.
func (s *Session) names(dst []byte, ch string, users []wire.User) []byte {
	room := MaxLine - len(s.cfg.Server) - len(s.nick) - len(ch) - 16
	var line []string
	size := 0
	for _, u := range users {
		if size+len(u.Name)+1 > room && len(line) > 0 {
			dst = s.numeric(dst, rplNamReply, "=", ch, strings.Join(line, " "))
			line, size = line[:0], 0
		}
		line = append(line, u.Name)
		size += len(u.Name) + 1
	}
	if len(line) > 0 {
		dst = s.numeric(dst, rplNamReply, "=", ch, strings.Join(line, " "))
	}
	return s.numeric(dst, rplEndOfNames, ch, "End of /NAMES list.")
}

// who appends a 352 line per matching user and 315.
func (s *Session) who(dst []byte, mask string, f *wire.Frame) []byte {
	for _, u := range f.Users {
		if mask != "*" && !strings.HasPrefix(mask, "#") && u.Name != mask {
			continue
		}
		ch := "*"
		if u.Room != "" {
			ch = "#" + u.Room
		}
		dst = s.numeric(dst, rplWhoReply, ch, u.Name, s.cfg.Server, s.cfg.Server, u.Name, "H", "0 "+u.Name)
	}
	return s.numeric(dst, rplEndOfWho, mask, "End of /WHO list.")
}

// whois appends 311, 319, 312 and 318 for a user, or 401 and 318.
func (s *Session) whois(dst []byte, nick string, f *wire.Frame) []byte {
	for _, u := range f.Users {
		if u.Name != nick {
			continue
		}
		dst = s.numeric(dst, rplWhoisUser, nick, nick, s.cfg.Server, "*", nick)
		if u.Room != "" {
			dst = s.numeric(dst, rplWhoisChannels, nick, "#"+u.Room)
		}
		dst = s.numeric(dst, rplWhoisServer, nick, s.cfg.Server, "chat-server")
		return s.numeric(dst, rplEndOfWhois, nick, "End of /WHOIS list.")
	}
	dst = s.numeric(dst, errNoSuchNick, nick, "No such nick/channel")
	return s.numeric(dst, rplEndOfWhois, nick, "End of /WHOIS list.")
}

// ison appends 303 with those of the space-separated nicks asked about
// who are connected.
func (s *Session) ison(dst []byte, asked string, f *wire.Frame) []byte {
	var on []string
	for _, want := range strings.Fields(asked) {
		for _, u := range f.Users {
			if u.Name == want {
				on = append(on, want)
			}
		}
	}
	return s.numeric(dst, rplIsOn, strings.Join(on, " "))
}

// list appends 321, a 322 per room with its member count, and 323.
func (s *Session) list(dst []byte, f *wire.Frame) []byte {
	dst = s.numeric(dst, rplListStart, "Channel", "Users Name")
	for _, r := range f.Rooms {
		dst = s.numeric(dst, rplList, "#"+r.Name, strconv.FormatUint(r.Members, 10), "")
	}
	return s.numeric(dst, rplListEnd, "End of /LIST")
}
