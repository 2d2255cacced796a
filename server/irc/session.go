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
	kindCreate // JOIN of a channel that may not exist yet
	kindEnter
	kindJoinNames // the names sent after a JOIN
	kindPart
	kindSay
	kindTell
	kindNames
	kindWho
	kindWhois
	kindIson
	kindList
	kindQuit
	kindSilent // nothing to say whatever the reply (Refuse)
)

// pending is a request sent to the hub and not yet answered.
type pending struct {
	id     uint32
	kind   kind
	target string // the channel or nick the command named
	quiet  bool   // NOTICE: errors are not answered (RFC 2812 3.3.2)
	words  string // PART's and QUIT's words
}

// Session is the codec state of one IRC connection.
type Session struct {
	cfg     *Config
	lines   lineReader
	state   state
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
	pending   []pending

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
