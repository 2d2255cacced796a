package irc

import (
	"strconv"
	"strings"
	"time"

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
	if f.Code != wire.OK {
		return s.refused(dst, &p, f)
	}
	switch p.kind {
	case kindRegister:
		return s.registered(dst, f)
	case kindSASL:
		return s.saslDone(dst, f)
	case kindJoin:
		return s.joined1(dst, f)
	case kindPart:
		s.leftRoom(f.Room)
		return appendLine(dst, s.myPrefix(), "PART", partParams("#"+f.Room, p.words)...)
	case kindPartAll:
		for _, r := range s.joined {
			dst = appendLine(dst, s.myPrefix(), "PART", "#"+r)
		}
		s.joined = nil
	case kindSay, kindTell:
		return s.sent(dst, &p, f)
	case kindNames:
		return s.names(dst, p.target, f.Mode, f.Users, p.words)
	case kindWho:
		return s.who(dst, p.target, f)
	case kindWhois:
		return s.whois(dst, p.target, f)
	case kindIson:
		return s.ison(dst, p.target, f)
	case kindUserhost:
		return s.userhost(dst, p.target, f)
	case kindList:
		return s.list(dst, p.target, f)
	case kindTopic:
		if f.Words == "" {
			return s.numeric(dst, rplNoTopic, "#"+f.Room, "No topic is set")
		}
		return s.topic(dst, "#"+f.Room, f)
	case kindMode:
		if p.words == "" { // a query; a change is told by the hub's notice
			dst = s.numeric(dst, rplChannelModeIs, append([]string{"#" + f.Room}, strings.Fields(f.Mode)...)...)
			if f.At != 0 {
				dst = s.numeric(dst, rplCreationTime, "#"+f.Room, strconv.FormatInt(f.At/1000, 10))
			}
			return dst
		}
	case kindBans:
		for _, u := range f.Users {
			dst = s.numeric(dst, rplBanList, "#"+f.Room, u.Name)
		}
		return s.numeric(dst, rplEndOfBanList, "#"+f.Room, "End of channel ban list")
	case kindInvite:
		return s.numeric(dst, rplInviting, f.Name, "#"+f.Room)
	case kindAway:
		if f.Words != "" {
			s.away = true
			return s.numeric(dst, rplNowAway, "You have been marked as being away")
		}
		s.away = false
		return s.numeric(dst, rplUnAway, "You are no longer marked as being away")
	case kindNick:
		old := s.myPrefix()
		s.nick = f.Name
		return appendLine(dst, old, "NICK", f.Name)
	case kindOper:
		dst = s.numeric(dst, rplYoureOper, "You are now an IRC operator")
		return appendLine(dst, s.myPrefix(), "MODE", s.nick, "+o")
	case kindLusersRooms:
		s.lusersRooms = f.Count
	case kindLusersUsers:
		return s.lusersUsers(dst, f)
	case kindHistory:
		return s.historyDone(dst, &p, f)
	case kindWhowas:
		for _, u := range f.Users {
			dst = s.numeric(dst, rplWhowasUser, u.Name, identOf(u), s.cfg.Server, "*", realOf(u))
			dst = s.numeric(dst, rplWhoisServer, u.Name, s.cfg.Server, "chat-server")
		}
		return s.numeric(dst, rplEndOfWhowas, p.target, "End of WHOWAS")
	case kindTime:
		return s.numeric(dst, rplTime, s.cfg.Server, time.UnixMilli(f.Time).UTC().Format("Monday January 2 2006 -- 15:04:05 UTC"))
	case kindQuit:
		s.joined = nil
		return s.closeLink(dst, p.words)
	}
	return dst
}

// partParams are a PART's parameters: the channel, and the words if any.
func partParams(ch, words string) []string {
	if words == "" {
		return []string{ch}
	}
	return []string{ch, words}
}

