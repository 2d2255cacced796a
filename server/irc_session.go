package server

import (
	"strconv"
	"strings"
	"time"

	"chat/internal/wire"
)

// The IRC listener's codec (docs/PROTOCOL.md, "IRC"). An ircSession turns
// the IRC lines of one client into hub requests, and the hub's frames for
// that session into IRC lines, so the hub stays protocol-neutral and an
// IRC user and a rooms user are the same kind of session to it. It makes
// no system calls: the loop (irc_loop.go) feeds it bytes and frames and
// writes what it returns, so every rule is testable without sockets.

// ircConfig is what every IRC session shares.
type ircConfig struct {
	server   string // the server's name in prefixes and numerics
	software string // version, for 002 and 004
	created  string // for 003
}

type ircState uint8

const (
	ircUnregistered ircState = iota // waiting for NICK and USER (and CAP END)
	ircRegistering                  // Login or Claim sent to the hub
	ircRegistered                   // welcomed
)

// ircKind says which IRC command a hub request came from, so its Reply is
// answered in IRC's terms.
type ircKind uint8

const (
	ikHello ircKind = iota
	ikRegister
	ikCreate // JOIN of a channel that may not exist yet
	ikEnter
	ikJoinNames // the names sent after a JOIN
	ikPart
	ikSay
	ikTell
	ikNames
	ikWho
	ikWhois
	ikIson
	ikList
	ikQuit
	ikSilent // nothing to say whatever the reply (Refuse)
)

type ircPending struct {
	id     uint32
	kind   ircKind
	target string // the channel or nick the command named
	quiet  bool   // NOTICE: errors are not answered (RFC 2812 3.3.2)
	words  string // PART's words
}

// ircSession is the codec state of one IRC connection.
type ircSession struct {
	cfg     *ircConfig
	lines   ircLineReader
	state   ircState
	nick    string // NICK asked for; the logged-in name once registered
	hasNick bool
	hasUser bool
	pass    string // PASS, until it is sent in the Login
	capHold bool   // CAP LS or REQ seen: registration waits for CAP END
	room    string // the room (channel without '#') the user is in, "" if none
	away    bool
	// createErr is the failure of the Create that preceded a JOIN's
	// Enter: the reason the JOIN fails.
	createErr string
	nextID    uint32
	pending   []ircPending

	// Effects of the last call, for the loop: requests to hand to the
	// hub, in order, and whether to close the connection once the output
	// is written.
	reqs     []wire.Frame
	closeNow bool
}

func newIRCSession(cfg *ircConfig) *ircSession {
	return &ircSession{cfg: cfg}
}

// start returns the requests a new IRC connection makes of the hub: its
// Hello, said on the client's behalf.
func (ic *ircSession) start() []wire.Frame {
	ic.request(ikHello, "", false, wire.Frame{Type: wire.TypeHello, Version: wire.Version, Text: "irc"})
	return ic.takeRequests()
}

// takeRequests returns the requests produced since the last call. The
// caller hands them to the hub, whose answers may produce more while it
// goes through them, so the slice is not reused.
func (ic *ircSession) takeRequests() []wire.Frame {
	r := ic.reqs
	ic.reqs = nil
	return r
}

func (ic *ircSession) request(kind ircKind, target string, quiet bool, f wire.Frame) *ircPending {
	ic.nextID++
	if ic.nextID == 0 {
		ic.nextID = 1
	}
	f.ID = ic.nextID
	ic.reqs = append(ic.reqs, f)
	ic.pending = append(ic.pending, ircPending{id: f.ID, kind: kind, target: target, quiet: quiet})
	return &ic.pending[len(ic.pending)-1]
}

// me is the nick numerics are addressed to: "*" before registration.
func (ic *ircSession) me() string {
	if ic.state == ircRegistered || ic.hasNick {
		return ic.nick
	}
	return "*"
}

// prefix is a user's prefix, nick!user@host. Every user's host is the
// server's name: addresses are nobody else's business.
func (ic *ircSession) prefix(nick string) string {
	return nick + "!" + nick + "@" + ic.cfg.server
}

