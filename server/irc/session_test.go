package irc

import (
	"strings"
	"testing"

	"chat/internal/wire"
)

// hubSide plays the hub for one session with hand-made frames: it checks
// the requests the session makes and answers them.
type hubSide struct {
	t *testing.T
	s *Session
}

// lines feeds input one byte at a time and returns what the session
// answered directly.
func (h *hubSide) lines(input string) string {
	var out []byte
	for i := 0; i < len(input); i++ {
		h.s.Feed([]byte{input[i]})
		for ok := true; ok; out, ok = h.s.HandleNext(out) {
		}
	}
	return string(out)
}

// requests takes the session's requests and checks their types.
func (h *hubSide) requests(want ...wire.Type) []wire.Frame {
	h.t.Helper()
	reqs := h.s.TakeRequests()
	if len(reqs) != len(want) {
		h.t.Fatalf("requests %+v, want types %v", reqs, want)
	}
	for i := range reqs {
		if reqs[i].Type != want[i] {
			h.t.Fatalf("request %d is %+v, want type %v", i, reqs[i], want[i])
		}
	}
	return reqs
}

// render renders a frame and checks the exact output.
func (h *hubSide) render(f *wire.Frame, want string) {
	h.t.Helper()
	if got := string(h.s.Render(nil, f)); got != want {
		h.t.Fatalf("frame %+v rendered\n%q\nwant\n%q", f, got, want)
	}
}

func reply(req *wire.Frame, code wire.Code) *wire.Frame {
	return &wire.Frame{Type: wire.TypeReply, ID: req.ID, Code: code}
}

