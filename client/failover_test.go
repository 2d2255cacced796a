package client

import (
	"context"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// These tests run the whole client against several fake servers: it fails
// over from one to the next (servers.go).

// newFakeServerAt is newFakeServer listening on addr.
func newFakeServerAt(t *testing.T, addr string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	s := &fakeServer{t: t, ln: ln, addr: ln.Addr().String(), conns: make(chan *peer, 4)}
	go s.accept(ln)
	t.Cleanup(func() { s.ln.Close() })
	return s
}

// noConnection checks that the client has not connected to s.
func (s *fakeServer) noConnection(why string) {
	s.t.Helper()
	select {
	case p := <-s.conns:
		p.c.Close()
		s.t.Errorf("the client connected to %s: %s", s.addr, why)
	default:
	}
}

// TestFailover: the client given two servers logs in on the first; when
// that one goes, it reconnects to the second, logs in again with the
// remembered password and re-enters its room (which the second server
// does not have: it makes it again), and stays there while the first
// comes back. When the second goes, it goes back to the first, whose room
// (as a cluster's node would have it) says what was missed: it is asked
// for from the last message seen, and shown once.
func TestFailover(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	in, out, done := runClientConfig(t, Config{Servers: []string{a.addr, b.addr}, Mode: roomsMode{}})
	typeLine(t, in, "login alice")
	typeLine(t, in, "secret")
	typeLine(t, in, "enter lounge")
	p := a.next()
	p.hello()
	out.waitFor(t, "connected to "+a.addr+"\n")
	p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	p.answer(wire.TypeEnter, "you entered lounge", func(f *wire.Frame) { f.Room, f.Seq = "lounge", 3 })
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "on a", Seq: 4})
	out.waitFor(t, " on a\n")

	// A goes.
	a.stop()
	p.c.Close()
	out.waitFor(t, "connection to "+a.addr+" lost: the server closed the connection; reconnecting in ")
	p = b.next()
	p.hello()
	login := p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	if login.Name != "alice" || login.Secret != "secret" {
		t.Errorf("re-login on b %q/%q, want the remembered credentials", login.Name, login.Secret)
	}
	enter := p.expect(wire.TypeEnter)
	p.send(wire.Frame{Type: wire.TypeReply, ID: enter.ID, Code: wire.ErrNoSuchRoom, Text: "no room named lounge"})
	p.answer(wire.TypeCreate, "created room lounge")
	p.answer(wire.TypeEnter, "you entered lounge", func(f *wire.Frame) { f.Room, f.Seq = "lounge", 0 })
	for _, want := range []string{"reconnected to " + b.addr + "\n", "logged in as alice again", "lounge was gone from the server: created it again", "back in lounge"} {
		out.waitFor(t, want)
	}

	// A comes back; the client stays on B.
	a.restart()
	typeLine(t, in, "still on b")
	if say := p.answer(wire.TypeSay, ""); say.Text != "still on b" {
		t.Errorf("said %q on b", say.Text)
	}
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "on b", Seq: 1})
	out.waitFor(t, " on b\n")
	a.noConnection("it was on b, which still served it")

	// B goes: back to A, which has the room, and two messages said since
	// the last one seen on B.
	p.c.Close()
	out.waitFor(t, "connection to "+b.addr+" lost: the server closed the connection; reconnecting in ")
	p = a.next()
	p.hello()
	p.answer(wire.TypeLogin, "welcome alice")
	p.answer(wire.TypeEnter, "you entered lounge", func(f *wire.Frame) { f.Room, f.Seq = "lounge", 3 })
	hist := p.expect(wire.TypeHistory)
	if hist.Room != "lounge" || hist.Seq != 1 {
		t.Errorf("history of %q after %d, want lounge after 1", hist.Room, hist.Seq)
	}
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "missed two", Seq: 2})
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "missed three", Seq: 3})
	p.send(wire.Frame{Type: wire.TypeReply, ID: hist.ID, Text: "2 messages from lounge", Room: "lounge", Seq: 3, Count: 2})
	out.waitFor(t, "reconnected to "+a.addr+"\n")
	out.waitFor(t, " (missed) missed two\nbob ")
	out.waitFor(t, " (missed) missed three\n")
	out.waitFor(t, "missed while disconnected: 2 messages from lounge (shown above)")

	in.Close()
	p.answer(wire.TypeLogout, "bye")
	exitsWith(t, done, out, ExitOK)
	if n := strings.Count(out.String(), "Password"); n != 0 {
		t.Errorf("asked for the password %d times", n)
	}
}