func (ic *ircSession) numeric(dst []byte, code string, params ...string) []byte {
	return appendIRC(dst, ic.cfg.server, code, append([]string{ic.me()}, params...)...)
}

func (ic *ircSession) serverNotice(dst []byte, text string) []byte {
	return appendIRC(dst, ic.cfg.server, "NOTICE", ic.me(), text)
}

// closeLink ends the connection with IRC's ERROR line.
func (ic *ircSession) closeLink(dst []byte, why string) []byte {
	ic.closeNow = true
	return appendIRC(dst, "", "ERROR", "Closing Link: "+ic.me()+" ("+why+")")
}

// handleLine applies one line from the client, appending direct answers to
// dst; the hub requests it makes are in takeRequests.
func (ic *ircSession) handleLine(dst []byte, line []byte) []byte {
	m, ok := parseIRC(line)
	if !ok {
		return dst
	}
	p := m.Params
	need := func(n int) bool {
		if len(p) >= n && (n == 0 || p[n-1] != "") {
			return true
		}
		dst = ic.numeric(dst, "461", m.Command, "Not enough parameters")
		return false
	}
	switch m.Command {
	case "CAP":
		return ic.capability(dst, p)
	case "PING":
		token := ic.cfg.server
		if len(p) > 0 {
			token = p[0]
		}
		return appendIRC(dst, ic.cfg.server, "PONG", ic.cfg.server, token)
	case "PONG":
		return dst // liveness only: the loop noted the activity
	case "QUIT":
		words := "Quit"
		if len(p) > 0 && p[0] != "" {
			words = "Quit: " + ircText(p[0])
		}
		if ic.state != ircRegistered {
			return ic.closeLink(dst, words)
		}
		pend := ic.request(ikQuit, "", false, wire.Frame{Type: wire.TypeLogout, Text: words})
		pend.words = words
		return dst
	case "PASS":
		if ic.state != ircUnregistered {
			return ic.numeric(dst, "462", "You may not reregister")
		}
		if need(1) {
			ic.pass = p[0]
		}
		return dst
	case "NICK":
		if len(p) == 0 || p[0] == "" {
			return ic.numeric(dst, "431", "No nickname given")
		}
		return ic.nickCommand(dst, p[0])
	case "USER":
		if ic.state != ircUnregistered {
			return ic.numeric(dst, "462", "You may not reregister")
		}
		if len(p) < 4 || p[0] == "" {
			// The real name (the last) may be empty; the user name not.
			return ic.numeric(dst, "461", m.Command, "Not enough parameters")
		}
		ic.hasUser = true
		return ic.register(dst)
	}
	if ic.state != ircRegistered {
		return appendIRC(dst, ic.cfg.server, "451", ic.me(), "You have not registered")
	}
	switch m.Command {
	case "JOIN":
		if need(1) {
			return ic.join(dst, p[0])
		}
	case "PART":
		if need(1) {
			ch := strings.Split(p[0], ",")[0]
			if ic.room == "" || ch != "#"+ic.room {
				return ic.numeric(dst, "442", ch, "You're not on that channel")
			}
			words := ""
			if len(p) > 1 {
				words = ircText(p[1])
			}
			pend := ic.request(ikPart, ch, false, wire.Frame{Type: wire.TypeLeave})
			pend.words = words
		}
	case "PRIVMSG", "NOTICE":
		quiet := m.Command == "NOTICE"
		switch {
		case len(p) == 0 || p[0] == "":
			if !quiet {
				dst = ic.numeric(dst, "411", "No recipient given ("+m.Command+")")
			}
		case len(p) < 2 || p[1] == "":
			if !quiet {
				dst = ic.numeric(dst, "412", "No text to send")
			}
		default:
			dst = ic.message(dst, p[0], p[1], quiet)
		}
	case "NAMES":
		if len(p) == 0 || p[0] == "" {
			if ic.room == "" {
				return ic.numeric(dst, "366", "*", "End of /NAMES list.")
			}
			p = []string{"#" + ic.room}
		}
		ch := strings.Split(p[0], ",")[0]
		if !strings.HasPrefix(ch, "#") || len(ch) == 1 {
			return ic.numeric(dst, "366", ch, "End of /NAMES list.")
		}
		ic.request(ikNames, ch, false, wire.Frame{Type: wire.TypeWho, Room: ch[1:]})
	case "WHO":
		mask := ""
		if len(p) > 0 {
			mask = p[0]
		}
		switch {
		case strings.HasPrefix(mask, "#") && len(mask) > 1:
			ic.request(ikWho, mask, false, wire.Frame{Type: wire.TypeWho, Room: mask[1:]})
		case mask == "" || mask == "*" || mask == "0":
			ic.request(ikWho, "*", false, wire.Frame{Type: wire.TypeWho})
		default:
			ic.request(ikWho, mask, false, wire.Frame{Type: wire.TypeWho})
		}
	case "WHOIS":
		if len(p) == 0 || p[len(p)-1] == "" {
			return ic.numeric(dst, "431", "No nickname given")
		}
		nick := strings.Split(p[len(p)-1], ",")[0]
		ic.request(ikWhois, nick, false, wire.Frame{Type: wire.TypeWho})
	case "ISON":
		if need(1) {
			ic.request(ikIson, strings.Join(p, " "), false, wire.Frame{Type: wire.TypeWho})
		}
	case "USERHOST":
		if need(1) {
			var hosts []string
			for _, n := range p {
				if n == ic.nick {
					hosts = append(hosts, n+"="+awayMark(ic.away)+ic.nick+"@"+ic.cfg.server)
				}
			}
			return ic.numeric(dst, "302", strings.Join(hosts, " "))
		}
	case "LIST":
		ic.request(ikList, "", false, wire.Frame{Type: wire.TypeRooms})
	case "TOPIC":
		if !need(1) {
			return dst
		}
		if len(p) > 1 {
			return ic.numeric(dst, "482", p[0], "Topics cannot be set on this server")
		}
		return ic.numeric(dst, "331", p[0], "No topic is set")
	case "MODE":
		if need(1) {
			return ic.mode(dst, p)
		}
	case "AWAY":
		ic.away = len(p) > 0 && p[0] != ""
		if ic.away {
			return ic.numeric(dst, "306", "You have been marked as being away")
		}
		return ic.numeric(dst, "305", "You are no longer marked as being away")
	case "MOTD":
		return ic.motd(dst)
	case "VERSION":
		return ic.numeric(dst, "351", ic.cfg.software, ic.cfg.server, "a chat-server speaking IRC")
	default:
		return ic.numeric(dst, "421", m.Command, "Unknown command")
	}
	return dst
}

