package irc

import (
	"encoding/base64"
	"strings"
	"testing"

	"chat/internal/wire"
)

func TestCapNegotiation(t *testing.T) {
	h := &hubSide{t: t, s: NewSession(testConfig)}
	h.s.Start()
	steps := []struct{ line, want string }{
		{"CAP LS", ":srv CAP * LS :batch cap-notify draft/chathistory echo-message message-tags multi-prefix sasl server-time userhost-in-names\r\n"},
		{"CAP LS 302", ":srv CAP * LS :batch cap-notify draft/chathistory echo-message message-tags multi-prefix sasl=PLAIN server-time userhost-in-names\r\n"},
		{"CAP REQ :server-time bogus", ":srv CAP * NAK :server-time bogus\r\n"},
		{"CAP REQ :server-time echo-message", ":srv CAP * ACK :server-time echo-message\r\n"},
		{"CAP REQ :-echo-message multi-prefix", ":srv CAP * ACK :-echo-message multi-prefix\r\n"},
		{"CAP LIST", ":srv CAP * LIST :cap-notify multi-prefix server-time\r\n"},
		{"CAP FOO", ":srv 410 * FOO :Invalid CAP command\r\n"},
		// Registration waits for CAP END.
		{"NICK alice", ""},
		{"USER a 0 * :Alice", ""},
	}
	for _, st := range steps {
		if got := h.lines(st.line + "\r\n"); got != st.want {
			t.Fatalf("%q:\n got %q\nwant %q", st.line, got, st.want)
		}
	}
	h.requests()
	h.lines("CAP END\r\n")
	claim := h.requests(wire.TypeClaim)
	if claim[0].Ident != "a" || claim[0].Real != "Alice" {
		t.Fatalf("claim %+v", claim[0])
	}
	h.s.Render(nil, reply(&claim[0], wire.OK))

	// server-time tags what happened at a time; multi-prefix keeps every
	// prefix.
	h.render(&wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "hi", Time: 1700000000123},
		"@time=2023-11-14T22:13:20.123Z :bob!bob@srv PRIVMSG #lounge :hi\r\n")
	if h.s.Variant() != 1 {
		t.Fatal("a server-time session renders room messages its own way")
	}
	h.lines("NAMES #lounge\r\n")
	names := h.requests(wire.TypeWho)
	h.render(&wire.Frame{Type: wire.TypeReply, ID: names[0].ID, Room: "lounge", Users: []wire.User{{Name: "bob", Prefix: "@+"}}},
		":srv 353 alice = #lounge :@+bob\r\n:srv 366 alice #lounge :End of /NAMES list.\r\n")
}

func TestEchoMessage(t *testing.T) {
	h := &hubSide{t: t, s: newSessionIn(t, registered)}
	h.lines("CAP REQ echo-message\r\n")
	h.lines("PRIVMSG #lounge :hello\r\nNOTICE bob :psst\r\n")
	reqs := h.requests(wire.TypeSay, wire.TypeTell)
	if reqs[1].Code != wire.AsNotice {
		t.Fatalf("notice sent as %+v", reqs[1])
	}
	h.render(&wire.Frame{Type: wire.TypeReply, ID: reqs[0].ID, Room: "lounge", Seq: 4},
		":alice!a@srv PRIVMSG #lounge :hello\r\n")
	h.render(&wire.Frame{Type: wire.TypeReply, ID: reqs[1].ID, Name: "bob", Words: "away"},
		":alice!a@srv NOTICE bob :psst\r\n") // no 301 for a NOTICE
}

