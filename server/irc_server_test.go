package server

import (
	"bufio"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
	"chat/server/irc"
)

// ircPeer is a raw IRC client for the in-process tests.
type ircPeer struct {
	t    testing.TB
	conn net.Conn
	r    *bufio.Reader
	seen []string
}

func dialIRC(t testing.TB, s *startedServer) *ircPeer {
	t.Helper()
	c, err := net.Dial("tcp", s.IRCAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &ircPeer{t: t, conn: c, r: bufio.NewReader(c)}
}

func (p *ircPeer) send(lines ...string) {
	p.t.Helper()
	if _, err := p.conn.Write([]byte(strings.Join(lines, "\r\n") + "\r\n")); err != nil {
		p.t.Fatalf("write: %v", err)
	}
}

// line returns the next line without its CR LF, "" and the error at EOF.
func (p *ircPeer) line() (string, error) {
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	l, err := p.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(l, "\r\n") || len(l) > irc.MaxLine {
		p.t.Errorf("line of %d bytes without CR LF or over the limit: %q", len(l), l)
	}
	l = strings.TrimSuffix(l, "\r\n")
	p.seen = append(p.seen, l)
	return l, nil
}

// expect reads lines until one matches re and returns its submatches.
func (p *ircPeer) expect(re string) []string {
	p.t.Helper()
	rx := regexp.MustCompile(re)
	from := len(p.seen)
	for {
		l, err := p.line()
		if err != nil {
			p.t.Fatalf("waiting for /%s/: %v; got %q", re, err, p.seen[from:])
		}
		if m := rx.FindStringSubmatch(l); m != nil {
			return m
		}
	}
}

// expectClosed reads until EOF.
func (p *ircPeer) expectClosed() {
	p.t.Helper()
	for {
		if _, err := p.line(); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				p.t.Fatalf("connection still open; got %q", p.seen)
			}
			return
		}
	}
}

func (p *ircPeer) register(nick, pass string) {
	p.t.Helper()
	if pass != "" {
		p.send("PASS " + pass)
	}
	p.send("NICK "+nick, "USER "+nick+" 0 * :"+nick)
	p.expect(` 376 ` + nick + ` `)
}

// ircAndBobInLounge registers an IRC user who joins #lounge, then logs
// bob in over the wire protocol into the same room.
func ircAndBobInLounge(t *testing.T, s *startedServer, nick, pass string) (*ircPeer, *client) {
	t.Helper()
	p := dialIRC(t, s)
	p.register(nick, pass)
	p.send("JOIN #lounge")
	p.expect(` 366 ` + nick + ` #lounge `)
	bob := dial(t, s.Addr())
	bob.login("bob", "builder")
	bob.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	return p, bob
}

func ircServer(t *testing.T, cfg Config) *startedServer {
	cfg.IRCAddr = "127.0.0.1:0"
	return start(t, cfg)
}

