package irc

import (
	"time"

	"chat/internal/wire"
)

// Config is what every IRC session of a listener shares. The loop fills it
// once; sessions only read it.
type Config struct {
	Server   string // the server's name in prefixes and numerics, and every user's host
	Software string // the version, for 002, 004 and 351
	Created  string // when the server started, for 003 (see Created)
	// ChanLimit is how many channels a user may be in at once, as the
	// hub's Config.MaxJoined (advertised as CHANLIMIT).
	ChanLimit int
	// Password, when set, is the server password every client must give
	// with PASS before registering; account passwords then go by SASL.
	Password string
}

// Created formats the server's start time for Config.Created.
func Created(t time.Time) string { return t.UTC().Format("Mon Jan 2 2006 at 15:04:05 UTC") }

// state is where a session is in registration.
type state uint8

const (
	unregistered state = iota // waiting for NICK and USER (and CAP END)
	registering               // Login or Claim sent to the hub
	registered                // welcomed
)

// kind says which IRC command a hub request came from, so the hub's Reply
// to it is answered in IRC's terms (replies.go).
type kind uint8

const (
	kindHello kind = iota
	kindRegister
	kindSASL // the Login of an AUTHENTICATE
	kindJoin
	kindPart
	kindPartAll // JOIN 0
	kindSay
	kindTell
	kindNames
	kindWho
	kindWhois
	kindIson
	kindUserhost
	kindList
	kindTopic
	kindTopicSet // nothing to say when it is set: the hub's notice says it
	kindKick
	kindMode
	kindBans // MODE #chan +b: the ban list
	kindInvite
	kindAway
	kindNick
	kindOper
	kindLusersUsers
	kindLusersRooms
	kindTime
	kindHistory // CHATHISTORY (chathistory.go)
	kindWhowas
	kindKill
	kindQuit
	kindSilent // nothing to say whatever the reply (Refuse)
)

// pending is a request sent to the hub and not yet answered.
type pending struct {
	id     uint32
	kind   kind
	target string // the channel or nick the command named
	quiet  bool   // NOTICE: errors are not answered (RFC 2812 3.3.2)
	words  string // PART's and QUIT's words; a message's text (echo-message)
	tags   string // a message's client-only tags (echo-message)
}

// Session is the codec state of one IRC connection.
type Session struct {
	cfg     *Config
	lines   lineReader
	state   state
	nick    string // NICK asked for; the logged-in name once registered
	hasNick bool
	hasUser bool
	user    string // USER's user name, as others see it
	real    string // USER's real name
	pass    string // PASS, until it is sent in the Login
	passOK  bool   // the server password was given
	capHold bool   // CAP LS or REQ seen: registration waits for CAP END
	caps    caps   // capabilities the client enabled (caps.go)
	sasl    saslState
	// joined are the rooms (channels without '#') the user is in, as the
	// hub named them.
	joined []string
	// inherited are the rooms a login took over from another connection,
	// announced to the client once it is welcomed.
	inherited []string
	away      bool
	umodes    string // the user's own modes (MODE nick)
	// replay is the CHATHISTORY page under way, nil if none.
	replay *replay
	// lusersRooms is the room count LUSERS asked for, until its Who is
	// answered.
	lusersRooms uint64
	nextID      uint32
	pending     []pending

	// Effects for the loop: requests to hand to the hub, in order, and
	// whether to close the connection once the output is written.
	reqs    []wire.Frame
	closing bool
}

// NewSession returns the codec of a new IRC connection. cfg is shared and
// must not change while sessions use it.
func NewSession(cfg *Config) *Session {
	return &Session{cfg: cfg}
}

// Start returns the requests a new IRC connection makes of the hub: its
// Hello, said on the client's behalf.
func (s *Session) Start() []wire.Frame {
	s.request(kindHello, "", false, wire.Frame{Type: wire.TypeHello, Version: wire.Version, Text: "irc"})
	return s.TakeRequests()
}

// Feed takes bytes read from the client's socket. The session keeps a copy
// of what it needs, so b may be reused at once.
func (s *Session) Feed(b []byte) { s.lines.feed(b) }

// Buffered returns the bytes of a partial line held: what a slow-line
// deadline is about.
func (s *Session) Buffered() int { return s.lines.buffered() }