func TestSASLPlain(t *testing.T) {
	plain := func(authz, user, pass string) string {
		return base64.StdEncoding.EncodeToString([]byte(authz + "\x00" + user + "\x00" + pass))
	}
	h := &hubSide{t: t, s: NewSession(testConfig)}
	h.s.Start()
	h.lines("CAP LS 302\r\nNICK guest1\r\nUSER g 0 * :G\r\nCAP REQ sasl\r\n")
	if got := h.lines("AUTHENTICATE SCRAM-SHA-1\r\n"); got != ":srv 908 guest1 PLAIN :are available SASL mechanisms\r\n:srv 904 guest1 :SASL authentication failed\r\n" {
		t.Fatalf("other mechanism: %q", got)
	}
	if got := h.lines("AUTHENTICATE PLAIN\r\n"); got != "AUTHENTICATE :+\r\n" {
		t.Fatalf("PLAIN: %q", got)
	}
	h.lines("AUTHENTICATE " + plain("", "alice", "pw") + "\r\n")
	login := h.requests(wire.TypeLogin)
	if login[0].Name != "alice" || login[0].Secret != "pw" || login[0].Ident != "g" {
		t.Fatalf("login %+v", login[0])
	}
	h.render(&wire.Frame{Type: wire.TypeReply, ID: login[0].ID, Code: wire.OK, Name: "alice"},
		":srv 900 alice alice!g@srv alice :You are now logged in as alice\r\n:srv 903 alice :SASL authentication successful\r\n")
	welcome := h.lines("CAP END\r\n")
	if !strings.HasPrefix(welcome, ":srv 001 alice :Welcome") || !h.s.Welcomed() {
		t.Fatalf("welcome %q", welcome)
	}
	h.requests() // logged in already: no Claim

	// A wrong password, then an abort.
	h = &hubSide{t: t, s: NewSession(testConfig)}
	h.s.Start()
	h.lines("CAP REQ sasl\r\nAUTHENTICATE PLAIN\r\nAUTHENTICATE " + plain("", "alice", "no") + "\r\n")
	login = h.requests(wire.TypeLogin)
	h.render(reply(&login[0], wire.ErrBadLogin), ":srv 904 * :SASL authentication failed\r\n")
	if got := h.lines("AUTHENTICATE PLAIN\r\nAUTHENTICATE *\r\n"); got != "AUTHENTICATE :+\r\n:srv 906 * :SASL authentication aborted\r\n" {
		t.Fatalf("abort: %q", got)
	}
	if got := h.lines("AUTHENTICATE PLAIN\r\nAUTHENTICATE :not base64!\r\n"); got != "AUTHENTICATE :+\r\n:srv 904 * :SASL authentication failed\r\n" {
		t.Fatalf("garbage: %q", got)
	}
	// A payload over the bound is refused without decoding it.
	h.lines("AUTHENTICATE PLAIN\r\n")
	chunk := strings.Repeat("A", 400)
	var got string
	for i := 0; i < 20 && got == ""; i++ {
		got = h.lines("AUTHENTICATE " + chunk + "\r\n")
	}
	if got != ":srv 905 * :SASL message too long\r\n" {
		t.Fatalf("too long: %q", got)
	}
}

func TestServerPassword(t *testing.T) {
	cfg := *testConfig
	cfg.Password = "letmein"
	h := &hubSide{t: t, s: NewSession(&cfg)}
	h.s.Start()
	if got := h.lines("NICK bob\r\nUSER b 0 * :B\r\n"); got != ":srv 464 bob :Password incorrect: this server needs its password (PASS)\r\nERROR :Closing Link: bob (Bad password)\r\n" {
		t.Fatalf("no password: %q", got)
	}
	h = &hubSide{t: t, s: NewSession(&cfg)}
	h.s.Start()
	h.lines("PASS letmein\r\nNICK bob\r\nUSER b 0 * :B\r\n")
	h.requests(wire.TypeClaim) // the server password is no account's
}