// TestFailoverAtStart: a first server that refuses connections costs no
// pause: the second is tried at once. A round of refusals pauses.
func TestFailoverAtStart(t *testing.T) {
	a, b := newFakeServer(t), newFakeServer(t)
	a.stop()
	b.stop()
	in, out, done := runClientConfig(t, Config{Servers: []string{a.addr, b.addr}, Mode: roomsMode{}})
	out.waitFor(t, "cannot connect to "+a.addr+": connection refused; trying "+b.addr+"\n")
	out.waitFor(t, "cannot connect to "+b.addr+": connection refused; retrying in ")
	b.restart()
	p := b.next()
	p.hello()
	out.waitFor(t, "connected to "+b.addr+"\n")
	if strings.Contains(out.String(), "reconnected") {
		t.Errorf("the first connection was reported as a reconnection:\n%s", out.String())
	}
	in.Close()
	p.answer(wire.TypeLogout, "bye")
	exitsWith(t, done, out, ExitOK)
}

// TestFailoverAcrossAddresses: a host name with several addresses is a
// server for each: the client goes from one to the next, and says which.
func TestFailoverAcrossAddresses(t *testing.T) {
	first := newFakeServer(t)
	_, port, _ := net.SplitHostPort(first.addr)
	second := newFakeServerAt(t, "127.0.0.2:"+port)
	lookup := func(_ context.Context, host string) ([]netip.Addr, error) {
		if host != "chat.test" {
			t.Errorf("looked up %q", host)
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}, nil
	}
	addr := "chat.test:" + port
	in, out, done := runClientConfig(t, Config{Servers: []string{addr}, Mode: roomsMode{}, LookupHost: lookup})
	p := first.next()
	p.hello()
	out.waitFor(t, "connected to "+addr+" (127.0.0.1)\n")
	p.c.Close()
	out.waitFor(t, "connection to "+addr+" (127.0.0.1) lost: ")
	p = second.next()
	p.hello()
	out.waitFor(t, "reconnected to "+addr+" (127.0.0.2)\n")
	in.Close()
	p.answer(wire.TypeLogout, "bye")
	exitsWith(t, done, out, ExitOK)
}

// TestInputEndedTriesEveryServer: with the input at its end, a client
// that never connected still tries every server of the round before it
// gives up.
func TestInputEndedTriesEveryServer(t *testing.T) {
	c := newClient(Config{Servers: []string{"127.0.0.1:1", "127.0.0.1:2"}, Now: func() time.Time { return time.Unix(0, 0) }}, false)
	c.stdinEOF = true
	c.queue = []request{{frame: wire.Frame{Type: wire.TypeWho}}}
	c.server, _ = c.servers.current()
	c.to(stateConnecting)
	c.attemptFailed("connection refused")
	if c.done || c.state != stateBackingOff || !c.due(c.now()) {
		t.Fatalf("after the first server refused: done %v, state %v, due %v; want the next attempt at once", c.done, c.state, c.due(c.now()))
	}
	if s, _ := c.servers.current(); s.addr != "127.0.0.1:2" {
		t.Fatalf("the next attempt goes to %s", s)
	}
	c.server, _ = c.servers.current()
	c.to(stateConnecting)
	c.attemptFailed("connection refused")
	if !c.done || c.code != ExitError {
		t.Fatalf("after every server refused: done %v, code %d; want exit %d", c.done, c.code, ExitError)
	}
	shown := string(c.r.Take())
	for _, want := range []string{
		"cannot connect to 127.0.0.1:1: connection refused; trying 127.0.0.1:2\n",
		"cannot connect to 127.0.0.1:2: connection refused; the input has ended, so not retrying; input not sent; exiting\n",
	} {
		if !strings.Contains(shown, want) {
			t.Errorf("shown:\n%s\nwant %q", shown, want)
		}
	}
}