// An IRC user and a wire-protocol user share a room, messages and private
// messages, and each sees the other enter and leave.
func TestIRCCrossProtocol(t *testing.T) {
	s := ircServer(t, Config{Guests: true})
	irc := dialIRC(t, s)
	irc.send("CAP LS 302")
	irc.expect(`^:chat\.server CAP \* LS :.*\bmulti-prefix\b`)
	irc.send("CAP REQ :multi-prefix")
	irc.expect(`^:chat\.server CAP \* ACK :multi-prefix$`)
	irc.send("CAP END")
	irc.register("alice", "wonderland")

	// alice made #lounge by joining it: she is its operator.
	irc.send("JOIN #lounge")
	irc.expect(`^:alice!alice@chat\.server JOIN :#lounge$`)
	irc.expect(` 353 alice = #lounge :@alice$`)
	irc.expect(` 366 alice #lounge `)

	bob := dial(t, s.Addr())
	bob.login("bob", "builder")
	if r := bob.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Code != wire.OK || !strings.Contains(r.Text, "with alice") {
		t.Fatalf("enter: %+v", r)
	}
	irc.expect(`^:bob!bob@chat\.server JOIN :#lounge$`)

	irc.send("PRIVMSG #lounge :hello bob")
	m := bob.expect(wire.TypeMessage, 0, "hello bob")
	if m.From != "alice" || m.Room != "lounge" {
		t.Errorf("message: %+v", m)
	}
	bob.call(&wire.Frame{Type: wire.TypeSay, Text: "hi alice"})
	irc.expect(`^:bob!bob@chat\.server PRIVMSG #lounge :hi alice$`)

	irc.send("PRIVMSG bob :psst")
	if p := bob.expect(wire.TypePrivate, 0, "psst"); p.From != "alice" {
		t.Errorf("private: %+v", p)
	}
	bob.call(&wire.Frame{Type: wire.TypeTell, To: "alice", Text: "yes?"})
	irc.expect(`^:bob!bob@chat\.server PRIVMSG alice :yes\?$`)

	irc.send("PRIVMSG #lounge :\x01ACTION waves\x01")
	bob.expect(wire.TypeMessage, 0, "/me waves")
	bob.call(&wire.Frame{Type: wire.TypeSay, Text: "/me bows"})
	irc.expect("^:bob!\\S+ PRIVMSG #lounge :\x01ACTION bows\x01$")

	irc.send("WHO #lounge", "WHOIS bob", "LIST", "NAMES #lounge", "TOPIC #lounge")
	irc.expect(` 352 alice #lounge alice \S+ \S+ alice H@ `)
	irc.expect(` 352 alice #lounge bob \S+ \S+ bob H `)
	irc.expect(` 315 alice #lounge `)
	irc.expect(` 311 alice bob bob chat\.server \* :bob$`)
	irc.expect(` 319 alice bob :#lounge$`)
	irc.expect(` 318 alice bob `)
	irc.expect(` 322 alice #lounge 2 `)
	irc.expect(` 323 alice `)
	irc.expect(` 353 alice = #lounge :@alice bob$`)
	irc.expect(` 331 alice #lounge :No topic is set$`)

	// A leave without words is a PART without them.
	bob.call(&wire.Frame{Type: wire.TypeLeave})
	irc.expect(`^:bob!\S+ PART :?#lounge$`)
	bob.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	irc.expect(`^:bob!\S+ JOIN :#lounge$`)

	irc.send("QUIT :off to tea")
	irc.expect(`^ERROR :Closing Link: alice \(Quit: off to tea\)$`)
	irc.expectClosed()
	n := bob.expect(wire.TypeNotice, wire.NoticeQuit, "")
	if n.Text != "alice left lounge (Quit: off to tea)" {
		t.Errorf("notice %q", n.Text)
	}
}

// A rooms user's long message reaches IRC as several lines within the
// limit that add up to it.
func TestIRCLongMessageIsSplit(t *testing.T) {
	s := ircServer(t, Config{})
	irc, bob := ircAndBobInLounge(t, s, "alice", "wonderland")
	text := strings.Repeat("ünïcödé and words ", 200)
	bob.call(&wire.Frame{Type: wire.TypeSay, Text: text})
	var got strings.Builder
	for got.Len() < len(text) {
		got.WriteString(irc.expect(`^:bob!\S+ PRIVMSG #lounge :(.*)$`)[1])
	}
	if got.String() != text {
		t.Errorf("pieces add up to %d bytes, want the %d sent", got.Len(), len(text))
	}
}

