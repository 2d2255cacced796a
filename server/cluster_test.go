package server

import (
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"chat/internal/store"
	"chat/internal/wire"
	"chat/server/hub"
)

// Two servers on one NATS are one chat: a room spans them, its messages
// and notices reach every member, a name is held once, a login to an
// account held on the other server takes it over there, and a private
// message reaches a user of the other server.
func TestClusterTwoServersAreOneChat(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder"})
	cfg := Config{NATS: []string{ns.ClientURL()}, UsersFile: users, Guests: true}
	cfg.ServerName = "one"
	s1 := start(t, cfg)
	cfg.ServerName = "two"
	s2 := start(t, cfg)

	a, b := dial(t, s1.Addr()), dial(t, s2.Addr())
	a.login("alice", "wonderland")
	b.login("bob", "builder")
	a.call(&wire.Frame{Type: wire.TypeCreate, Room: "lounge"})
	a.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	waitFor(t, "alice in lounge, seen from the other server", func() bool {
		r := b.call(&wire.Frame{Type: wire.TypeWho, Room: "lounge"})
		return r.Code == wire.OK && len(r.Users) == 1
	})
	if r := b.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Code != wire.OK || !strings.Contains(r.Text, "with alice") {
		t.Fatalf("bob entered: %+v", r)
	}
	a.expect(wire.TypeNotice, wire.NoticeEntered, "bob entered lounge")
	if r := b.call(&wire.Frame{Type: wire.TypeSay, Text: "hello from two"}); r.Code != wire.OK {
		t.Fatalf("say on two: %+v", r)
	}
	a.expect(wire.TypeMessage, 0, "hello from two")
	if r := a.call(&wire.Frame{Type: wire.TypeSay, Text: "hello from one"}); r.Code != wire.OK {
		t.Fatalf("say on one: %+v", r)
	}
	b.expect(wire.TypeMessage, 0, "hello from one")

	if r := a.call(&wire.Frame{Type: wire.TypeTell, To: "bob", Text: "psst"}); r.Code != wire.OK {
		t.Fatalf("tell bob on two: %+v", r)
	}
	if p := b.must(); p.Type != wire.TypePrivate || p.Text != "psst" || p.From != "alice" {
		t.Fatalf("bob got %+v", p)
	}

	g := dial(t, s1.Addr())
	g.send(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	g.must()
	if r := g.call(&wire.Frame{Type: wire.TypeClaim, Name: "guest"}); r.Code != wire.OK {
		t.Fatalf("guest on one: %+v", r)
	}
	g2 := dial(t, s2.Addr())
	g2.send(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	g2.must()
	if r := g2.call(&wire.Frame{Type: wire.TypeClaim, Name: "guest"}); r.Code != wire.ErrNameTaken {
		t.Fatalf("the same guest name on two: %+v", r)
	}

	a2 := dial(t, s2.Addr())
	if r := a2.login("alice", "wonderland"); r.Code != wire.OK || r.Room != "lounge" || !strings.Contains(r.Text, "taken over") {
		t.Fatalf("alice again, on two: %+v", r)
	}
	if f := a.must(); f.Type != wire.TypeBye || f.Code != wire.ByeTakeover {
		t.Fatalf("alice's session on one got %+v", f)
	}
	if r := b.call(&wire.Frame{Type: wire.TypeSay, Text: "still there?"}); r.Code != wire.OK {
		t.Fatalf("say: %+v", r)
	}
	a2.expect(wire.TypeMessage, 0, "still there?")
	if r := b.call(&wire.Frame{Type: wire.TypeWho, Room: "lounge"}); len(r.Users) != 2 {
		t.Fatalf("who on two: %+v", r.Users)
	}
}

// A private message kept on one server for an absent account is delivered
// when it logs in on another.
func TestClusterKeptMessageDeliveredOnAnotherServer(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "carol": "singer"})
	cfg := Config{NATS: []string{ns.ClientURL()}, UsersFile: users}
	cfg.ServerName = "one"
	s1 := start(t, cfg)
	cfg.ServerName = "two"
	s2 := start(t, cfg)
	a := dial(t, s1.Addr())
	a.login("alice", "wonderland")
	if r := a.call(&wire.Frame{Type: wire.TypeTell, To: "carol", Text: "see you later"}); r.Code != wire.OK || !strings.Contains(r.Text, "is not connected; the message is kept") {
		t.Fatalf("tell carol: %+v", r)
	}
	c := dial(t, s2.Addr())
	if r := c.login("carol", "singer"); r.Code != wire.OK {
		t.Fatalf("carol on two: %+v", r)
	}
	c.expect(wire.TypeNotice, wire.NoticeInfo, "1 private message while you were away")
	if p := c.must(); p.Type != wire.TypePrivate || p.Text != "see you later" {
		t.Fatalf("kept message: %+v", p)
	}
}