func awayMark(away bool) string {
	if away {
		return "-"
	}
	return "+"
}

// capability answers CAP: no capability is offered, so none is needed.
func (ic *ircSession) capability(dst []byte, p []string) []byte {
	if len(p) == 0 {
		return ic.numeric(dst, "461", "CAP", "Not enough parameters")
	}
	sub := strings.ToUpper(p[0])
	switch sub {
	case "LS", "LIST":
		if ic.state == ircUnregistered && sub == "LS" {
			ic.capHold = true
		}
		return appendIRC(dst, ic.cfg.server, "CAP", ic.me(), sub, "")
	case "REQ":
		if ic.state == ircUnregistered {
			ic.capHold = true
		}
		asked := ""
		if len(p) > 1 {
			asked = p[1]
		}
		return appendIRC(dst, ic.cfg.server, "CAP", ic.me(), "NAK", asked)
	case "END":
		ic.capHold = false
		return ic.register(dst)
	}
	return ic.numeric(dst, "410", p[0], "Invalid CAP command")
}

// ircNickOK applies IRC's nick rules on top of ours: no characters that
// IRC gives a meaning in a prefix, a target list or a channel name.
func ircNickOK(n string) bool {
	if wire.ValidName(n) != nil || strings.ContainsAny(n, ",*?!@:.") {
		return false
	}
	switch n[0] {
	case '#', '&', '$', '+', '~', '%', '-':
		return false
	}
	return true
}