// TestSessionWalk takes one IRC client through registration, a JOIN, and
// messages both ways, answering for the hub.
func TestSessionWalk(t *testing.T) {
	h := &hubSide{t: t, s: NewSession(testConfig)}

	// The Hello is said on the client's behalf.
	hello := h.s.Start()
	if len(hello) != 1 || hello[0].Type != wire.TypeHello || hello[0].Version != wire.Version || hello[0].Text != "irc" {
		t.Fatalf("start: %+v", hello)
	}
	h.render(reply(&hello[0], wire.OK), "")

	// Registration: a guest claims the nick once NICK and USER are in.
	if out := h.lines("NICK alice\r\nUSER a 0 * :Alice"); out != "" {
		t.Fatalf("registration answered %q", out)
	}
	if h.s.Buffered() != len("USER a 0 * :Alice") {
		t.Fatalf("buffered %d", h.s.Buffered())
	}
	h.lines("\r\n")
	claim := h.requests(wire.TypeClaim)
	if claim[0].Name != "alice" || h.s.Welcomed() {
		t.Fatalf("claim %+v, welcomed %v", claim[0], h.s.Welcomed())
	}
	welcome := string(h.s.Render(nil, reply(&claim[0], wire.OK)))
	if !strings.HasPrefix(welcome, ":srv 001 alice :Welcome to the chat network, alice\r\n"+
		":srv 002 alice :Your host is srv, running version chat-server-1\r\n"+
		":srv 003 alice :This server was created today\r\n"+
		":srv 004 alice srv chat-server-1 iow biklmnostv :bklov\r\n"+
		":srv 005 alice CHANTYPES=# CHANLIMIT=#:1 MAXCHANNELS=1 CHANMODES=b,k,l,imnst PREFIX=(ov)@+ ") ||
		!strings.HasSuffix(welcome, ":srv 376 alice :End of /MOTD command.\r\n") || !h.s.Welcomed() {
		t.Fatalf("welcome %q, welcomed %v", welcome, h.s.Welcomed())
	}

	// JOIN of two channels: one Join each; each reply is the JOIN, the
	// topic if there is one, and the names.
	h.lines("JOIN #lounge,#Den key1\r\n")
	join := h.requests(wire.TypeJoin, wire.TypeJoin)
	if join[0].Room != "lounge" || join[0].Secret != "key1" || join[1].Room != "Den" || join[1].Secret != "" {
		t.Fatalf("join requests %+v", join)
	}
	h.render(&wire.Frame{Type: wire.TypeReply, ID: join[0].ID, Code: wire.OK, Room: "lounge", Mode: "+nt",
		Users: []wire.User{{Name: "bob", Prefix: "@"}, {Name: "alice"}}},
		":alice!a@srv JOIN :#lounge\r\n:srv 353 alice = #lounge :@bob alice\r\n:srv 366 alice #lounge :End of /NAMES list.\r\n")
	h.render(&wire.Frame{Type: wire.TypeReply, ID: join[1].ID, Code: wire.OK, Room: "den", Mode: "+nst",
		Words: "tea at 5", By: "cy", At: 1700000000000, Users: []wire.User{{Name: "alice", Prefix: "@"}}},
		":alice!a@srv JOIN :#den\r\n:srv 332 alice #den :tea at 5\r\n:srv 333 alice #den cy :1700000000\r\n"+
			":srv 353 alice @ #den :@alice\r\n:srv 366 alice #den :End of /NAMES list.\r\n")
	h.lines("JOIN #attic\r\n")
	attic := h.requests(wire.TypeJoin)
	h.render(&wire.Frame{Type: wire.TypeReply, ID: attic[0].ID, Code: wire.ErrInviteOnly}, ":srv 473 alice #attic :Cannot join channel (+i)\r\n")

	// Messages out: to the channel, an ACTION, and to a nick nobody has.
	h.lines("PRIVMSG #lounge :hello\r\nPRIVMSG #lounge :\x01ACTION waves\x01\r\nPRIVMSG carol :yo\r\n")
	msgs := h.requests(wire.TypeSay, wire.TypeSay, wire.TypeTell)
	if msgs[0].Text != "hello" || msgs[1].Text != "/me waves" || msgs[2].To != "carol" || msgs[2].Text != "yo" {
		t.Fatalf("messages %+v", msgs)
	}
	h.render(reply(&msgs[0], wire.OK), "")
	h.render(reply(&msgs[1], wire.OK), "")
	h.render(reply(&msgs[2], wire.ErrNoSuchUser), ":srv 401 alice carol :No such nick/channel\r\n")
	h.lines("PRIVMSG #elsewhere :hi\r\n")
	elsewhere := h.requests(wire.TypeSay)
	h.render(reply(&elsewhere[0], wire.ErrNotInRoom), ":srv 404 alice #elsewhere :Cannot send to channel (you are not in it)\r\n")
	h.lines("PRIVMSG dan :hi\r\n")
	dan := h.requests(wire.TypeTell)
	h.render(&wire.Frame{Type: wire.TypeReply, ID: dan[0].ID, Name: "dan", Words: "lunch"}, ":srv 301 alice dan :lunch\r\n")

	// Messages and events in.
	h.render(&wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "hi"}, ":bob!bob@srv PRIVMSG #lounge :hi\r\n")
	h.render(&wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "/me grins"}, ":bob!bob@srv PRIVMSG #lounge :\x01ACTION grins\x01\r\n")
	h.render(&wire.Frame{Type: wire.TypePrivate, From: "bob", Text: "psst\nbye"}, ":bob!bob@srv PRIVMSG alice :psst\r\n:bob!bob@srv PRIVMSG alice :bye\r\n")
	h.render(&wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "psst", Code: wire.AsNotice}, ":bob!bob@srv NOTICE #lounge :psst\r\n")
	h.render(&wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeLeft, Name: "bob", Room: "lounge", Text: "bob left lounge (tea)", Words: "tea"},
		":bob!bob@srv PART #lounge :tea\r\n")
	h.render(&wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeLeft, Name: "bob", Room: "lounge", Text: "bob left lounge"},
		":bob!bob@srv PART :#lounge\r\n")
	h.render(&wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeQuit, Name: "cy", Room: "den", Words: "Quit: bye"}, ":cy!cy@srv QUIT :Quit: bye\r\n")
	h.render(&wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeLost, Name: "cy", Room: "den"}, ":cy!cy@srv QUIT :Connection lost\r\n")
	h.render(&wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeTopic, By: "bob", Room: "den", Words: "new"}, ":bob!bob@srv TOPIC #den :new\r\n")
	h.render(&wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeMode, By: "bob", Room: "den", Mode: "+o-v cy dan"}, ":bob!bob@srv MODE #den +o-v cy :dan\r\n")
	h.render(&wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeInvited, By: "bob", Room: "attic", Name: "alice"}, ":bob!bob@srv INVITE alice :#attic\r\n")
	h.render(&wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeRenamed, Name: "cy", To: "cyd"}, ":cy!cy@srv NICK :cyd\r\n")
	h.render(&wire.Frame{Type: wire.TypeNotice, Code: wire.NoticeKicked, By: "bob", Room: "den", Name: "alice"}, ":bob!bob@srv KICK #den alice :bob\r\n")
	if h.s.inChannel("den") >= 0 || h.s.inChannel("lounge") < 0 {
		t.Fatalf("after the kick, in %v", h.s.joined)
	}
	h.render(&wire.Frame{Type: wire.TypeServerPing}, "PING :srv\r\n")

	// QUIT logs out, then closes the link.
	h.lines("QUIT :bye\r\n")
	quit := h.requests(wire.TypeLogout)
	if quit[0].Text != "Quit: bye" || h.s.Closing() {
		t.Fatalf("quit %+v, closing %v", quit[0], h.s.Closing())
	}
	h.render(reply(&quit[0], wire.OK), "ERROR :Closing Link: alice (Quit: bye)\r\n")
	if !h.s.Closing() {
		t.Fatal("not closing after QUIT")
	}
}