func TestIRCRegistrationErrors(t *testing.T) {
	t.Run("wrong password", func(t *testing.T) {
		s := ircServer(t, Config{})
		p := dialIRC(t, s)
		p.send("PASS nope", "NICK alice", "USER a 0 * :A")
		p.expect(` 464 alice :Password incorrect$`)
		p.expect(`^ERROR :Closing Link: `)
		p.expectClosed()
	})
	t.Run("no password without guests", func(t *testing.T) {
		s := ircServer(t, Config{})
		p := dialIRC(t, s)
		p.send("NICK zed", "USER z 0 * :Z")
		p.expect(` 464 \* :This server needs the password`)
		p.expectClosed()
	})
	t.Run("collisions and bad nicks", func(t *testing.T) {
		s := ircServer(t, Config{Guests: true})
		first := dialIRC(t, s)
		first.register("carol", "")
		p := dialIRC(t, s)
		p.send("JOIN #x")
		p.expect(` 451 \* :You have not registered$`)
		p.send("NICK carol", "USER c 0 * :C")
		p.expect(` 433 \* carol :Nickname is already in use$`)
		p.send("NICK alice")
		p.expect(` 433 \* alice :Nickname is registered`)
		p.send("NICK #bad", "NICK a,b", "NICK "+strings.Repeat("n", 21))
		p.expect(` 432 \* #bad `)
		p.expect(` 432 \* a,b `)
		p.expect(` 432 \* n{21} `)
		p.send("USER c 0 *")
		p.expect(` 461 \* USER :Not enough parameters$`)
		p.send("NICK dave", "USER d 0 * :D")
		p.expect(` 001 dave `)
		// A guest may take another free nick; an account's name stays.
		p.send("NICK other")
		p.expect(`^:dave!\S+ NICK :other$`)
		acct := dialIRC(t, s)
		acct.register("alice", "wonderland")
		acct.send("NICK alicia")
		acct.expect(` 447 alice alicia :Nick change refused: `)
	})
}

// Lines a peer gets wrong are answered and the connection goes on.
func TestIRCMalformedLines(t *testing.T) {
	s := ircServer(t, Config{Guests: true})
	p := dialIRC(t, s)
	p.register("eve", "")
	p.send("", "   ", ":lonely-prefix", "FROB x", "JOIN", "PRIVMSG", "PRIVMSG bob", "PRIVMSG #nowhere :x",
		"PART #nowhere", "JOIN lounge", "PRIVMSG nobody :x")
	p.send(strings.Repeat("A", 700))
	p.send("PRIVMSG eve :caf\xe9", "PING done")
	p.expect(` 421 eve FROB :Unknown command$`)
	p.expect(` 461 eve JOIN :Not enough parameters$`)
	p.expect(` 411 eve :No recipient given`)
	p.expect(` 412 eve :No text to send$`)
	p.expect(` 404 eve #nowhere `)
	p.expect(` 442 eve #nowhere `)
	p.expect(` 403 eve lounge `)
	p.expect(` 401 eve nobody `)
	p.expect(` 417 eve :Input line was too long$`)
	p.expect(`^:eve!\S+ PRIVMSG eve :café$`)
	p.expect(`^:chat\.server PONG chat\.server :done$`)
}

// A silent IRC peer is pinged, then cut with a Ping timeout; its room is
// told why contact was lost.
func TestIRCPingTimeout(t *testing.T) {
	s := ircServer(t, Config{Guests: true, PingInterval: 200 * time.Millisecond, PeerTimeout: 300 * time.Millisecond})
	p, bob := ircAndBobInLounge(t, s, "sleepy", "")
	// bob answers his pings while he waits; sleepy's lines wait in its
	// socket meanwhile.
	n := bob.expect(wire.TypeNotice, wire.NoticeLost, "")
	if !strings.HasPrefix(n.Text, "contact with sleepy was lost (ping timeout: no sign of life for ") {
		t.Errorf("notice %q", n.Text)
	}
	p.expect(`^PING :chat\.server$`)
	p.expect(`^ERROR :Closing Link: sleepy \(Ping timeout: `)
	p.expectClosed()
}

// Shutdown: a NOTICE, then ERROR, then the connection closes.
func TestIRCShutdown(t *testing.T) {
	s := ircServer(t, Config{Guests: true})
	p := dialIRC(t, s)
	p.register("zoe", "")
	go s.Shutdown()
	p.expect(`^:chat\.server NOTICE zoe :the server is shutting down$`)
	p.expect(`^ERROR :Closing Link: zoe \(the server is shutting down\)$`)
	p.expectClosed()
}

