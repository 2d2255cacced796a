package irc

import (
	"bytes"
	"encoding/base64"
	"strings"

	"chat/internal/wire"
)

// IRCv3 (https://ircv3.net/irc/): capability negotiation, SASL PLAIN
// against the users file, and the capabilities that change what the
// server sends: server-time, message-tags, echo-message, multi-prefix.

// caps is the set of capabilities a client enabled.
type caps uint16

const (
	capServerTime caps = 1 << iota
	capEchoMessage
	capMultiPrefix
	capSASL
	capCapNotify
	capUserhostInNames
	capBatch
	capChathistory
	capMessageTags

	allCaps caps = 1<<iota - 1
)

// offered lists the capabilities the server offers, in the order CAP LS
// shows them, with the value a 302 client sees.
var offered = []struct {
	name  string
	bit   caps
	value string
}{
	{"batch", capBatch, ""},
	{"cap-notify", capCapNotify, ""},
	{"draft/chathistory", capChathistory, ""},
	{"echo-message", capEchoMessage, ""},
	{"message-tags", capMessageTags, ""},
	{"multi-prefix", capMultiPrefix, ""},
	{"sasl", capSASL, "PLAIN"},
	{"server-time", capServerTime, ""},
	{"userhost-in-names", capUserhostInNames, ""},
}

// capList writes the capabilities in set, with their values for a 302
// client.
func (s *Session) capList(set caps, values bool) string {
	var names []string
	for _, c := range offered {
		if set&c.bit == 0 {
			continue
		}
		n := c.name
		if values && c.value != "" {
			n += "=" + c.value
		}
		names = append(names, n)
	}
	return strings.Join(names, " ")
}

// CAP <subcommand> [<capabilities>]
//
// LS or REQ before registration holds it until CAP END. REQ is all or
// nothing, as the specification says: one unknown name NAKs the lot.
func capHandler(s *Session, dst []byte, m *message) []byte {
	p := m.Params
	sub := strings.ToUpper(p[0])
	switch sub {
	case "LS":
		if s.state == unregistered {
			s.capHold = true
		}
		v302 := len(p) > 1 && p[1] >= "302"
		if v302 {
			s.caps |= capCapNotify // implied by 302
		}
		return appendLine(dst, s.cfg.Server, "CAP", s.me(), "LS", s.capList(allCaps, v302))
	case "LIST":
		return appendLine(dst, s.cfg.Server, "CAP", s.me(), "LIST", s.capList(s.caps, false))
	case "REQ":
		if s.state == unregistered {
			s.capHold = true
		}
		asked := ""
		if len(p) > 1 {
			asked = p[1]
		}
		on, off, ok := parseCapReq(asked)
		if !ok || strings.TrimSpace(asked) == "" {
			return appendLine(dst, s.cfg.Server, "CAP", s.me(), "NAK", asked)
		}
		s.caps = s.caps&^off | on
		s.lines.tagged = s.caps&capMessageTags != 0
		return appendLine(dst, s.cfg.Server, "CAP", s.me(), "ACK", strings.TrimSpace(asked))
	case "END":
		s.capHold = false
		if s.sasl.started && !s.sasl.done {
			s.sasl = saslState{} // abandoned
		}
		return s.register(dst)
	}
	return s.numeric(dst, errInvalidCapCmd, p[0], "Invalid CAP command")
}

// parseCapReq reads "a -b c": the capabilities to turn on and off; ok
// false if one is not offered.
func parseCapReq(asked string) (on, off caps, ok bool) {
	for _, name := range strings.Fields(asked) {
		neg := strings.HasPrefix(name, "-")
		name = strings.TrimPrefix(name, "-")
		found := false
		for _, c := range offered {
			if c.name == name {
				found = true
				if neg {
					off |= c.bit
				} else {
					on |= c.bit
				}
			}
		}
		if !found {
			return 0, 0, false
		}
	}
	return on, off, true
}