// A server cut off from NATS for its lease closes its sessions, whose
// names others may now give out, and takes a new lease when NATS is back:
// logins work again.
func TestClusterNodeCutOffClosesSessionsAndComesBack(t *testing.T) {
	dir := t.TempDir()
	ns := startNATS(t, dir, 0)
	port := ns.Addr().(*net.TCPAddr).Port
	cfg := Config{NATS: []string{ns.ClientURL()}, Lease: 2 * time.Second, ServerName: "one"}
	s := start(t, cfg)
	a := dial(t, s.Addr())
	a.login("alice", "wonderland")
	ns.Shutdown()
	ns.WaitForShutdown()
	for {
		f := a.must()
		if f.Type == wire.TypeBye {
			if f.Code != wire.ByeShutdown || !strings.Contains(f.Text, "lost contact with the rest of the chat") {
				t.Fatalf("bye: %+v", f)
			}
			break
		}
	}
	waitFor(t, "the loss in the log", func() bool {
		return s.logs.has("cluster: node %s lost its lease (%v): closing its sessions, whose names other servers may now give out")
	})
	startNATS(t, dir, port)
	waitFor(t, "a new lease", func() bool { return s.logs.has("cluster: node %s has a lease again") })
	a2 := dial(t, s.Addr())
	if r := a2.login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("login after the cut: %+v", r)
	}
}

// A node that lost its lease and took a new one keeps what its sessions
// since hold: the node cleaning up after the loss takes as lost only the
// sessions before the new lease's first.
func TestClusterLostOnlyTheSessionsBeforeTheNewLease(t *testing.T) {
	held := func() map[string]store.Owner {
		return map[string]store.Owner{
			"alice": {Node: "one", Session: 3}, "bob": {Node: "one", Session: 9},
			"carol": {Node: "one", Session: 10}, "dave": {Node: "one", Session: 12},
		}
	}
	lease := func(from hub.SessionID) []byte {
		b, _ := json.Marshal(leaseInfo{Node: "one", Started: 1, SessionsFrom: from})
		return b
	}
	for _, c := range []struct {
		what  string
		lease []byte
		back  bool
		lost  []string
	}{
		{"no lease: every session was lost", nil, false, []string{"alice", "bob", "carol", "dave"}},
		{"a new lease from session 10", lease(10), true, []string{"alice", "bob"}},
		{"a lease kept all along (from 0)", lease(0), true, nil},
	} {
		names := held()
		back, err := lostOnly(names, c.lease)
		var lost []string
		for name := range names {
			lost = append(lost, name)
		}
		slices.Sort(lost)
		if err != nil || back != c.back || !slices.Equal(lost, c.lost) {
			t.Errorf("%s: back %v, lost %q, %v; want back %v, lost %q", c.what, back, lost, err, c.back, c.lost)
		}
	}
	names := held()
	if _, err := lostOnly(names, []byte("{")); err == nil || len(names) != 4 {
		t.Errorf("a lease that cannot be read: %v, names %v", err, names)
	}
}