// refused answers a request the hub refused, with the numeric IRC has for
// the refusal.
func (s *Session) refused(dst []byte, p *pending, f *wire.Frame) []byte {
	ch := p.target
	switch p.kind {
	case kindRegister:
		return s.registered(dst, f)
	case kindSASL:
		return s.saslDone(dst, f)
	case kindSay, kindTell:
		if p.quiet {
			return dst
		}
	case kindNames:
		if p.words == "" {
			return dst // one of several channels: the last one's 366 names them all
		}
		return s.numeric(dst, rplEndOfNames, p.words, "End of /NAMES list.")
	case kindWho:
		return s.numeric(dst, rplEndOfWho, ch, "End of /WHO list.")
	case kindWhois:
		dst = s.numeric(dst, errNoSuchNick, ch, "No such nick/channel")
		return s.numeric(dst, rplEndOfWhois, ch, "End of /WHOIS list.")
	case kindNick:
		switch f.Code {
		case wire.ErrNameTaken:
			return s.numeric(dst, errNicknameInUse, ch, "Nickname is already in use")
		case wire.ErrBadName:
			return s.numeric(dst, errErroneusNickname, ch, "Erroneous nickname")
		}
		return s.numeric(dst, errNoNickChange, ch, "Nick change refused: "+f.Text)
	case kindOper:
		return s.numeric(dst, errPasswdMismatch, "Password incorrect")
	case kindKill:
		if f.Code == wire.ErrNotAllowed {
			return s.numeric(dst, errNoPrivileges, "Permission Denied- You're not an IRC operator")
		}
		return s.numeric(dst, errNoSuchNick, ch, "No such nick/channel")
	case kindHistory:
		return s.historyDone(dst, p, f)
	case kindWhowas:
		dst = s.numeric(dst, errWasNoSuchNick, ch, "There was no such nickname")
		return s.numeric(dst, rplEndOfWhowas, ch, "End of WHOWAS")
	case kindTime, kindAway, kindLusersUsers, kindLusersRooms, kindSilent:
		return dst
	}
	switch f.Code {
	case wire.ErrNoSuchRoom, wire.ErrBadName:
		if p.kind == kindSay {
			return s.numeric(dst, errCannotSendToChan, ch, "Cannot send to channel: "+f.Text)
		}
		return s.numeric(dst, errNoSuchChannel, ch, "No such channel")
	case wire.ErrNotInRoom:
		if p.kind == kindSay {
			return s.numeric(dst, errCannotSendToChan, ch, "Cannot send to channel (you are not in it)")
		}
		return s.numeric(dst, errNotOnChannel, ch, "You're not on that channel")
	case wire.ErrCannotSpeak:
		return s.numeric(dst, errCannotSendToChan, ch, "Cannot send to channel: "+f.Text)
	case wire.ErrNotOperator:
		return s.numeric(dst, errChanOPrivsNeeded, ch, "You're not channel operator")
	case wire.ErrNoSuchUser:
		switch {
		case f.Name != "" && (p.kind == kindKick || p.kind == kindMode):
			return s.numeric(dst, errUserNotInChannel, f.Name, ch, "They aren't on that channel")
		case p.kind == kindKick || p.kind == kindInvite:
			return s.numeric(dst, errNoSuchNick, p.words, "No such nick/channel")
		case p.kind == kindMode:
			return s.numeric(dst, errNoSuchNick, modeNick(f.Text), "No such nick/channel")
		}
		return s.numeric(dst, errNoSuchNick, ch, "No such nick/channel")
	case wire.ErrInRoom:
		return s.numeric(dst, errUserOnChannel, p.words, ch, "is already on channel")
	case wire.ErrUnknownMode:
		return s.numeric(dst, errUnknownMode, unknownModeLetter(f.Text), "is unknown mode char to me")
	case wire.ErrInviteOnly:
		return s.numeric(dst, errInviteOnlyChan, ch, "Cannot join channel (+i)")
	case wire.ErrBadKey:
		return s.numeric(dst, errBadChannelKey, ch, "Cannot join channel (+k)")
	case wire.ErrRoomFull:
		return s.numeric(dst, errChannelIsFull, ch, "Cannot join channel (+l)")
	case wire.ErrBanned:
		return s.numeric(dst, errBannedFromChan, ch, "Cannot join channel (+b)")
	case wire.ErrLimit:
		if p.kind == kindJoin {
			return s.numeric(dst, errTooManyChannels, ch, "You have joined too many channels")
		}
	case wire.ErrBadRequest:
		if p.kind == kindMode {
			return s.numeric(dst, errNeedMoreParams, "MODE", f.Text)
		}
	}
	return s.serverNotice(dst, p.target+": "+f.Text)
}

