package irc

import (
	"reflect"
	"strings"
	"testing"

	"chat/internal/wire"
)

var testConfig = &Config{Server: "srv", Software: "chat-server-1", Created: "today"}

// newSessionIn returns a session in the given state, its Hello and (for
// registered) its Claim answered, and nothing left to take.
func newSessionIn(t *testing.T, st state) *Session {
	t.Helper()
	s := NewSession(testConfig)
	hello := s.Start()
	s.Render(nil, &wire.Frame{Type: wire.TypeReply, ID: hello[0].ID, Code: wire.OK})
	if st == unregistered {
		return s
	}
	s.Feed([]byte("NICK alice\r\nUSER a 0 * :Alice\r\n"))
	for ok := true; ok; _, ok = s.HandleNext(nil) {
	}
	claim := s.TakeRequests()
	if st == registered {
		s.Render(nil, &wire.Frame{Type: wire.TypeReply, ID: claim[0].ID, Code: wire.OK})
	}
	if s.state != st {
		t.Fatalf("session in state %d, want %d", s.state, st)
	}
	return s
}

// TestDispatch checks the dispatcher's shared answers, in the order it
// applies them, and that a line passing them reaches its handler.
func TestDispatch(t *testing.T) {
	tests := []struct {
		state state
		line  string
		want  string      // exact output
		reqs  []wire.Type // requests made, by type
	}{
		// 451 before registration for a command not usable then, known or not.
		{unregistered, "JOIN #a", ":srv 451 * :You have not registered\r\n", nil},
		{unregistered, "FOO", ":srv 451 * :You have not registered\r\n", nil},
		{registering, "PRIVMSG bob :hi", ":srv 451 alice :You have not registered\r\n", nil},
		// 421 once registered.
		{registered, "FOO x", ":srv 421 alice FOO :Unknown command\r\n", nil},
		{registered, "foo", ":srv 421 alice FOO :Unknown command\r\n", nil},
		// 462 for PASS and USER once registration began, before any arity check.
		{registered, "PASS", ":srv 462 alice :You may not reregister\r\n", nil},
		{registering, "PASS pw", ":srv 462 alice :You may not reregister\r\n", nil},
		{registered, "USER a", ":srv 462 alice :You may not reregister\r\n", nil},
		// 461: too few parameters, or an empty last one.
		{unregistered, "PASS", ":srv 461 * PASS :Not enough parameters\r\n", nil},
		{unregistered, "PASS :", ":srv 461 * PASS :Not enough parameters\r\n", nil},
		{unregistered, "USER a 0 *", ":srv 461 * USER :Not enough parameters\r\n", nil},
		{unregistered, "CAP", ":srv 461 * CAP :Not enough parameters\r\n", nil},
		{registered, "JOIN", ":srv 461 alice JOIN :Not enough parameters\r\n", nil},
		{registered, "join :", ":srv 461 alice JOIN :Not enough parameters\r\n", nil},
		{registered, "MODE", ":srv 461 alice MODE :Not enough parameters\r\n", nil},
		{registered, "PART", ":srv 461 alice PART :Not enough parameters\r\n", nil},
		{registered, "TOPIC", ":srv 461 alice TOPIC :Not enough parameters\r\n", nil},
		{registered, "ISON", ":srv 461 alice ISON :Not enough parameters\r\n", nil},
		{registered, "USERHOST", ":srv 461 alice USERHOST :Not enough parameters\r\n", nil},
		// USER's real name may not be empty either; CAP's parameter and
		// PING's token may.
		{unregistered, "USER a 0 * :", ":srv 461 * USER :Not enough parameters\r\n", nil},
		{unregistered, "PING", ":srv 409 * :No origin specified\r\n", nil},
		{unregistered, "PING :", ":srv PONG srv :\r\n", nil},
		{unregistered, "CAP :", ":srv 410 *  :Invalid CAP command\r\n", nil},
		// A command's own answer to missing parameters.
		{unregistered, "NICK", ":srv 431 * :No nickname given\r\n", nil},
		{unregistered, "NICK :", ":srv 431 * :No nickname given\r\n", nil},
		{registered, "PRIVMSG", ":srv 411 alice :No recipient given (PRIVMSG)\r\n", nil},
		{registered, "PRIVMSG bob", ":srv 412 alice :No text to send\r\n", nil},
		{registered, "PRIVMSG bob :", ":srv 412 alice :No text to send\r\n", nil},
		{registered, "NOTICE", "", nil},
		{registered, "NOTICE bob", "", nil},
		{registered, "WHOIS", ":srv 431 alice :No nickname given\r\n", nil},
		{registered, "WHOIS srv :", ":srv 431 alice :No nickname given\r\n", nil},
		// Lines that pass reach their handler.
		{unregistered, "PING tok", ":srv PONG srv :tok\r\n", nil},
		{unregistered, "PONG", "", nil},
		{unregistered, "QUIT", "ERROR :Closing Link: * (Quit)\r\n", nil},
		{registered, "QUIT :bye", "", []wire.Type{wire.TypeLogout}},
		{registered, "join #a", "", []wire.Type{wire.TypeJoin}},
		{registered, "JOIN #a,#b,c x", ":srv 403 alice c :No such channel\r\n", []wire.Type{wire.TypeJoin, wire.TypeJoin}},
		{registered, "JOIN 0", "", nil}, // in no channel: nothing to part
		{registered, "PART #a,#b :bye", "", []wire.Type{wire.TypeLeave, wire.TypeLeave}},
		{registered, "PRIVMSG bob :hi", "", []wire.Type{wire.TypeTell}},
		{registered, "PRIVMSG #a,bob,alice :hi", ":alice!a@srv PRIVMSG alice :hi\r\n", []wire.Type{wire.TypeSay, wire.TypeTell}},
		{registered, "NOTICE #a :hi", "", []wire.Type{wire.TypeSay}},
		{registered, "TOPIC #a", "", []wire.Type{wire.TypeTopic}},
		{registered, "TOPIC #a :tea", "", []wire.Type{wire.TypeTopic}},
		{registered, "KICK #a bob,cy :out", "", []wire.Type{wire.TypeKick, wire.TypeKick}},
		{registered, "KICK #a", ":srv 461 alice KICK :Not enough parameters\r\n", nil},
		{registered, "INVITE bob #a", "", []wire.Type{wire.TypeInvite}},
		{registered, "MODE #a", "", []wire.Type{wire.TypeMode}},
		{registered, "MODE #a +k :a b", ":srv 696 alice #a k * :Invalid mode parameter: a b\r\n", nil},
		{registered, "MODE #a + :", ":srv 696 alice #a * * :Invalid mode parameter: \r\n", nil},
		{registered, "MODE alice", ":srv 221 alice :+\r\n", nil},
		{registered, "MODE alice +iz", ":srv 501 alice :Unknown MODE flag\r\n:alice!a@srv MODE alice :+i\r\n", nil},
		{registered, "MODE bob +i", ":srv 502 alice :Cannot change mode for other users\r\n", nil},
		{registered, "AWAY :lunch", "", []wire.Type{wire.TypeAway}},
		{registered, "WHOIS bob", "", []wire.Type{wire.TypeWhois}},
		{registered, "OPER root pw", "", []wire.Type{wire.TypeOper}},
		{registered, "KILL bob :spam", "", []wire.Type{wire.TypeKill}},
		{registered, "WHOWAS bob 2", "", []wire.Type{wire.TypeWhowas}},
		{registered, "LUSERS", "", []wire.Type{wire.TypeRooms, wire.TypeWho}},
		{registered, "TIME", "", []wire.Type{wire.TypePing}},
		{registered, "NICK alice", "", nil},
		{registered, "NICK bob", "", []wire.Type{wire.TypeNick}},
		{registered, "NICK b.b", ":srv 432 alice b.b :Erroneous nickname: use 1 to 20 characters, none of , * ? ! @ : . or spaces\r\n", nil},
		// Lines without a command are ignored.
		{unregistered, "", "", nil},
		{registered, ":prefix", "", nil},
	}
	for _, tt := range tests {
		s := newSessionIn(t, tt.state)
		s.Feed([]byte(tt.line + "\r\n"))
		got, ok := s.HandleNext(nil)
		if !ok {
			t.Fatalf("%q: no line handled", tt.line)
		}
		var reqs []wire.Type
		for _, r := range s.TakeRequests() {
			reqs = append(reqs, r.Type)
		}
		if string(got) != tt.want || !reflect.DeepEqual(reqs, tt.reqs) {
			t.Errorf("state %d, %q:\n got %q, requests %v\nwant %q, requests %v", tt.state, tt.line, got, reqs, tt.want, tt.reqs)
		}
		if _, ok := s.HandleNext(nil); ok {
			t.Errorf("%q: a second line handled", tt.line)
		}
	}
}