func TestChathistory(t *testing.T) {
	h := &hubSide{t: t, s: newSessionIn(t, registered)}
	h.lines("CAP REQ :batch server-time draft/chathistory\r\n")
	fails := []struct{ line, want string }{
		{"CHATHISTORY LATEST #a *", ":srv FAIL CHATHISTORY NEED_MORE_PARAMS LATEST :Missing parameters\r\n"},
		{"CHATHISTORY LATEST bob * 10", ":srv FAIL CHATHISTORY INVALID_TARGET LATEST bob :Only channels have history here\r\n"},
		{"CHATHISTORY BEFORE #a msgid=x 10", ":srv FAIL CHATHISTORY INVALID_PARAMS BEFORE msgid=x :A msgid here is one of the channel's messages, and BETWEEN takes timestamps\r\n"},
		{"CHATHISTORY BEFORE #a msgid=b/3 10", ":srv FAIL CHATHISTORY INVALID_PARAMS BEFORE msgid=b/3 :A msgid here is one of the channel's messages, and BETWEEN takes timestamps\r\n"},
		{"CHATHISTORY BEFORE #a when 10", ":srv FAIL CHATHISTORY INVALID_PARAMS BEFORE when :Messages are referred to by timestamp=YYYY-MM-DDThh:mm:ss.sssZ or msgid= here\r\n"},
		{"CHATHISTORY AROUND #a * 10", ":srv FAIL CHATHISTORY INVALID_PARAMS AROUND :Unknown subcommand (LATEST, BEFORE, AFTER and BETWEEN are supported)\r\n"},
		{"CHATHISTORY LATEST #a * x", ":srv FAIL CHATHISTORY INVALID_PARAMS LATEST x :Bad limit\r\n"},
	}
	for _, f := range fails {
		if got := h.lines(f.line + "\r\n"); got != f.want {
			t.Fatalf("%q:\n got %q\nwant %q", f.line, got, f.want)
		}
	}
	h.requests()

	// BETWEEN two times, newest first: a page before the later one, kept
	// after the earlier one; messages for the page render in its batch.
	h.lines("CHATHISTORY BETWEEN #a timestamp=2023-11-14T22:13:25.000Z timestamp=2023-11-14T22:13:20.000Z 5\r\n")
	req := h.requests(wire.TypeHistory)[0]
	if req.Room != "a" || req.Code != wire.HistoryBefore || req.At != 1700000005000 || req.Count != 5 {
		t.Fatalf("request %+v", req)
	}
	if !h.s.Replaying() {
		t.Fatal("not replaying")
	}
	h.render(&wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "a", Text: "too early", Time: 1700000000000}, "")
	h.render(&wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "a", Text: "hi", Time: 1700000001000},
		":srv BATCH +h3 chathistory :#a\r\n@batch=h3;time=2023-11-14T22:13:21.000Z :bob!bob@srv PRIVMSG #a :hi\r\n")
	h.render(&wire.Frame{Type: wire.TypeReply, ID: req.ID, Room: "a", Count: 2}, ":srv BATCH :-h3\r\n")
	if h.s.Replaying() {
		t.Fatal("still replaying")
	}

	// An empty page is an empty batch; a refusal is a FAIL.
	h.lines("CHATHISTORY LATEST #a * 10\r\n")
	req = h.requests(wire.TypeHistory)[0]
	h.render(&wire.Frame{Type: wire.TypeReply, ID: req.ID, Room: "a"}, ":srv BATCH +h4 chathistory :#a\r\n:srv BATCH :-h4\r\n")
	h.lines("CHATHISTORY LATEST #b * 10\r\n")
	req = h.requests(wire.TypeHistory)[0]
	h.render(&wire.Frame{Type: wire.TypeReply, ID: req.ID, Code: wire.ErrNotInRoom, Text: "you are not in b"},
		":srv FAIL CHATHISTORY INVALID_TARGET #b :you are not in b\r\n")
}