// modeNick takes the nick out of the hub's `no user named "x" is
// connected`.
func modeNick(text string) string {
	_, rest, _ := strings.Cut(text, `"`)
	nick, _, _ := strings.Cut(rest, `"`)
	return nick
}

// unknownModeLetter takes the letter out of the hub's "x is not a mode
// this server knows".
func unknownModeLetter(text string) string {
	if text == "" {
		return "?"
	}
	return text[:1]
}

// registered completes registration with the hub's answer to the Login or
// Claim.
func (s *Session) registered(dst []byte, f *wire.Frame) []byte {
	switch f.Code {
	case wire.OK:
		s.state = registered
		s.inherit(f)
		return s.welcome(dst)
	case wire.ErrNameTaken:
		s.state, s.hasNick = unregistered, false
		text := "Nickname is already in use"
		if strings.Contains(f.Text, "registered") {
			text = "Nickname is registered: log in to it (SASL, or PASS) or choose another"
		}
		return appendLine(dst, s.cfg.Server, errNicknameInUse, "*", s.nick, text)
	case wire.ErrBadName:
		s.state, s.hasNick = unregistered, false
		return appendLine(dst, s.cfg.Server, errErroneusNickname, "*", s.nick, "Erroneous nickname")
	case wire.ErrBadLogin:
		dst = s.numeric(dst, errPasswdMismatch, "Password incorrect")
		return s.closeLink(dst, "Bad password")
	case wire.ErrGuestsClosed:
		dst = appendLine(dst, s.cfg.Server, errPasswdMismatch, "*", "This server needs the password of a registered account: log in with SASL or PASS")
		return s.closeLink(dst, "Password required")
	}
	dst = s.serverNotice(dst, f.Text)
	return s.closeLink(dst, f.Text)
}

// inherit notes the rooms a login took over from the account's other
// connection, which welcome announces.
func (s *Session) inherit(f *wire.Frame) {
	for _, r := range f.Rooms {
		s.inherited = append(s.inherited, r.Name)
	}
	if len(f.Rooms) == 0 && f.Room != "" {
		s.inherited = append(s.inherited, f.Room)
	}
}

// welcome is the registration burst: 001 to 005 and the MOTD, then the
// channels a takeover put the user in.
func (s *Session) welcome(dst []byte) []byte {
	dst = s.numeric(dst, rplWelcome, "Welcome to the chat network, "+s.nick)
	dst = s.numeric(dst, rplYourHost, "Your host is "+s.cfg.Server+", running version "+s.cfg.Software)
	dst = s.numeric(dst, rplCreated, "This server was created "+s.cfg.Created)
	dst = appendLine(dst, s.cfg.Server, rplMyInfo, s.nick, s.cfg.Server, s.cfg.Software, "iow", "biklmnostv", "bklov")
	dst = s.isupport(dst)
	dst = s.motd(dst)
	for _, r := range s.inherited {
		s.joinedRoom(r)
		dst = appendLine(dst, s.myPrefix(), "JOIN", "#"+r)
		s.request(kindNames, "#"+r, false, wire.Frame{Type: wire.TypeWho, Room: r}).words = "#" + r
	}
	s.inherited = nil
	return dst
}