func (ic *ircSession) nickCommand(dst []byte, nick string) []byte {
	if ic.state == ircRegistered {
		if nick == ic.nick {
			return dst
		}
		return ic.numeric(dst, "447", nick, "Nick changes are not supported here: reconnect with the new nick")
	}
	if ic.state == ircRegistering {
		return dst // the answer to the first one is on its way
	}
	if !ircNickOK(nick) {
		return appendIRC(dst, ic.cfg.server, "432", ic.me(), nick,
			"Erroneous nickname: use 1 to "+strconv.Itoa(wire.MaxNameRunes)+" characters, none of , * ? ! @ : . or spaces")
	}
	ic.nick, ic.hasNick = nick, true
	return ic.register(dst)
}

// register logs the user in once NICK and USER are in and capability
// negotiation (if any) has ended: with PASS as the account of that name,
// without as a guest.
func (ic *ircSession) register(dst []byte) []byte {
	if ic.state != ircUnregistered || !ic.hasNick || !ic.hasUser || ic.capHold {
		return dst
	}
	ic.state = ircRegistering
	if ic.pass != "" {
		ic.request(ikRegister, ic.nick, false, wire.Frame{Type: wire.TypeLogin, Name: ic.nick, Secret: ic.pass})
		ic.pass = "" // kept no longer than needed
		return dst
	}
	ic.request(ikRegister, ic.nick, false, wire.Frame{Type: wire.TypeClaim, Name: ic.nick})
	return dst
}

// join enters a channel, creating its room first when it does not exist.
// One room at a time: the hub takes the user out of the room they are in,
// and the client is told with a PART and a notice.
func (ic *ircSession) join(dst []byte, list string) []byte {
	if list == "0" {
		if ic.room != "" {
			ic.request(ikPart, "#"+ic.room, false, wire.Frame{Type: wire.TypeLeave})
		}
		return dst
	}
	chans := strings.Split(list, ",")
	ch := chans[0]
	if len(chans) > 1 {
		dst = ic.serverNotice(dst, "You can be in one channel at a time here: joining "+ch+" only")
	}
	if !strings.HasPrefix(ch, "#") || len(ch) == 1 {
		return ic.numeric(dst, "403", ch, "No such channel: channel names start with #")
	}
	room := ch[1:]
	if room == ic.room {
		return dst
	}
	if wire.ValidName(room) != nil {
		return ic.numeric(dst, "479", ch, "Illegal channel name: "+wire.BadNameText("room", room))
	}
	ic.createErr = ""
	ic.request(ikCreate, ch, false, wire.Frame{Type: wire.TypeCreate, Room: room})
	ic.request(ikEnter, ch, false, wire.Frame{Type: wire.TypeEnter, Room: room})
	ic.request(ikJoinNames, ch, false, wire.Frame{Type: wire.TypeWho, Room: room})
	return dst
}

// message sends PRIVMSG or NOTICE text to a channel or nick list.
func (ic *ircSession) message(dst []byte, targets, text string, quiet bool) []byte {
	text = ircText(text)
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
				dst = ic.numeric(dst, "407", t, "Too many targets: at most 4")
			}
			break
		}
		switch {
		case strings.HasPrefix(t, "#"):
			if ic.room == "" || t != "#"+ic.room {
				if !quiet {
					dst = ic.numeric(dst, "404", t, "Cannot send to channel (you are not in it)")
				}
				continue
			}
			ic.request(ikSay, t, quiet, wire.Frame{Type: wire.TypeSay, Text: text})
		case t == ic.nick:
			// The hub refuses a message to oneself; IRC delivers it.
			dst = ic.appendText(dst, ic.prefix(ic.nick), "PRIVMSG", ic.nick, text)
		default:
			ic.request(ikTell, t, quiet, wire.Frame{Type: wire.TypeTell, To: t, Text: text})
		}
	}
	return dst
}

func (ic *ircSession) mode(dst []byte, p []string) []byte {
	target := p[0]
	if strings.HasPrefix(target, "#") {
		switch {
		case len(p) == 1:
			return ic.numeric(dst, "324", target, "+")
		case strings.Trim(p[1], "+-") == "b":
			return ic.numeric(dst, "368", target, "End of channel ban list")
		}
		return ic.numeric(dst, "482", target, "Channel modes cannot be changed on this server")
	}
	if target != ic.nick {
		return ic.numeric(dst, "502", "Cannot change mode for other users")
	}
	return ic.numeric(dst, "221", "+")
}