// TestSessionTakeover: logging in as an account that was in a room puts
// the IRC client in its channel and asks for the names after.
func TestSessionTakeover(t *testing.T) {
	h := &hubSide{t: t, s: NewSession(testConfig)}
	h.s.Start()
	h.lines("PASS secret\r\nNICK alice\r\nUSER a 0 * :A\r\n")
	login := h.requests(wire.TypeLogin)
	if login[0].Name != "alice" || login[0].Secret != "secret" {
		t.Fatalf("login %+v", login[0])
	}
	out := string(h.s.Render(nil, &wire.Frame{Type: wire.TypeReply, ID: login[0].ID, Code: wire.OK, Room: "lounge",
		Rooms: []wire.Room{{Name: "lounge"}, {Name: "den"}}}))
	if !strings.HasSuffix(out, ":srv 376 alice :End of /MOTD command.\r\n:alice!a@srv JOIN :#lounge\r\n:alice!a@srv JOIN :#den\r\n") {
		t.Fatalf("takeover: %q", out)
	}
	names := h.requests(wire.TypeWho, wire.TypeWho)
	h.render(&wire.Frame{Type: wire.TypeReply, ID: names[0].ID, Code: wire.OK, Room: "lounge", Users: []wire.User{{Name: "alice"}}},
		":srv 353 alice = #lounge :alice\r\n:srv 366 alice #lounge :End of /NAMES list.\r\n")
}

// TestSessionRegistrationRefused: a taken nick can be retried; a wrong
// password closes the link.
func TestSessionRegistrationRefused(t *testing.T) {
	h := &hubSide{t: t, s: NewSession(testConfig)}
	h.s.Start()
	h.lines("NICK alice\r\nUSER a 0 * :A\r\n")
	claim := h.requests(wire.TypeClaim)
	h.render(&wire.Frame{Type: wire.TypeReply, ID: claim[0].ID, Code: wire.ErrNameTaken, Text: "alice is a registered name"},
		":srv 433 * alice :Nickname is registered: log in to it (SASL, or PASS) or choose another\r\n")
	h.lines("PASS wrong\r\nNICK alice\r\n")
	login := h.requests(wire.TypeLogin)
	h.render(reply(&login[0], wire.ErrBadLogin), ":srv 464 alice :Password incorrect\r\nERROR :Closing Link: alice (Bad password)\r\n")
	if !h.s.Closing() || h.s.Welcomed() {
		t.Fatalf("closing %v, welcomed %v", h.s.Closing(), h.s.Welcomed())
	}
}

func TestRenderFileOfferRefused(t *testing.T) {
	h := &hubSide{t: t, s: newSessionIn(t, registered)}
	h.render(&wire.Frame{Type: wire.TypeFileOffer, From: "bob", Name: "notes.txt", Token: "t1"},
		":srv NOTICE alice :bob asked you for the file notes.txt; files cannot be sent over IRC\r\n")
	refuse := h.requests(wire.TypeRefuse)
	if refuse[0].Token != "t1" || refuse[0].Code != wire.ErrNoSuchFile {
		t.Fatalf("refuse %+v", refuse[0])
	}
	h.render(reply(&refuse[0], wire.OK), "")
}

// TestNamesOfSeveralChannels: a 353 per channel, then one 366 naming the
// list.
func TestNamesOfSeveralChannels(t *testing.T) {
	h := &hubSide{t: t, s: newSessionIn(t, registered)}
	h.lines("NAMES #a,#b\r\n")
	reqs := h.requests(wire.TypeWho, wire.TypeWho)
	h.render(&wire.Frame{Type: wire.TypeReply, ID: reqs[0].ID, Users: []wire.User{{Name: "alice", Prefix: "@"}}}, ":srv 353 alice = #a :@alice\r\n")
	h.render(&wire.Frame{Type: wire.TypeReply, ID: reqs[1].ID, Code: wire.ErrNoSuchRoom}, ":srv 366 alice #a,#b :End of /NAMES list.\r\n")
	if out := h.lines("NAMES c,d\r\n"); out != ":srv 366 alice c,d :End of /NAMES list.\r\n" {
		t.Fatalf("no channel: %q", out)
	}
}

// TestWhoMask: a mask's "*" takes any characters, "/" too, and case
// counts, as in user names.
func TestWhoMask(t *testing.T) {
	h := &hubSide{t: t, s: newSessionIn(t, registered)}
	h.lines("WHO a*\r\n")
	req := h.requests(wire.TypeWho)[0]
	h.render(&wire.Frame{Type: wire.TypeReply, ID: req.ID, Users: []wire.User{{Name: "a/b"}, {Name: "Ab"}, {Name: "b"}}},
		":srv 352 alice * a/b srv srv a/b H :0 a/b\r\n:srv 315 alice a* :End of /WHO list.\r\n")
}