// isupport is 005: what the server supports, in ISUPPORT tokens, at
// most 13 to a line as the protocol allows.
func (s *Session) isupport(dst []byte) []byte {
	chanLimit := strconv.Itoa(max(s.cfg.ChanLimit, 1))
	tokens := []string{"CHANTYPES=#",
		"CHANLIMIT=#:" + chanLimit, "MAXCHANNELS=" + chanLimit, "CHANMODES=b,k,l,imnst", "PREFIX=(ov)@+",
		"MODES=6", "NICKLEN=" + strconv.Itoa(wire.MaxNameRunes), "CHANNELLEN=" + strconv.Itoa(wire.MaxNameRunes+1),
		"TOPICLEN=390", "AWAYLEN=300", "KICKLEN=300", "USERLEN=" + strconv.Itoa(maxUserLen),
		"MAXTARGETS=" + strconv.Itoa(maxTargets), "TARGMAX=PRIVMSG:4,NOTICE:4,JOIN:,PART:,KICK:,NAMES:",
		"NETWORK=chat", "CHATHISTORY=" + strconv.Itoa(wire.MaxHistoryPage), "MSGREFTYPES=msgid,timestamp"}
	for len(tokens) > 0 {
		n := min(len(tokens), 13)
		dst = appendLine(dst, s.cfg.Server, rplISupport, append(append([]string{s.nick}, tokens[:n]...), "are supported by this server")...)
		tokens = tokens[n:]
	}
	return dst
}

// motdLines is the message of the day: what differs from other IRC
// servers.
var motdLines = []string{
	"Rooms here are IRC channels: #lounge is the room lounge.",
	"JOIN creates a channel that does not exist yet; its creator is its operator.",
	"People on the chat client share channels and private messages with you.",
	"Nicks keep their case: Bob and bob are two people; #Lounge and #lounge are one channel.",
	"Log in to your account with SASL PLAIN (or PASS); without, your nick is a guest name.",
	"File transfers are not available over IRC.",
}

// motd appends 375, a 372 per line of the message of the day, and 376.
func (s *Session) motd(dst []byte) []byte {
	dst = s.numeric(dst, rplMotdStart, "- "+s.cfg.Server+" Message of the day -")
	for _, l := range motdLines {
		dst = s.numeric(dst, rplMotd, "- "+l)
	}
	return s.numeric(dst, rplEndOfMotd, "End of /MOTD command.")
}

// joined1 answers a JOIN's Join: the JOIN, the topic if there is one, and
// the names. A Join of a channel the user is in says nothing.
func (s *Session) joined1(dst []byte, f *wire.Frame) []byte {
	if s.inChannel(f.Room) >= 0 {
		return dst
	}
	s.joinedRoom(f.Room)
	ch := "#" + f.Room
	dst = appendLine(dst, s.myPrefix(), "JOIN", ch)
	if f.Words != "" {
		dst = s.topic(dst, ch, f)
	}
	return s.names(dst, ch, f.Mode, f.Users, ch)
}

// topic appends 332 and 333: the topic, who set it and when.
func (s *Session) topic(dst []byte, ch string, f *wire.Frame) []byte {
	dst = s.numeric(dst, rplTopic, ch, f.Words)
	if f.By != "" {
		dst = s.numeric(dst, rplTopicWhoTime, ch, f.By, strconv.FormatInt(f.At/1000, 10))
	}
	return dst
}

// sent answers a PRIVMSG's Say or Tell: the echo of the message for a
// client that asked for echo-message, and 301 when the recipient is away.
func (s *Session) sent(dst []byte, p *pending, f *wire.Frame) []byte {
	if s.caps&capEchoMessage != 0 {
		command := "PRIVMSG"
		if p.quiet {
			command = "NOTICE"
		}
		target := p.target
		if p.kind == kindSay {
			target = "#" + f.Room
		} else if f.Name != "" {
			target = f.Name
		}
		// The reply carries what the recipients' frame had: the room and
		// Seq, or the serial, and the time.
		id := msgID(&wire.Frame{Room: f.Room, Seq: f.Seq, Count: f.Count, Time: f.Time})
		tags := s.messageTags("", id, f.Time, p.tags)
		if p.words == "" {
			dst = appendLine(append(dst, tags...), s.myPrefix(), "TAGMSG", target)
		} else {
			dst = s.appendText(dst, tags, s.myPrefix(), command, target, p.words)
		}
	}
	if p.kind == kindTell && f.Words != "" && !p.quiet {
		dst = s.numeric(dst, rplAway, f.Name, f.Words)
	}
	return dst
}

