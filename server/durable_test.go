package server

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"

	"chat/internal/store"
	"chat/internal/wire"
)

// With a state directory the messages are kept in the embedded store: a
// restarted server has the rooms, their numbers and their messages, and
// private messages kept for an absent account are delivered at its login.
func TestServerStoreKeepsMessagesAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder", "carol": "singer"})
	s := start(t, Config{UsersFile: users, StateDir: dir})
	a := dial(t, s.Addr())
	a.login("alice", "wonderland")
	a.call(&wire.Frame{Type: wire.TypeCreate, Room: "lounge"})
	a.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	for i, text := range []string{"one", "two", "three"} {
		if r := a.call(&wire.Frame{Type: wire.TypeSay, Text: text}); r.Code != wire.OK || r.Seq != uint64(i+1) {
			t.Fatalf("say %s: %+v", text, r)
		}
	}
	if r := a.call(&wire.Frame{Type: wire.TypeTell, To: "carol", Text: "are you there?"}); r.Code != wire.OK ||
		!strings.Contains(r.Text, "carol is not connected; the message is kept") {
		t.Fatalf("tell carol: %+v", r)
	}
	if r := a.call(&wire.Frame{Type: wire.TypeTell, To: "nobody", Text: "hi"}); r.Code != wire.ErrNoSuchUser {
		t.Fatalf("tell an unknown name: %+v", r)
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "nats")); err != nil {
		t.Fatalf("the store's files: %v", err)
	}

	s2 := start(t, Config{UsersFile: users, StateDir: dir})
	b := dial(t, s2.Addr())
	b.login("bob", "builder")
	if r := b.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Code != wire.OK || r.Seq != 3 {
		t.Fatalf("enter after restart: %+v", r)
	}
	id := b.send(&wire.Frame{Type: wire.TypeHistory, Room: "lounge"})
	for _, text := range []string{"one", "two", "three"} {
		if m := b.must(); m.Type != wire.TypeMessage || m.Text != text || m.From != "alice" {
			t.Fatalf("replayed %+v, want %s", m, text)
		}
	}
	if r := b.expectReply(id, wire.OK); r.Count != 3 || strings.Contains(r.Text, "restarted") {
		t.Fatalf("history reply: %+v", r)
	}
	a2 := dial(t, s2.Addr())
	a2.login("alice", "wonderland")
	a2.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	b.expect(wire.TypeNotice, wire.NoticeEntered, "")
	if r := a2.call(&wire.Frame{Type: wire.TypeSay, Text: "four"}); r.Seq != 4 {
		t.Fatalf("say after restart: %+v", r)
	}
	if m := b.must(); m.Text != "four" || m.Seq != 4 {
		t.Fatalf("bob got %+v", m)
	}

	c := dial(t, s2.Addr())
	if r := c.login("carol", "singer"); r.Code != wire.OK {
		t.Fatalf("carol: %+v", r)
	}
	c.expect(wire.TypeNotice, wire.NoticeInfo, "1 private message while you were away")
	if p := c.must(); p.Type != wire.TypePrivate || p.From != "alice" || p.Text != "are you there?" {
		t.Fatalf("kept message: %+v", p)
	}
	// Delivered once: the next login finds none.
	c.call(&wire.Frame{Type: wire.TypeLogout})
	c2 := dial(t, s2.Addr())
	c2.login("carol", "singer")
	if r := c2.call(&wire.Frame{Type: wire.TypeWho}); r.Code != wire.OK {
		t.Fatalf("who after the second login (no kept messages before it): %+v", r)
	}
}

