package loadgen

import (
	"bytes"
	"fmt"
	"strings"
)

// ircPhase is where an IRC session is in its life.
type ircPhase uint8

const (
	ircRegistering ircPhase = iota // NICK and USER sent, waiting for 001
	ircJoining                     // JOIN sent, waiting for the end of its names (366)
	ircJoined                      // in its channel: the run
)

// maxNickTries bounds the nicks a session tries when the server says its
// nick is taken (433): a stale session of an earlier run may hold it.
const maxNickTries = 5

// ircClient is one IRC session's protocol state: it registers (NICK, USER,
// then 001), joins its channel (JOIN, then 366), and then takes the
// channel's messages. It makes no system calls and keeps no clock: the
// connection (irc_conn.go) feeds it each line and sends what it answers,
// so every rule here is tested without a server. It belongs to the
// session's reader goroutine.
type ircClient struct {
	base    string // the nick it asks for first: the run's name of the session
	nick    string // the nick it asked for last
	channel string // "#" and the run's room name
	phase   ircPhase
	tries   int // nicks asked for
}

func newIRCClient(nick, room string) *ircClient {
	return &ircClient{base: nick, nick: nick, channel: "#" + room, tries: 1}
}

// ircStep is what the client made of one line from the server.
type ircStep struct {
	// text is the text of a message to the session's channel: a delivery.
	// It points into the line.
	text []byte
	// joined is set by the line that completed the join.
	joined bool
	// problem names something to count as an error while the session
	// goes on (a numeric refusing a message, a server notice).
	problem string
	// err ends the session: the server closed the link (ERROR) or refused
	// its registration or its join.
	err error
}

// ircError is a line of the server that ends the session: an ERROR, or a
// numeric refusing the registration or the join. Its kind, not its text
// (which names the nick), is what the error counts show.
type ircError struct {
	what string // "ERROR", "registration", "join"
	code int    // the numeric; 0 for ERROR
	text string
}

func (e *ircError) Error() string {
	if e.code == 0 {
		return fmt.Sprintf("the server closed the link: %s", e.text)
	}
	return fmt.Sprintf("%s refused with %03d: %s", e.what, e.code, e.text)
}

// kind is the error's entry in the error counts.
func (e *ircError) kind() string {
	if e.code == 0 {
		return "irc ERROR: " + shortKind(closingReason(e.text))
	}
	return fmt.Sprintf("irc %s refused %03d", e.what, e.code)
}

// closingReason is the reason an ERROR gives for closing the link: servers
// name the client first and put the reason last, in parentheses (ngircd,
// ours) or brackets (InspIRCd): "Closing Link: nick[host] (Excess Flood)".
func closingReason(text string) string {
	open := map[byte]byte{')': '(', ']': '['}
	if n := len(text); n > 0 {
		if o, ok := open[text[n-1]]; ok {
			if i := strings.LastIndexByte(text, o); i >= 0 {
				return text[i+1 : n-1]
			}
		}
	}
	return text
}

// shortKind keeps an error text short enough, and free of the session's
// own name, to be one entry of the error counts: the text up to its first
// parenthesis (where servers put the nick and address), at most 60 bytes.
func shortKind(text string) string {
	if i := strings.IndexAny(text, "(["); i > 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	if len(text) > 60 {
		text = text[:60]
	}
	return text
}

// register appends the lines that open the session: NICK and USER.
func (c *ircClient) register(dst []byte) []byte {
	dst = append(dst, "NICK "...)
	dst = append(dst, c.nick...)
	dst = append(dst, "\r\nUSER "...)
	dst = append(dst, c.base...)
	return append(dst, " 0 * :loadgen\r\n"...)
}

// Numerics the client acts on (RFC 2812 5).
const (
	rplWelcome          = 1
	rplEndOfNames       = 366
	errNoSuchChannel    = 403
	errCannotSendToChan = 404
	errTooManyChannels  = 405
	errNoMOTD           = 422
	errErroneusNickname = 432
	errNicknameInUse    = 433
	errNickCollision    = 436
	errUnavailResource  = 437
	errPasswdMismatch   = 464
	errYoureBanned      = 465
	errChannelIsFull    = 471
	errInviteOnlyChan   = 473
	errBannedFromChan   = 474
	errBadChannelKey    = 475
	errBadChanMask      = 476
)

// handle takes one line from the server and appends what to answer to
// dst (PONG, the JOIN once registered, another NICK).
func (c *ircClient) handle(m *ircMessage, dst []byte) ([]byte, ircStep) {
	switch {
	case m.is("PING"):
		dst = append(dst, "PONG :"...)
		dst = append(dst, m.last()...)
		return append(dst, "\r\n"...), ircStep{}
	case m.is("ERROR"):
		return dst, ircStep{err: &ircError{what: "ERROR", text: string(m.last())}}
	case m.is("PRIVMSG"):
		if c.phase == ircRegistering {
			return dst, ircStep{problem: "irc PRIVMSG before registration"}
		}
		if !bytes.EqualFold(m.param(0), []byte(c.channel)) {
			return dst, ircStep{problem: "irc PRIVMSG not to the session's channel"}
		}
		return dst, ircStep{text: m.last()}
	case m.is("NOTICE"):
		// Servers greet with notices before and around registration; once
		// in its channel, nothing should be said to the session but its
		// channel's messages, so a notice (a refused message, a warning
		// before a disconnection) is counted.
		if c.phase == ircJoined {
			return dst, ircStep{problem: "irc NOTICE: " + shortKind(string(m.last()))}
		}
		return dst, ircStep{}
	}
	if n := m.numeric(); n > 0 {
		return c.numeric(n, m, dst)
	}
	return dst, ircStep{} // JOIN, PART, QUIT, MODE of others: nothing to do
}

// numeric handles a numeric reply.
func (c *ircClient) numeric(n int, m *ircMessage, dst []byte) ([]byte, ircStep) {
	text := string(m.last())
	switch c.phase {
	case ircRegistering:
		switch n {
		case rplWelcome:
			c.phase = ircJoining
			dst = append(dst, "JOIN "...)
			dst = append(dst, c.channel...)
			return append(dst, "\r\n"...), ircStep{}
		case errNicknameInUse, errNickCollision, errUnavailResource:
			if c.tries == maxNickTries {
				return dst, ircStep{err: &ircError{what: "registration", code: n, text: text}}
			}
			c.nick = fmt.Sprintf("%s_%d", c.base, c.tries)
			c.tries++
			dst = append(dst, "NICK "...)
			dst = append(dst, c.nick...)
			return append(dst, "\r\n"...), ircStep{}
		case errErroneusNickname, errPasswdMismatch, errYoureBanned:
			return dst, ircStep{err: &ircError{what: "registration", code: n, text: text}}
		}
	case ircJoining:
		switch n {
		case rplEndOfNames:
			if bytes.EqualFold(m.param(1), []byte(c.channel)) {
				c.phase = ircJoined
				return dst, ircStep{joined: true}
			}
		case errNoSuchChannel, errTooManyChannels, errChannelIsFull, errInviteOnlyChan,
			errBannedFromChan, errBadChannelKey, errBadChanMask:
			return dst, ircStep{err: &ircError{what: "join", code: n, text: text}}
		}
	case ircJoined:
		if n >= 400 && n != errNoMOTD {
			return dst, ircStep{problem: fmt.Sprintf("irc %03d: %s", n, shortKind(text))}
		}
	}
	return dst, ircStep{}
}