// prefixOf is a member's standing as NAMES and WHO show it: all of it
// for a client with multi-prefix, else the highest.
func (s *Session) prefixOf(prefix string) string {
	if s.caps&capMultiPrefix != 0 || len(prefix) < 2 {
		return prefix
	}
	return prefix[:1]
}

// names appends the 353 lines (as many as needed to stay within MaxLine)
// for a channel with those modes ("@" marks a secret one), then 366 for
// end, unless end is "" (more channels follow).
func (s *Session) names(dst []byte, ch, modes string, users []wire.User, end string) []byte {
	kind := "="
	if strings.Contains(strings.Fields(modes + " +")[0], "s") {
		kind = "@"
	}
	room := MaxLine - len(s.cfg.Server) - len(s.nick) - len(ch) - 16
	var line []string
	size := 0
	for _, u := range users {
		entry := s.prefixOf(strings.TrimPrefix(u.Prefix, "*")) + u.Name
		if s.caps&capUserhostInNames != 0 {
			entry += "!" + identOf(u) + "@" + s.cfg.Server
		}
		if size+len(entry)+1 > room && len(line) > 0 {
			dst = s.numeric(dst, rplNamReply, kind, ch, strings.Join(line, " "))
			line, size = line[:0], 0
		}
		line = append(line, entry)
		size += len(entry) + 1
	}
	if len(line) > 0 {
		dst = s.numeric(dst, rplNamReply, kind, ch, strings.Join(line, " "))
	}
	if end == "" {
		return dst
	}
	return s.numeric(dst, rplEndOfNames, end, "End of /NAMES list.")
}

// who appends a 352 line per matching user and 315.
func (s *Session) who(dst []byte, mask string, f *wire.Frame) []byte {
	channel := strings.HasPrefix(mask, "#")
	for _, u := range f.Users {
		if !channel && mask != "*" && mask != "0" && !wire.MatchMask(mask, u.Name) {
			continue
		}
		ch := "*"
		if u.Room != "" {
			ch = "#" + u.Room
		}
		flags := "H"
		if u.Away != "" {
			flags = "G"
		}
		prefix, oper := strings.CutPrefix(u.Prefix, "*")
		if oper {
			flags += "*"
		}
		if u.Room != "" {
			flags += s.prefixOf(prefix)
		}
		dst = s.numeric(dst, rplWhoReply, ch, identOf(u), s.cfg.Server, s.cfg.Server, u.Name, flags, "0 "+realOf(u))
	}
	return s.numeric(dst, rplEndOfWho, mask, "End of /WHO list.")
}

// identOf and realOf are a user's names as WHO and WHOIS show them: a
// chat client's user gave none, so its name stands for both.
func identOf(u wire.User) string {
	if u.Ident != "" {
		return u.Ident
	}
	return u.Name
}

func realOf(u wire.User) string {
	if u.Real != "" {
		return u.Real
	}
	return u.Name
}