// saslState is an AUTHENTICATE exchange under way.
type saslState struct {
	started bool // AUTHENTICATE PLAIN was accepted
	done    bool // logged in
	buf     []byte
}

// maxSASLBytes bounds an AUTHENTICATE payload, decoded: an account name
// and password with room to spare.
const maxSASLBytes = 2 * (wire.MaxSecretBytes + 256)

// AUTHENTICATE <mechanism> | <base64 chunk> | * | +
//
// PLAIN only: authzid NUL authcid NUL password, in chunks of 400 bytes.
// The account is logged in at once; registration then welcomes the user
// under the account's name.
func authenticateHandler(s *Session, dst []byte, m *message) []byte {
	arg := m.Params[0]
	switch {
	case s.state != unregistered || s.sasl.done:
		return s.numeric(dst, errSASLAlready, "You have already authenticated")
	case arg == "*":
		s.sasl = saslState{}
		return s.numeric(dst, errSASLAborted, "SASL authentication aborted")
	case !s.sasl.started:
		if !strings.EqualFold(arg, "PLAIN") {
			dst = s.numeric(dst, rplSASLMechs, "PLAIN", "are available SASL mechanisms")
			return s.numeric(dst, errSASLFail, "SASL authentication failed")
		}
		s.sasl.started = true
		return appendLine(dst, "", "AUTHENTICATE", "+")
	}
	if arg != "+" {
		s.sasl.buf = append(s.sasl.buf, arg...)
	}
	if base64.StdEncoding.DecodedLen(len(s.sasl.buf)) > maxSASLBytes {
		s.sasl = saslState{}
		return s.numeric(dst, errSASLTooLong, "SASL message too long")
	}
	if len(arg) == 400 {
		return dst // more chunks follow
	}
	raw, err := base64.StdEncoding.DecodeString(string(s.sasl.buf))
	s.sasl.buf = nil
	parts := bytes.Split(raw, []byte{0})
	if err != nil || len(parts) != 3 || len(parts[1]) == 0 || len(parts[2]) == 0 {
		s.sasl = saslState{}
		return s.numeric(dst, errSASLFail, "SASL authentication failed")
	}
	account, secret := string(parts[1]), string(parts[2])
	s.request(kindSASL, account, false, wire.Frame{Type: wire.TypeLogin, Name: account, Secret: secret,
		Ident: s.user, Real: s.real})
	return dst
}

// saslDone answers the Login of an AUTHENTICATE.
func (s *Session) saslDone(dst []byte, f *wire.Frame) []byte {
	if f.Code != wire.OK {
		s.sasl = saslState{}
		return s.numeric(dst, errSASLFail, "SASL authentication failed")
	}
	s.sasl = saslState{done: true}
	s.nick, s.hasNick = f.Name, true
	dst = s.numeric(dst, rplLoggedIn, s.nick+"!"+s.ident()+"@"+s.cfg.Server, f.Name, "You are now logged in as "+f.Name)
	dst = s.numeric(dst, rplSASLSuccess, "SASL authentication successful")
	s.inherit(f)
	return dst
}

// tags appends the tags of a line about something that happened at ms
// (Unix milliseconds): server-time's time, when the client asked for it.
func (s *Session) tags(dst []byte, ms int64) []byte {
	return append(dst, s.messageTags("", "", ms, "")...)
}

// Variant says how this session renders a room message, which is the same
// for every session of one variant: the loop renders it once per variant.
// A page of history (Replaying) renders the session's own way.
func (s *Session) Variant() int {
	v := 0
	if s.caps&capServerTime != 0 {
		v |= 1
	}
	if s.caps&capMessageTags != 0 {
		v |= 2
	}
	return v
}

// Replaying reports whether a CHATHISTORY page is under way: room
// messages then render in its batch, for this session alone.
func (s *Session) Replaying() bool { return s.replay != nil }

// Variants is how many Variant values there are.
const Variants = 4