// welcome is the registration burst: 001 to 005 and the MOTD.
func (ic *ircSession) welcome(dst []byte) []byte {
	dst = ic.numeric(dst, "001", "Welcome to the chat network, "+ic.nick)
	dst = ic.numeric(dst, "002", "Your host is "+ic.cfg.server+", running version "+ic.cfg.software)
	dst = ic.numeric(dst, "003", "This server was created "+ic.cfg.created)
	dst = appendIRC(dst, ic.cfg.server, "004", ic.nick, ic.cfg.server, ic.cfg.software, "i", "n")
	dst = appendIRC(dst, ic.cfg.server, "005", ic.nick, "CHANTYPES=#", "CHANLIMIT=#:1", "MAXCHANNELS=1",
		"NICKLEN="+strconv.Itoa(wire.MaxNameRunes), "CHANNELLEN="+strconv.Itoa(wire.MaxNameRunes+1),
		"TOPICLEN=0", "PREFIX=", "CHANMODES=,,,", "MAXTARGETS=4", "NETWORK=chat",
		"are supported by this server")
	return ic.motd(dst)
}

// ircMOTD is the message of the day: what differs from other IRC servers.
var ircMOTD = []string{
	"Rooms here are IRC channels: #lounge is the room lounge.",
	"You can be in one channel at a time: joining another leaves the one you are in.",
	"JOIN creates a channel that does not exist yet.",
	"People on the chat client share channels and private messages with you.",
	"Topics, channel modes, nick changes and file transfers are not supported over IRC.",
}

func (ic *ircSession) motd(dst []byte) []byte {
	dst = ic.numeric(dst, "375", "- "+ic.cfg.server+" Message of the day -")
	for _, l := range ircMOTD {
		dst = ic.numeric(dst, "372", "- "+l)
	}
	return ic.numeric(dst, "376", "End of /MOTD command.")
}

// appendText appends text as one or more lines "prefix COMMAND target
// :piece", each within IRC's line limit. Text that starts with "/me " is
// a CTCP ACTION.
func (ic *ircSession) appendText(dst []byte, prefix, command, target, text string) []byte {
	action := false
	if rest, ok := strings.CutPrefix(text, "/me "); ok {
		text, action = rest, true
	}
	room := ircMaxLine - len(prefix) - len(command) - len(target) - 8 // ":" " " " " " :" CR LF
	if action {
		room -= len("\x01ACTION \x01")
	}
	for _, piece := range splitIRCText(text, room) {
		if action {
			piece = "\x01ACTION " + piece + "\x01"
		}
		dst = appendIRC(dst, prefix, command, target, piece)
	}
	return dst
}

// render appends the IRC lines for a frame the hub sends this session.
// Requests it makes in turn (the names after a takeover, a Refuse) are in
// takeRequests; closeNow says the connection is to be closed.
func (ic *ircSession) render(dst []byte, f *wire.Frame) []byte {
	switch f.Type {
	case wire.TypeReply:
		return ic.reply(dst, f)
	case wire.TypeMessage:
		if f.Room == "" {
			// A broadcast to everyone (mode menu): an announcement, which
			// IRC clients show as a notice from the sender.
			return ic.appendText(dst, ic.prefix(f.From), "NOTICE", ic.nick, f.Text)
		}
		return ic.appendText(dst, ic.prefix(f.From), "PRIVMSG", "#"+f.Room, f.Text)
	case wire.TypePrivate:
		return ic.appendText(dst, ic.prefix(f.From), "PRIVMSG", ic.nick, f.Text)
	case wire.TypeNotice:
		switch f.Code {
		case wire.NoticeEntered:
			return appendIRC(dst, ic.prefix(f.Name), "JOIN", "#"+f.Room)
		case wire.NoticeLeft:
			return appendIRC(dst, ic.prefix(f.Name), "PART", "#"+f.Room, f.Text)
		case wire.NoticeLost:
			return appendIRC(dst, ic.prefix(f.Name), "QUIT", f.Text)
		}
		return ic.serverNotice(dst, f.Text)
	case wire.TypeServerPing:
		return appendIRC(dst, "", "PING", ic.cfg.server)
	case wire.TypeBye:
		return ic.closeLink(dst, f.Text)
	case wire.TypeFileOffer:
		// An IRC client cannot serve files: refuse at once rather than
		// leave the requester waiting for the attach timeout.
		ic.request(ikSilent, "", false, wire.Frame{Type: wire.TypeRefuse, Token: f.Token, Code: wire.ErrNoSuchFile,
			Text: ic.nick + " is on IRC, which cannot send files"})
		return ic.serverNotice(dst, f.From+" asked you for the file "+f.Name+"; files cannot be sent over IRC")
	}
	return dst
}