func TestMessageTags(t *testing.T) {
	h := &hubSide{t: t, s: newSessionIn(t, registered)}
	// Without message-tags, a client's tags are not passed on and TAGMSG
	// sends nothing.
	h.lines("@+react=x;msgid=forged PRIVMSG #a :hi\r\nTAGMSG #a\r\n")
	if reqs := h.requests(wire.TypeSay); reqs[0].Tags != "" {
		t.Fatalf("tags passed on without the capability: %+v", reqs[0])
	}
	h.lines("CAP REQ :message-tags echo-message\r\n")
	h.lines("@+react=\\:);time=x;+draft/reply=a/1;bad_key=1 PRIVMSG #a,bob :hi\r\n@+typing=active TAGMSG #a\r\n")
	reqs := h.requests(wire.TypeSay, wire.TypeTell, wire.TypeSay)
	if reqs[0].Tags != "+react=\\:);+draft/reply=a/1" || reqs[1].Tags != reqs[0].Tags || reqs[2].Tags != "+typing=active" || reqs[2].Text != "" {
		t.Fatalf("requests %+v", reqs)
	}
	// Echoes carry the msgid the recipients see.
	h.render(&wire.Frame{Type: wire.TypeReply, ID: reqs[0].ID, Room: "a", Seq: 7, Time: 1700000000000},
		"@msgid=a/7;+react=\\:);+draft/reply=a/1 :alice!a@srv PRIVMSG #a :hi\r\n")
	h.render(&wire.Frame{Type: wire.TypeReply, ID: reqs[1].ID, Name: "bob", Count: 3, Time: 1700000000000},
		"@msgid=~3.1700000000000;+react=\\:);+draft/reply=a/1 :alice!a@srv PRIVMSG bob :hi\r\n")
	h.render(&wire.Frame{Type: wire.TypeReply, ID: reqs[2].ID, Room: "a", Count: 4, Time: 1700000000000},
		"@msgid=~4.1700000000000;+typing=active :alice!a@srv TAGMSG :#a\r\n")
	h.render(&wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "A b", Seq: 2, Text: "yo", Tags: "+x=1"},
		"@msgid=a\\sb/2;+x=1 :bob!bob@srv PRIVMSG #A b :yo\r\n")
	h.render(&wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "a", Count: 9, Time: 5, Tags: "+typing=done"},
		"@msgid=~9.5;+typing=done :bob!bob@srv TAGMSG :#a\r\n")
	if h.s.Variant() != 2 {
		t.Fatalf("variant %d", h.s.Variant())
	}
	// Lines may now hold 4096 bytes of tags.
	long := "@+big=" + strings.Repeat("a", 4000) + " PRIVMSG #a :x\r\n"
	if out := h.lines(long); out != "" {
		t.Fatalf("a long tagged line: %q", out)
	}
	if reqs := h.requests(wire.TypeSay); len(reqs[0].Tags) != len("+big=")+4000 {
		t.Fatalf("long tags: %d bytes", len(reqs[0].Tags))
	}
}

func TestTagsWithin(t *testing.T) {
	tags := func(n int) string { return "@+t=" + strings.Repeat("a", n-len("@+t= ")) + " " }
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{tags(4096) + "PRIVMSG #a :" + strings.Repeat("b", 512-len("PRIVMSG #a :")-2) + "\r", true},
		{tags(4097) + "TAGMSG #a\r", false},
		{tags(100) + "PRIVMSG #a :" + strings.Repeat("b", 512-len("PRIVMSG #a :")-1) + "\r", false},
		{"PRIVMSG #a :" + strings.Repeat("b", 512-len("PRIVMSG #a :")-2), true},
		{"@unterminated", false},
	} {
		if got := tagsWithin([]byte(tc.line)); got != tc.ok {
			t.Errorf("%d bytes: %v, want %v", len(tc.line), got, tc.ok)
		}
	}
}

func TestExcessTaggedPrivmsg(t *testing.T) {
	h := &hubSide{t: t, s: newSessionIn(t, registered)}
	h.lines("CAP REQ :message-tags echo-message\r\n")
	h.requests()
	line := "@foo=bar;+baz=" + strings.Repeat("a", 4082) + " PRIVMSG #test " + strings.Repeat("b", 495) + "\r\n"
	if out := h.lines(line); !strings.Contains(out, " 417 ") {
		t.Fatalf("answered %q", out)
	}
}

func TestWhoisAccount(t *testing.T) {
	h := &hubSide{t: t, s: newSessionIn(t, registered)}
	h.lines("WHOIS bob\r\n")
	req := h.requests(wire.TypeWhois)[0]
	h.render(&wire.Frame{Type: wire.TypeReply, ID: req.ID, Name: "bob", Users: []wire.User{{Name: "bob", Ident: "b", Real: "Bob", Prefix: "*", Away: "out"}},
		Rooms: []wire.Room{{Name: "a", Prefix: "@"}}},
		":srv 311 alice bob b srv * :Bob\r\n:srv 319 alice bob :@#a\r\n:srv 312 alice bob srv :chat-server\r\n"+
			":srv 313 alice bob :is an IRC operator\r\n:srv 330 alice bob bob :is logged in as\r\n:srv 301 alice bob :out\r\n:srv 318 alice bob :End of /WHOIS list.\r\n")
}