// startNATS runs a NATS server with JetStream in this process, on a free
// port of loopback (port, when not 0, to come back where it was), its
// files in dir.
func startNATS(t *testing.T, dir string, port int) *natsserver.Server {
	t.Helper()
	if port == 0 {
		port = -1 // a free one
	}
	ns, err := natsserver.NewServer(&natsserver.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// With -nats the messages are on an external NATS. While it is down a
// message is refused with a clear error and shown to nobody, the rest of
// the server works, and once NATS is back messages go through again
// without a restart of the chat server.
func TestServerExternalNATSOutage(t *testing.T) {
	dir := t.TempDir()
	ns := startNATS(t, dir, 0)
	port := ns.Addr().(*net.TCPAddr).Port
	s := start(t, Config{NATS: []string{ns.ClientURL()}, MsgRate: -1})
	a, b := aliceAndBobInLounge(t, s)
	if r := a.call(&wire.Frame{Type: wire.TypeSay, Text: "before"}); r.Code != wire.OK || r.Seq != 1 {
		t.Fatalf("say: %+v", r)
	}
	b.expect(wire.TypeMessage, 0, "before")

	ns.Shutdown()
	ns.WaitForShutdown()
	r := a.call(&wire.Frame{Type: wire.TypeSay, Text: "during"})
	if r.Code != wire.ErrUnavailable || !strings.Contains(r.Text, "your message was not sent: the server cannot store messages right now") {
		t.Fatalf("say while NATS is down: %+v", r)
	}
	if r := b.call(&wire.Frame{Type: wire.TypeWho}); r.Code != wire.OK {
		t.Fatalf("who while NATS is down: %+v (bob was shown the refused message?)", r)
	}
	waitFor(t, "the outage in the log", func() bool { return s.logs.has("message store: %s") })

	startNATS(t, dir, port)
	waitFor(t, "a message stored again", func() bool {
		r := a.call(&wire.Frame{Type: wire.TypeSay, Text: "after"})
		return r.Code == wire.OK
	})
	if m := b.must(); m.Type != wire.TypeMessage || m.Text != "after" {
		t.Fatalf("bob got %+v, not the message said after the outage", m)
	}
	waitFor(t, "the recovery in the log", func() bool { return s.logs.has("message store: works again") })
}

// has reports whether a line of the format was logged.
func (l *logBuf) has(format string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.lines, format)
}

// A store bounded by -store-max-bytes gets a rooms' history that fits in
// it, and a history given larger than the store is refused with both.
func TestServerStoreBoundsFit(t *testing.T) {
	users := writeUsers(t, t.TempDir(), nil)
	s, err := New(Config{Addr: "127.0.0.1:0", UsersFile: users, StateDir: t.TempDir(), StoreMaxBytes: 256 << 10})
	if err != nil {
		t.Fatalf("a small store: %v", err)
	}
	s.closeFds()
	s.closeStore()
	_, err = New(Config{Addr: "127.0.0.1:0", UsersFile: users, StateDir: t.TempDir(), StoreMaxBytes: 256 << 10, HistoryBytes: 1 << 20})
	if err == nil || !strings.Contains(err.Error(), "-history-bytes 1048576") || !strings.Contains(err.Error(), "-store-max-bytes 262144") {
		t.Fatalf("history larger than the store: %v", err)
	}
}

// With a store an IRC user's PRIVMSG to an account that is not connected
// is kept, and the IRC client is told so as it is told of an away user
// (301); the account, logging in over IRC, gets it as a PRIVMSG with the
// time it was sent.
func TestIRCPrivateMessageKeptForAnAccount(t *testing.T) {
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder"})
	s := ircServer(t, Config{UsersFile: users, StateDir: t.TempDir()})
	alice := dialIRC(t, s)
	alice.register("alice", "wonderland")
	alice.send("PRIVMSG bob :see you tomorrow")
	alice.expect(` 301 alice bob :not connected; the message is kept for their next login$`)
	alice.send("PRIVMSG nobody :hello?")
	alice.expect(` 401 alice nobody `)

	bob := dialIRC(t, s)
	bob.send("CAP LS 302", "CAP REQ :server-time", "CAP END")
	bob.register("bob", "builder")
	bob.expect(`:chat\.server NOTICE bob :1 private message while you were away$`)
	bob.expect(`^@time=\S+ :alice!\S+ PRIVMSG bob :see you tomorrow$`)
}

// A stored room message's sender is answered only once the members here
// were shown it: what the sender does next (a private word to a member)
// comes after the message, although the store's stream, not the sender's
// answer, is what shows it. The stream here lags behind the store's
// answers, as it does on a loaded machine.
func TestStoredMessageShownBeforeItsSenderGoesOn(t *testing.T) {
	s := startTuned(t, Config{StateDir: t.TempDir()}, func(s *Server) {
		d := s.durable
		d.follow()
		var err error
		d.follow, err = d.st.Follow(0, func(m store.Stored, err error) {
			time.Sleep(20 * time.Millisecond) // the lag, not a wait
			d.deliver(s, m, err)
		})
		if err != nil {
			t.Fatal(err)
		}
	})
	a, b := aliceAndBobInLounge(t, s)
	for i := range 10 {
		text := fmt.Sprint("message ", i)
		if r := a.call(&wire.Frame{Type: wire.TypeSay, Text: text}); r.Code != wire.OK {
			t.Fatalf("say: %+v", r)
		}
		a.call(&wire.Frame{Type: wire.TypeTell, To: "bob", Text: "did you see it?"})
		if m := b.must(); m.Type != wire.TypeMessage || m.Text != text {
			t.Fatalf("bob was shown %+v before the room message %q", m, text)
		}
		if p := b.must(); p.Type != wire.TypePrivate {
			t.Fatalf("bob was shown %+v, want the private message", p)
		}
	}
}

// A page of history the store cannot read for a moment (NATS restarting,
// a leader being elected) is read again until it can, within
// readPatience: refused at once, a client resuming after a cut would miss
// what it asked for.
func TestHistoryReadWaitsOutAStoreOutage(t *testing.T) {
	dir := t.TempDir()
	ns := startNATS(t, dir, 0)
	port := ns.Addr().(*net.TCPAddr).Port
	cfg := Config{NATS: []string{ns.ClientURL()}, MsgRate: -1}
	s1 := start(t, cfg)
	a, _ := aliceAndBobInLounge(t, s1)
	for _, text := range []string{"one", "two"} {
		if r := a.call(&wire.Frame{Type: wire.TypeSay, Text: text}); r.Code != wire.OK {
			t.Fatalf("say %s: %+v", text, r)
		}
	}
	if err := s1.stop(t); err != nil {
		t.Fatal(err)
	}
	// A new server holds nothing of the room's history in memory: a page
	// of it is the store's to read.
	s2 := start(t, cfg)
	b := dial(t, s2.Addr())
	b.login("bob", "builder")
	ns.Shutdown()
	ns.WaitForShutdown()
	id := b.send(&wire.Frame{Type: wire.TypeHistory, Room: "lounge", Code: wire.HistoryBefore, Count: 10})
	waitFor(t, "the page refused by the store at least once", func() bool {
		return s2.logs.has("message store: reading the history of %s again until it answers: %v")
	})
	startNATS(t, dir, port)
	var texts []string
	for {
		f := b.must()
		if f.Type == wire.TypeMessage {
			texts = append(texts, f.Text)
			continue
		}
		if f.Type == wire.TypeReply && f.ID == id {
			if f.Code != wire.OK {
				t.Fatalf("the page: %+v", f)
			}
			break
		}
	}
	if !slices.Equal(texts, []string{"one", "two"}) {
		t.Fatalf("the page showed %q", texts)
	}
}