// reply answers, in IRC's terms, the command whose request this replies to.
func (ic *ircSession) reply(dst []byte, f *wire.Frame) []byte {
	var p ircPending
	found := false
	for i, q := range ic.pending {
		if q.id == f.ID {
			p, found = q, true
			ic.pending = append(ic.pending[:i], ic.pending[i+1:]...)
			break
		}
	}
	if !found {
		return dst // an answer to nothing we asked (BadFrame): IRC has no word for it
	}
	ok := f.Code == wire.OK
	switch p.kind {
	case ikHello, ikSilent:
	case ikRegister:
		return ic.registered(dst, f)
	case ikCreate:
		if !ok && f.Code != wire.ErrRoomExists {
			ic.createErr = f.Text
		}
	case ikEnter:
		if !ok {
			text := f.Text
			if ic.createErr != "" {
				text = ic.createErr
			}
			return ic.numeric(dst, "403", p.target, "Cannot join channel: "+text)
		}
		if ic.room != "" && ic.room != f.Room {
			dst = appendIRC(dst, ic.prefix(ic.nick), "PART", "#"+ic.room, "joined "+p.target)
			dst = ic.serverNotice(dst, "You can be in one channel at a time here: you left #"+ic.room+" to join "+p.target)
		}
		ic.room = f.Room
		dst = appendIRC(dst, ic.prefix(ic.nick), "JOIN", p.target)
		return ic.numeric(dst, "331", p.target, "No topic is set")
	case ikJoinNames:
		if ok && "#"+ic.room == p.target {
			return ic.names(dst, p.target, f.Users)
		}
	case ikNames:
		if ok {
			return ic.names(dst, p.target, f.Users)
		}
		return ic.numeric(dst, "366", p.target, "End of /NAMES list.")
	case ikPart:
		if !ok {
			return ic.numeric(dst, "442", p.target, "You're not on that channel")
		}
		ic.room = ""
		words := p.words
		if words == "" {
			words = "left"
		}
		return appendIRC(dst, ic.prefix(ic.nick), "PART", p.target, words)
	case ikSay, ikTell:
		if ok || p.quiet {
			return dst
		}
		switch f.Code {
		case wire.ErrNoSuchUser, wire.ErrBadName:
			return ic.numeric(dst, "401", p.target, "No such nick/channel")
		case wire.ErrNotInRoom:
			return ic.numeric(dst, "404", p.target, "Cannot send to channel (you are not in it)")
		}
		return ic.serverNotice(dst, "Your message to "+p.target+" was not sent: "+f.Text)
	case ikWho:
		return ic.who(dst, p.target, f)
	case ikWhois:
		return ic.whois(dst, p.target, f)
	case ikIson:
		var on []string
		for _, want := range strings.Fields(p.target) {
			for _, u := range f.Users {
				if u.Name == want {
					on = append(on, want)
				}
			}
		}
		return ic.numeric(dst, "303", strings.Join(on, " "))
	case ikList:
		dst = ic.numeric(dst, "321", "Channel", "Users Name")
		for _, r := range f.Rooms {
			dst = ic.numeric(dst, "322", "#"+r.Name, strconv.FormatUint(r.Members, 10), "")
		}
		return ic.numeric(dst, "323", "End of /LIST")
	case ikQuit:
		ic.room = ""
		return ic.closeLink(dst, p.words)
	}
	return dst
}