// TestFailoverTransfersFollow: after a failover a file's data connection
// goes to the server the chat connection is on, over TLS held to that
// server's own certificate (each server of the run is known by its own).
func TestFailoverTransfersFollow(t *testing.T) {
	certA, certB := liveCert(t, nil, "127.0.0.1"), liveCert(t, nil, "127.0.0.1")
	tlsA, tlsB := serverTLS(certA), serverTLS(certB)
	a, b := newFakeServer(t), newFakeServer(t)
	known := filepath.Join(t.TempDir(), "known_servers")
	must(t, os.WriteFile(known, []byte(a.addr+" "+certA.fp()+"\n"+b.addr+" "+certB.fp()+"\n"), 0o600))
	share := t.TempDir()
	must(t, os.WriteFile(filepath.Join(share, "notes.txt"), []byte("hello"), 0o644))
	in, out, done := runClientConfig(t, Config{Servers: []string{a.addr, b.addr}, Mode: roomsMode{}, ShareDir: share,
		TLS: &TLSConfig{KnownServers: known}})
	p := a.secureNext(tlsA)
	p.hello()
	out.waitFor(t, "connected to "+a.addr+"\n")

	a.stop()
	p.c.Close()
	p = b.secureNext(tlsB)
	p.hello()
	out.waitFor(t, "reconnected to "+b.addr+"\n")

	// A is back: a data connection that went to the first server given
	// would reach it.
	a.restart()
	p.send(wire.Frame{Type: wire.TypeFileOffer, From: "bob", Name: "notes.txt", Token: "t1"})
	data := b.secureNext(tlsB)
	if f := data.expect(wire.TypeAttach); f.Token != "t1" || f.Code != wire.RoleOwner {
		t.Errorf("attach %+v, want the owner's of t1", f)
	}
	p.send(wire.Frame{Type: wire.TypeFileFailed, Token: "t1", Code: wire.ErrOwnerGone, Text: "bob left"})
	out.waitFor(t, "bob left")
	a.noConnection("the data connection went to the server the chat connection left")

	in.Close()
	p.answer(wire.TypeLogout, "bye")
	exitsWith(t, done, out, ExitOK)
	if strings.Contains(out.String(), "CHANGED") {
		t.Errorf("one server's certificate was held against another:\n%s", out.String())
	}
}

// TestTLSTrustOnFirstUsePerServer: each server is asked about once, with
// its own fingerprint, and remembered on a line of its own; going back to
// a server trusted before asks nothing.
func TestTLSTrustOnFirstUsePerServer(t *testing.T) {
	ptmx, tty, before, out := openTestTerminal(t)
	certA, certB := liveCert(t, nil, "127.0.0.1"), liveCert(t, nil, "127.0.0.1")
	tlsA, tlsB := serverTLS(certA), serverTLS(certB)
	a, b := newFakeServer(t), newFakeServer(t)
	known := filepath.Join(t.TempDir(), "known_servers")
	done := make(chan int, 1)
	go func() {
		done <- Run(Config{Servers: []string{a.addr, b.addr}, Mode: roomsMode{}, Stdin: tty, Stdout: tty,
			RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond, TLS: &TLSConfig{KnownServers: known}})
	}()
	a.handshakeRefused(tlsA)
	out.waitFor(t, "the authenticity of "+a.addr+" cannot be established")
	out.waitFor(t, "its fingerprint is "+certA.fp())
	ptmx.Write([]byte("yes\r"))
	out.waitFor(t, "remembered "+a.addr+" as "+certA.fp())
	p := a.secureNext(tlsA)
	p.hello()
	out.waitFor(t, "connected to "+a.addr)

	a.stop()
	p.c.Close()
	b.handshakeRefused(tlsB)
	out.waitFor(t, "the authenticity of "+b.addr+" cannot be established")
	out.waitFor(t, "its fingerprint is "+certB.fp())
	ptmx.Write([]byte("yes\r"))
	out.waitFor(t, "remembered "+b.addr+" as "+certB.fp())
	p = b.secureNext(tlsB)
	p.hello()
	out.waitFor(t, "reconnected to "+b.addr)

	a.restart()
	p.c.Close()
	p = a.secureNext(tlsA)
	p.hello()
	out.waitFor(t, "reconnected to "+a.addr)
	out.mu.Lock()
	shown := out.buf.String()
	out.mu.Unlock()
	if n := strings.Count(shown, "cannot be established"); n != 2 {
		t.Errorf("asked %d times, want once for each server", n)
	}
	ks, err := readKnown(known)
	if err != nil || len(ks.lookup(a.addr)) != 1 || ks.lookup(a.addr)[0].fingerprint != certA.fp() ||
		len(ks.lookup(b.addr)) != 1 || ks.lookup(b.addr)[0].fingerprint != certB.fp() {
		t.Errorf("known servers: %+v, %v", ks, err)
	}
	ptmx.Write([]byte{3}) // Ctrl-C
	select {
	case code := <-done:
		if code != ExitInterrupt {
			t.Errorf("exit status %d, want %d", code, ExitInterrupt)
		}
	case <-time.After(waitLimit):
		t.Fatal("the client did not exit on Ctrl-C")
	}
	terminalRestored(t, tty, before)
}