// HandleNext handles the next whole line buffered, appending its direct
// answers to dst, and returns ok false, dst unchanged, when no whole line
// is buffered. A line over MaxLine is answered 417 and dropped. Requests
// the line makes of the hub are in TakeRequests; Closing says whether it
// ended the connection.
func (s *Session) HandleNext(dst []byte) (out []byte, ok bool) {
	line, tooLong, ok := s.lines.next()
	switch {
	case !ok:
		return dst, false
	case tooLong:
		return s.numeric(dst, errInputTooLong, "Input line was too long"), true
	}
	return s.dispatch(dst, line), true
}

// TakeRequests returns the requests for the hub produced since the last
// call, in order. The caller hands them to the hub, whose answers may
// produce more while it goes through them, so the slice is not reused.
func (s *Session) TakeRequests() []wire.Frame {
	r := s.reqs
	s.reqs = nil
	return r
}

// Closing reports whether the connection is to be closed once the output
// returned so far is written (QUIT, a Bye, a failed registration). It
// stays true.
func (s *Session) Closing() bool { return s.closing }

// Welcomed reports whether the session completed registration: the loop's
// Hello deadline applies to IRC connections as a registration deadline.
func (s *Session) Welcomed() bool { return s.state == registered }

// request queues a request for the hub and remembers what asked it.
func (s *Session) request(k kind, target string, quiet bool, f wire.Frame) *pending {
	s.nextID++
	if s.nextID == 0 {
		s.nextID = 1
	}
	f.ID = s.nextID
	s.reqs = append(s.reqs, f)
	s.pending = append(s.pending, pending{id: f.ID, kind: k, target: target, quiet: quiet})
	return &s.pending[len(s.pending)-1]
}

// takePending removes and returns the request a reply with this ID
// answers; found is false for an answer to nothing asked.
func (s *Session) takePending(id uint32) (p pending, found bool) {
	for i, q := range s.pending {
		if q.id == id {
			s.pending = append(s.pending[:i], s.pending[i+1:]...)
			return q, true
		}
	}
	return p, false
}

// me is the nick numerics are addressed to: "*" before a nick is taken.
func (s *Session) me() string {
	if s.state == registered || s.hasNick {
		return s.nick
	}
	return "*"
}

// prefix is a user's prefix, nick!user@host. Every user's host is the
// server's name: addresses are nobody else's business.
func (s *Session) prefix(nick string) string {
	return nick + "!" + nick + "@" + s.cfg.Server
}

// myPrefix is the user's own prefix, with the user name USER gave.
func (s *Session) myPrefix() string {
	return s.nick + "!" + s.ident() + "@" + s.cfg.Server
}

// ident is the user name the user is shown with.
func (s *Session) ident() string {
	if s.user != "" {
		return s.user
	}
	return s.nick
}

// sameRoom reports whether two room names are one room: the hub compares
// them with ASCII letters folded (wire.FoldName). Nicks are compared
// exactly, as the seeds want user names case sensitive.
func sameRoom(a, b string) bool { return wire.FoldName(a) == wire.FoldName(b) }

// inChannel returns the index of a room in joined, -1 if the user is not
// in it.
func (s *Session) inChannel(room string) int {
	for i, r := range s.joined {
		if sameRoom(r, room) {
			return i
		}
	}
	return -1
}

// joinedRoom notes that the user is in room.
func (s *Session) joinedRoom(room string) {
	if s.inChannel(room) < 0 {
		s.joined = append(s.joined, room)
	}
}

// leftRoom notes that the user is out of room.
func (s *Session) leftRoom(room string) {
	if i := s.inChannel(room); i >= 0 {
		s.joined = append(s.joined[:i], s.joined[i+1:]...)
	}
}

// numeric appends a numeric reply from the server, addressed to me().
func (s *Session) numeric(dst []byte, code string, params ...string) []byte {
	return appendLine(dst, s.cfg.Server, code, append([]string{s.me()}, params...)...)
}

// serverNotice appends a NOTICE from the server to the client.
func (s *Session) serverNotice(dst []byte, text string) []byte {
	return appendLine(dst, s.cfg.Server, "NOTICE", s.me(), text)
}

// closeLink ends the connection with IRC's ERROR line.
func (s *Session) closeLink(dst []byte, why string) []byte {
	s.closing = true
	return appendLine(dst, "", "ERROR", "Closing Link: "+s.me()+" ("+why+")")
}