// whois appends 311, 319, 312, 313, 301 and 318 for a user.
func (s *Session) whois(dst []byte, nick string, f *wire.Frame) []byte {
	if len(f.Users) == 0 {
		dst = s.numeric(dst, errNoSuchNick, nick, "No such nick/channel")
		return s.numeric(dst, rplEndOfWhois, nick, "End of /WHOIS list.")
	}
	u := f.Users[0]
	dst = s.numeric(dst, rplWhoisUser, u.Name, identOf(u), s.cfg.Server, "*", realOf(u))
	if len(f.Rooms) > 0 {
		chans := make([]string, 0, len(f.Rooms))
		for _, r := range f.Rooms {
			chans = append(chans, s.prefixOf(r.Prefix)+"#"+r.Name)
		}
		dst = s.numeric(dst, rplWhoisChannels, u.Name, strings.Join(chans, " "))
	}
	dst = s.numeric(dst, rplWhoisServer, u.Name, s.cfg.Server, "chat-server")
	if u.Prefix == "*" {
		dst = s.numeric(dst, rplWhoisOperator, u.Name, "is an IRC operator")
	}
	if f.Name != "" {
		dst = s.numeric(dst, rplWhoisAccount, u.Name, f.Name, "is logged in as")
	}
	if u.Away != "" {
		dst = s.numeric(dst, rplAway, u.Name, u.Away)
	}
	return s.numeric(dst, rplEndOfWhois, u.Name, "End of /WHOIS list.")
}

// ison appends 303 with those of the space-separated nicks asked about
// who are connected.
func (s *Session) ison(dst []byte, asked string, f *wire.Frame) []byte {
	var on []string
	for _, want := range strings.Fields(asked) {
		if u, ok := findUser(f.Users, want); ok {
			on = append(on, u.Name)
		}
	}
	return s.numeric(dst, rplIsOn, strings.Join(on, " "))
}

// userhost appends 302: nick=+user@host for each connected nick asked
// about (at most 5), "-" for an away one.
func (s *Session) userhost(dst []byte, asked string, f *wire.Frame) []byte {
	var hosts []string
	for i, want := range strings.Fields(asked) {
		if i == 5 {
			break
		}
		if u, ok := findUser(f.Users, want); ok {
			mark := "+"
			if u.Away != "" {
				mark = "-"
			}
			hosts = append(hosts, u.Name+"="+mark+identOf(u)+"@"+s.cfg.Server)
		}
	}
	return s.numeric(dst, rplUserHost, strings.Join(hosts, " "))
}

func findUser(users []wire.User, nick string) (wire.User, bool) {
	for _, u := range users {
		if u.Name == nick {
			return u, true
		}
	}
	return wire.User{}, false
}

// list appends 321, a 322 per room (those asked for, if any) with its
// member count and topic, and 323.
func (s *Session) list(dst []byte, only string, f *wire.Frame) []byte {
	var want []string
	for _, ch := range strings.Split(only, ",") {
		if room, ok := channelRoom(ch); ok {
			want = append(want, room)
		}
	}
	dst = s.numeric(dst, rplListStart, "Channel", "Users Name")
	for _, r := range f.Rooms {
		if len(want) > 0 && !containsFold(want, r.Name) {
			continue
		}
		dst = s.numeric(dst, rplList, "#"+r.Name, strconv.FormatUint(r.Members, 10), "["+r.Mode+"] "+r.Topic)
	}
	return s.numeric(dst, rplListEnd, "End of /LIST")
}

func containsFold(list []string, s string) bool {
	for _, l := range list {
		if sameRoom(l, s) {
			return true
		}
	}
	return false
}

// lusersUsers appends 251, 252, 254, 255, 265 and 266 from a Who of
// everyone and the Rooms before it. 253 (connections not yet registered)
// and the most users ever (265's and 266's optional numbers) are left
// out: the hub does not count them.
func (s *Session) lusersUsers(dst []byte, f *wire.Frame) []byte {
	n := strconv.FormatUint(f.Count, 10)
	dst = s.numeric(dst, rplLuserClient, "There are "+n+" users and 0 invisible on 1 servers")
	dst = s.numeric(dst, rplLuserOp, "0", "operator(s) online")
	dst = s.numeric(dst, rplLuserChannels, strconv.FormatUint(s.lusersRooms, 10), "channels formed")
	dst = s.numeric(dst, rplLuserMe, "I have "+n+" clients and 0 servers")
	dst = s.numeric(dst, rplLocalUsers, "Current local users: "+n)
	return s.numeric(dst, rplGlobalUsers, "Current global users: "+n)
}