// A second JOIN keeps the first channel: a user is in several rooms at
// once, until JOIN 0 parts them all.
func TestIRCSeveralChannels(t *testing.T) {
	s := ircServer(t, Config{Guests: true})
	p := dialIRC(t, s)
	p.register("gus", "")
	watcher := dialIRC(t, s)
	watcher.register("wat", "")
	watcher.send("JOIN #a")
	watcher.expect(` 366 wat #a `)
	p.send("JOIN #a")
	p.expect(` 366 gus #a `)
	watcher.expect(`^:gus!\S+ JOIN :#a$`)
	p.send("JOIN #b,#c")
	p.expect(`^:gus!\S+ JOIN :#b$`)
	p.expect(` 353 gus = #b :@gus$`)
	p.expect(` 366 gus #b `)
	p.expect(`^:gus!\S+ JOIN :#c$`)
	p.expect(` 366 gus #c `)
	p.send("PRIVMSG #a :still there?")
	watcher.expect(`^:gus!\S+ PRIVMSG #a :still there\?$`)
	p.send("JOIN 0")
	p.expect(`^:gus!\S+ PART :?#a$`)
	p.expect(`^:gus!\S+ PART :?#b$`)
	p.expect(`^:gus!\S+ PART :?#c$`)
	watcher.expect(`^:gus!\S+ PART :?#a$`)
	p.send("PRIVMSG #a :and now?")
	p.expect(` 404 gus #a `)
}

// A file asked of an IRC user is refused at once: IRC cannot send it.
func TestIRCFileRequestRefused(t *testing.T) {
	s := ircServer(t, Config{Guests: true})
	p := dialIRC(t, s)
	p.register("ivy", "")
	bob := dial(t, s.Addr())
	bob.login("bob", "builder")
	if r := bob.call(&wire.Frame{Type: wire.TypeFetch, To: "ivy", Name: "notes.txt"}); r.Code != wire.OK {
		t.Fatalf("fetch: %+v", r)
	}
	f := bob.expect(wire.TypeFileFailed, wire.ErrNoSuchFile, "")
	if !strings.Contains(f.Text, "IRC") {
		t.Errorf("failure text %q", f.Text)
	}
	p.expect(`NOTICE ivy :bob asked you for the file notes\.txt; files cannot be sent over IRC$`)
}

// Logging in over IRC as an account connected elsewhere takes that
// session over, room included.
func TestIRCTakeover(t *testing.T) {
	s := ircServer(t, Config{})
	old := dial(t, s.Addr())
	old.login("alice", "wonderland")
	old.call(&wire.Frame{Type: wire.TypeCreate, Room: "den"})
	old.call(&wire.Frame{Type: wire.TypeEnter, Room: "den"})
	p := dialIRC(t, s)
	p.register("alice", "wonderland")
	p.expect(`^:alice!\S+ JOIN :#den$`)
	p.expect(` 353 alice = #den :@alice$`)
	old.expect(wire.TypeBye, wire.ByeTakeover, "")
}

// A broadcast (mode menu) reaches an IRC user as a notice from its sender,
// addressed to that user, and a room message to several IRC members is
// the same line for each.
func TestIRCBroadcastAndSharedRoomMessage(t *testing.T) {
	s := ircServer(t, Config{Guests: true})
	a, bob := ircAndBobInLounge(t, s, "ann", "")
	b := dialIRC(t, s)
	b.register("ben", "")
	b.send("JOIN #lounge")
	b.expect(` 366 ben #lounge `)
	bob.expect(wire.TypeNotice, wire.NoticeEntered, "ben entered lounge")
	bob.call(&wire.Frame{Type: wire.TypeBroadcast, Text: "hello everyone"})
	a.expect(`^:bob!\S+ NOTICE ann :hello everyone$`)
	b.expect(`^:bob!\S+ NOTICE ben :hello everyone$`)
	bob.call(&wire.Frame{Type: wire.TypeSay, Text: "to the room"})
	a.expect(`^:bob!\S+ PRIVMSG #lounge :to the room$`)
	b.expect(`^:bob!\S+ PRIVMSG #lounge :to the room$`)
}