func TestHandleNextTooLong(t *testing.T) {
	s := NewSession(testConfig)
	s.Feed([]byte(strings.Repeat("x", MaxLine) + "\r\nPING t\r\n"))
	var got []byte
	for ok := true; ok; got, ok = s.HandleNext(got) {
	}
	if want := ":srv 417 * :Input line was too long\r\n:srv PONG srv :t\r\n"; string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestCommandTable checks the table's own consistency: every entry has a
// handler, and the commands usable before registration are those
// registration needs, PING and QUIT.
func TestCommandTable(t *testing.T) {
	var pre []string
	for name, c := range commands {
		if c.handler == nil {
			t.Errorf("%s has no handler", name)
		}
		if c.usablePreReg {
			pre = append(pre, name)
		}
		if c.registration && !c.usablePreReg {
			t.Errorf("%s takes part in registration but is refused before it", name)
		}
	}
	want := map[string]bool{"AUTHENTICATE": true, "CAP": true, "NICK": true, "PASS": true, "PING": true, "PONG": true, "QUIT": true, "USER": true}
	if len(pre) != len(want) {
		t.Errorf("usable before registration: %v", pre)
	}
	for _, n := range pre {
		if !want[n] {
			t.Errorf("%s usable before registration", n)
		}
	}
}