// A dead node's cleanup reaches every one of its users, however many: its
// names, members and notices go to the store a window at a time, none
// dropped for a full queue (the store's queues hold about a thousand).
func TestClusterCleanupAfterANodeOfThousands(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	cfg := Config{NATS: []string{ns.ClientURL()}, Lease: 2 * time.Second, ServerName: "one"}
	s1 := start(t, cfg)
	a := dial(t, s1.Addr())
	a.login("alice", "wonderland")
	for _, f := range []wire.Frame{{Type: wire.TypeCreate, Room: "lounge"}, {Type: wire.TypeEnter, Room: "lounge"}, {Type: wire.TypeLeave, Room: "lounge"}} {
		if r := a.call(&f); r.Code != wire.OK {
			t.Fatalf("%v: %+v", f.Type, r)
		}
	}

	// Another node's users, as it recorded them: their names and their
	// membership of lounge.
	dead, err := store.Open(store.Config{URLs: []string{ns.ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	const node, users = "gone-1", 1500
	stopLease, err := dead.KeepLease(node, []byte(`{"node":"gone-1"}`), 2*time.Second, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	var record []func(done func()) error
	for i := range users {
		name := fmt.Sprintf("user%04d", i)
		record = append(record, func(done func()) error {
			return dead.ClaimName(name, store.Owner{Node: node, Session: int64(i + 1)}, func(held *store.Owner, err error) {
				if err != nil || held != nil {
					t.Errorf("claim %s: held by %v, %v", name, held, err)
				}
				done()
			})
		}, func(done func()) error {
			return dead.PutMember("lounge", name, node, func(err error) {
				if err != nil {
					t.Errorf("member %s: %v", name, err)
				}
				done()
			})
		})
	}
	if err := paced(record); err != nil {
		t.Fatal(err)
	}

	// A server started now has them in lounge; then their node dies.
	cfg.ServerName = "two"
	s2 := start(t, cfg)
	b := dial(t, s2.Addr())
	b.login("bob", "builder")
	if r := b.call(&wire.Frame{Type: wire.TypeWho, Room: "lounge"}); r.Code != wire.OK || len(r.Users) != users {
		t.Fatalf("who lounge on two, before: %d users, %+v", len(r.Users), r.Code)
	}
	stopLease()
	// Its lease, the grace for its users to come back, a notice each.
	gone := "cluster: node %s is gone: %s lost, the others came back elsewhere or were in no room"
	waitWithin(t, time.Minute, "the cleanup after the dead node", func() bool { return s1.logs.has(gone) || s2.logs.has(gone) })
	waitFor(t, "every user of the dead node out of lounge", func() bool {
		r := b.call(&wire.Frame{Type: wire.TypeWho, Room: "lounge"})
		return r.Code == wire.OK && len(r.Users) == 0
	})
	if n := countOf(t, dead, node, true); n != 0 {
		t.Errorf("%d members of the dead node still recorded", n)
	}
	if n := countOf(t, dead, node, false); n != 0 {
		t.Errorf("%d names still held by the dead node", n)
	}
}

// A login for a name held by a node that does not answer waits for the
// node's lease to end, and completes as soon as the watch sees it end:
// not at its next ask, here an hour away.
func TestClusterLoginWaitingForADeadNodeEndsWithItsLease(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	s := startTuned(t, Config{NATS: []string{ns.ClientURL()}, ServerName: "one"}, func(s *Server) { s.cluster.retry = time.Hour })

	// Another node holds alice, and serves no takeovers.
	dead, err := store.Open(store.Config{URLs: []string{ns.ClientURL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	const node = "gone-1"
	stopLease, err := dead.KeepLease(node, []byte(`{"node":"gone-1"}`), 10*time.Second, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	claimed := make(chan error, 1)
	if err := dead.ClaimName("alice", store.Owner{Node: node, Session: 1}, func(held *store.Owner, err error) { claimed <- err }); err != nil {
		t.Fatal(err)
	}
	if err := <-claimed; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "alice held by the other node, seen by the server", func() bool {
		s.cluster.mu.Lock()
		defer s.cluster.mu.Unlock()
		return s.cluster.alive[node]
	})

	a := dial(t, s.Addr())
	if r := a.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version}); r.Code != wire.OK {
		t.Fatalf("hello: %+v", r)
	}
	id := a.send(&wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "wonderland"})
	waitFor(t, "the login waiting to ask the silent node again", func() bool {
		s.cluster.mu.Lock()
		defer s.cluster.mu.Unlock()
		w := s.cluster.watched[node]
		return w != nil && len(w.asleep) == 1
	})
	stopLease()
	if r := a.must(); r.Type != wire.TypeReply || r.ID != id || r.Code != wire.OK {
		t.Fatalf("the login, once the lease ended: %+v", r)
	}
}

// The Enters of a room that arrive together, as those of a dead node's
// users coming back on this one do, share the read of the room's last
// stored message they wait for: far fewer reads than Enters, and each
// answered with that message's Seq.
func TestClusterEntersShareTheReadOfTheRoomsLast(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	s := start(t, Config{NATS: []string{ns.ClientURL()}, Guests: true, ServerName: "one"})
	a := dial(t, s.Addr())
	a.login("alice", "wonderland")
	var last uint64
	for _, f := range []wire.Frame{{Type: wire.TypeCreate, Room: "lounge"}, {Type: wire.TypeEnter, Room: "lounge"}, {Type: wire.TypeSay, Text: "the last"}} {
		r := a.call(&f)
		if r.Code != wire.OK {
			t.Fatalf("%v: %+v", f.Type, r)
		}
		last = r.Seq
	}

	const enters = 40
	var guests []*client
	for i := range enters {
		g := dial(t, s.Addr())
		if r := g.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version}); r.Code != wire.OK {
			t.Fatalf("hello: %+v", r)
		}
		if r := g.call(&wire.Frame{Type: wire.TypeClaim, Name: fmt.Sprint("guest", i)}); r.Code != wire.OK {
			t.Fatalf("guest %d: %+v", i, r)
		}
		guests = append(guests, g)
	}
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	// The store's gets, direct or from the leader, of the rooms stream.
	gets, err := nc.SubscribeSync("$JS.API.*.GET.ROOMS.>")
	if err != nil {
		t.Fatal(err)
	}
	leader, err := nc.SubscribeSync("$JS.API.STREAM.MSG.GET.ROOMS")
	if err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}

	ids := make([]uint32, enters)
	for i, g := range guests {
		ids[i] = g.send(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	}
	for i, g := range guests {
		for {
			f := g.must()
			if f.Type != wire.TypeReply {
				continue // the others' entering
			}
			if f.ID != ids[i] || f.Code != wire.OK || f.Seq != last {
				t.Fatalf("guest %d entered: %+v, want Seq %d", i, f, last)
			}
			break
		}
	}
	// Every get was sent before the reply it led to, and this connection
	// has them all once the server answered a ping sent after the replies.
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	n1, _, _ := gets.Pending()
	n2, _, _ := leader.Pending()
	if n := n1 + n2; n == 0 || n > enters/2 {
		t.Errorf("%d Enters made %d reads of the room's last message; want some, and far fewer", enters, n)
	}
}

// countOf counts what st has of node: its members, or the names it holds.
func countOf(t *testing.T, st *store.Store, node string, members bool) int {
	t.Helper()
	n := make(chan int, 1)
	var err error
	if members {
		err = st.MembersOf(node, func(m []store.Member, err error) {
			if err != nil {
				t.Error(err)
			}
			n <- len(m)
		})
	} else {
		err = st.NamesOf(node, func(names map[string]store.Owner, err error) {
			if err != nil {
				t.Error(err)
			}
			n <- len(names)
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return <-n
}