// registered completes registration with the hub's answer to the Login or
// Claim.
func (ic *ircSession) registered(dst []byte, f *wire.Frame) []byte {
	switch f.Code {
	case wire.OK:
		ic.state = ircRegistered
		dst = ic.welcome(dst)
		if f.Room != "" {
			// Took over a session that was in a room: the user is in it.
			ic.room = f.Room
			ch := "#" + f.Room
			dst = appendIRC(dst, ic.prefix(ic.nick), "JOIN", ch)
			ic.request(ikJoinNames, ch, false, wire.Frame{Type: wire.TypeWho, Room: f.Room})
		}
		return dst
	case wire.ErrNameTaken:
		ic.state, ic.hasNick = ircUnregistered, false
		text := "Nickname is already in use"
		if strings.Contains(f.Text, "registered") {
			text = "Nickname is registered: connect with its password (PASS) or choose another"
		}
		return appendIRC(dst, ic.cfg.server, "433", "*", ic.nick, text)
	case wire.ErrBadName:
		ic.state, ic.hasNick = ircUnregistered, false
		return appendIRC(dst, ic.cfg.server, "432", "*", ic.nick, "Erroneous nickname")
	case wire.ErrBadLogin:
		dst = ic.numeric(dst, "464", "Password incorrect")
		return ic.closeLink(dst, "Bad password")
	case wire.ErrGuestsClosed:
		dst = appendIRC(dst, ic.cfg.server, "464", "*", "This server needs the password of a registered account: connect with it (PASS)")
		return ic.closeLink(dst, "Password required")
	}
	dst = ic.serverNotice(dst, f.Text)
	return ic.closeLink(dst, f.Text)
}

// names appends the 353 lines (as many as needed to stay within the line
// limit) and 366.
func (ic *ircSession) names(dst []byte, ch string, users []wire.User) []byte {
	room := ircMaxLine - len(ic.cfg.server) - len(ic.nick) - len(ch) - 16
	var line []string
	size := 0
	for _, u := range users {
		if size+len(u.Name)+1 > room && len(line) > 0 {
			dst = ic.numeric(dst, "353", "=", ch, strings.Join(line, " "))
			line, size = line[:0], 0
		}
		line = append(line, u.Name)
		size += len(u.Name) + 1
	}
	if len(line) > 0 {
		dst = ic.numeric(dst, "353", "=", ch, strings.Join(line, " "))
	}
	return ic.numeric(dst, "366", ch, "End of /NAMES list.")
}

// who appends a 352 line per matching user and 315.
func (ic *ircSession) who(dst []byte, mask string, f *wire.Frame) []byte {
	for _, u := range f.Users {
		if mask != "*" && !strings.HasPrefix(mask, "#") && u.Name != mask {
			continue
		}
		ch := "*"
		if u.Room != "" {
			ch = "#" + u.Room
		}
		dst = ic.numeric(dst, "352", ch, u.Name, ic.cfg.server, ic.cfg.server, u.Name, "H", "0 "+u.Name)
	}
	return ic.numeric(dst, "315", mask, "End of /WHO list.")
}

// whois appends 311, 319, 312 and 318 for a user, or 401 and 318.
func (ic *ircSession) whois(dst []byte, nick string, f *wire.Frame) []byte {
	for _, u := range f.Users {
		if u.Name != nick {
			continue
		}
		dst = ic.numeric(dst, "311", nick, nick, ic.cfg.server, "*", nick)
		if u.Room != "" {
			dst = ic.numeric(dst, "319", nick, "#"+u.Room)
		}
		dst = ic.numeric(dst, "312", nick, ic.cfg.server, "chat-server")
		return ic.numeric(dst, "318", nick, "End of /WHOIS list.")
	}
	dst = ic.numeric(dst, "401", nick, "No such nick/channel")
	return ic.numeric(dst, "318", nick, "End of /WHOIS list.")
}

// welcomed reports whether the session completed registration: the loop's
// Hello deadline applies to IRC connections as a registration deadline.
func (ic *ircSession) welcomed() bool { return ic.state == ircRegistered }

// ircCreated formats the server's start time for 003.
func ircCreated(t time.Time) string { return t.UTC().Format("Mon Jan 2 2006 at 15:04:05 UTC") }
