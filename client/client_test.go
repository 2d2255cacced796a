package client

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/internal/wire"
)

// These tests run the whole client (Run: poll loop, connection, modes) with
// standard input a pipe and a fake server speaking internal/wire, so the
// connection logic is tested without a terminal or the real server.

const waitLimit = 10 * time.Second

// screen collects the client's output and lets a test wait for text.
type screen struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newScreen() *screen { return &screen{changed: make(chan struct{})} }

func (s *screen) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return len(p), nil
}

func (s *screen) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// waitFor waits until the output contains want (counting from the start).
func (s *screen) waitFor(t *testing.T, want string) {
	t.Helper()
	deadline := time.After(waitLimit)
	for {
		s.mu.Lock()
		ok := strings.Contains(s.buf.String(), want)
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("output never showed %q; output:\n%s", want, s.String())
		}
	}
}

// fakeServer accepts connections and hands each to the test.
type fakeServer struct {
	t     *testing.T
	ln    net.Listener
	addr  string
	conns chan *peer
}

func newFakeServer(t *testing.T) *fakeServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, ln: ln, addr: ln.Addr().String(), conns: make(chan *peer, 4)}
	go s.accept(ln)
	t.Cleanup(func() { s.ln.Close() })
	return s
}

func (s *fakeServer) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s.conns <- &peer{t: s.t, c: c}
	}
}

// stop closes the listener: new connections are refused.
func (s *fakeServer) stop() { s.ln.Close() }

// restart listens again on the same address.
func (s *fakeServer) restart() {
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.ln = ln
	go s.accept(ln)
}

func (s *fakeServer) next() *peer {
	s.t.Helper()
	select {
	case p := <-s.conns:
		s.t.Cleanup(func() { p.c.Close() })
		return p
	case <-time.After(waitLimit):
		s.t.Fatal("the client did not connect")
		return nil
	}
}

// peer is the server's side of one client connection.
type peer struct {
	t   *testing.T
	c   net.Conn
	dec wire.Decoder
	buf [4096]byte
}

// read returns the next frame the client sent.
func (p *peer) read() wire.Frame {
	p.t.Helper()
	var f wire.Frame
	for {
		ok, err := p.dec.Next(&f)
		if err != nil {
			p.t.Fatalf("bad frame from the client: %v", err)
		}
		if ok {
			return f
		}
		p.c.SetReadDeadline(time.Now().Add(waitLimit))
		n, err := p.c.Read(p.buf[:])
		if err != nil {
			p.t.Fatalf("reading from the client: %v", err)
		}
		p.dec.Feed(p.buf[:n])
	}
}

// expect reads a frame and checks its type.
func (p *peer) expect(ty wire.Type) wire.Frame {
	p.t.Helper()
	f := p.read()
	if f.Type != ty {
		p.t.Fatalf("client sent %v %+v, want %v", f.Type, f, ty)
	}
	if ty.IsRequest() && f.ID == 0 {
		p.t.Fatalf("request %v without an ID", ty)
	}
	return f
}

func (p *peer) send(f wire.Frame) {
	p.t.Helper()
	if f.Time == 0 {
		f.Time = time.Now().UnixMilli()
	}
	if _, err := p.c.Write(wire.Encode(&f)); err != nil {
		p.t.Fatalf("writing to the client: %v", err)
	}
}

// answer reads a request of type ty and replies OK with text.
func (p *peer) answer(ty wire.Type, text string, extra ...func(*wire.Frame)) wire.Frame {
	p.t.Helper()
	req := p.expect(ty)
	r := wire.Frame{Type: wire.TypeReply, ID: req.ID, Text: text}
	for _, e := range extra {
		e(&r)
	}
	p.send(r)
	return req
}

// refuse reads a request of type ty and refuses it with code and text.
func (p *peer) refuse(ty wire.Type, code wire.Code, text string) wire.Frame {
	p.t.Helper()
	return p.answer(ty, text, func(f *wire.Frame) { f.Code = code })
}

// expectClaim reads a Claim and checks that it asks for name, without a
// password.
func (p *peer) expectClaim(name string) wire.Frame {
	p.t.Helper()
	req := p.expect(wire.TypeClaim)
	if req.Name != name || req.Secret != "" {
		p.t.Errorf("claim of %q with secret %q, want %q without", req.Name, req.Secret, name)
	}
	return req
}

// hello answers the client's Hello.
func (p *peer) hello() {
	p.t.Helper()
	req := p.expect(wire.TypeHello)
	if req.Version != wire.Version {
		p.t.Fatalf("hello version %d", req.Version)
	}
	p.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Version: wire.Version})
}

// runClient runs the client in mode rooms against addr; it returns the pipe
// to type into, the output, and a channel with the exit status.
func runClient(t *testing.T, addr string) (*os.File, *screen, <-chan int) {
	t.Helper()
	return runClientMode(t, addr, roomsMode{})
}

// runClientMode is runClient in the given mode.
func runClientMode(t *testing.T, addr string, mode Mode) (*os.File, *screen, <-chan int) {
	t.Helper()
	return runClientConfig(t, Config{Addr: addr, Mode: mode})
}

// runClientConfig runs the client with cfg (Stdin and Stdout set here).
func runClientConfig(t *testing.T, cfg Config) (*os.File, *screen, <-chan int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := newScreen()
	done := make(chan int, 1)
	cfg.Stdin, cfg.Stdout = r, out
	cfg.RetryMin, cfg.RetryMax = 20*time.Millisecond, 100*time.Millisecond
	go func() {
		defer r.Close()
		done <- Run(cfg)
	}()
	t.Cleanup(func() { w.Close() })
	return w, out, done
}

// connectedClient runs a client in mode against a new fake server and
// answers its Hello; it returns the server, what runClient does, and the
// client's connection.
func connectedClient(t *testing.T, mode Mode) (*fakeServer, *os.File, *screen, <-chan int, *peer) {
	t.Helper()
	srv := newFakeServer(t)
	in, out, done := runClientMode(t, srv.addr, mode)
	p := srv.next()
	p.hello()
	return srv, in, out, done, p
}

func typeLine(t *testing.T, w io.Writer, s string) {
	t.Helper()
	if _, err := io.WriteString(w, s+"\n"); err != nil {
		t.Fatal(err)
	}
}

// exitsWith checks that the client exits with status want.
func exitsWith(t *testing.T, done <-chan int, out *screen, want int) {
	t.Helper()
	if code := exitStatus(t, done, out); code != want {
		t.Errorf("exit status %d, want %d", code, want)
	}
}

// loggedInRoom runs a client in mode rooms that logs in as alice and enters
// room, whose last message so far is seq, on the fake server's first
// connection; it returns what runClient does and that connection.
func loggedInRoom(t *testing.T, srv *fakeServer, room string, seq uint64) (*os.File, *screen, <-chan int, *peer) {
	t.Helper()
	in, out, done := runClient(t, srv.addr)
	typeLine(t, in, "login alice")
	typeLine(t, in, "secret")
	typeLine(t, in, "enter "+room)
	p := srv.next()
	p.hello()
	p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	p.answer(wire.TypeEnter, "you entered "+room, func(f *wire.Frame) { f.Room, f.Seq = room, seq })
	return in, out, done, p
}

func exitStatus(t *testing.T, done <-chan int, out *screen) int {
	t.Helper()
	select {
	case code := <-done:
		return code
	case <-time.After(waitLimit):
		t.Fatalf("the client did not exit; output:\n%s", out.String())
		return -1
	}
}

func TestScriptSession(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done := runClient(t, srv.addr)
	// The whole script at once, the password split across writes: the
	// client reads lines, however they arrive.
	io.WriteString(in, "login alice\nwonder")
	io.WriteString(in, "land\nenter lounge\nhello  there\nwho\n")
	in.Close()

	p := srv.next()
	p.hello()
	login := p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	if login.Name != "alice" || login.Secret != "wonderland" {
		t.Errorf("login %q/%q", login.Name, login.Secret)
	}
	enter := p.answer(wire.TypeEnter, "you entered lounge", func(f *wire.Frame) { f.Room = "lounge" })
	if enter.Room != "lounge" {
		t.Errorf("enter %q", enter.Room)
	}
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "hi alice"})
	say := p.answer(wire.TypeSay, "")
	if say.Text != "hello  there" {
		t.Errorf("say %q", say.Text)
	}
	who := p.expect(wire.TypeWho)
	// A server ping is answered at once, whatever else is going on.
	p.send(wire.Frame{Type: wire.TypeServerPing})
	p.expect(wire.TypePong)
	p.send(wire.Frame{Type: wire.TypeReply, ID: who.ID, Text: "2 users connected",
		Users: []wire.User{{Name: "alice", Room: "lounge"}, {Name: "bob"}}})
	p.answer(wire.TypeLogout, "goodbye alice")
	exitsWith(t, done, out, 0)
	got := out.String()
	for _, want := range []string{
		"! ", " connected to " + srv.addr + "\n",
		"* ", " welcome alice\n",
		" you entered lounge\n",
		"bob ", " hi alice\n",
		" 2 users connected\n", " alice is in lounge\n", " bob is in no room\n",
		" goodbye alice\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "wonderland") || strings.Contains(got, "Password") || strings.Contains(got, "\x1b") {
		t.Errorf("output shows the password, a prompt or escapes:\n%s", got)
	}
}

func TestReconnect(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done, p := loggedInRoom(t, srv, "lounge", 0)
	out.waitFor(t, "you entered lounge")

	// The server goes away and refuses connections for a while.
	srv.stop()
	p.c.Close()
	out.waitFor(t, "connection to "+srv.addr+" lost: the server closed the connection; reconnecting in ")
	out.waitFor(t, "cannot connect to "+srv.addr+": connection refused; retrying in ")
	typeLine(t, in, "said while away")
	out.waitFor(t, "not connected: line queued (1 waiting); it will be sent after reconnecting")

	srv.restart()
	p = srv.next()
	p.hello()
	login := p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	if login.Name != "alice" || login.Secret != "secret" {
		t.Errorf("re-login %q/%q, want the remembered credentials", login.Name, login.Secret)
	}
	// The server lost its rooms: the client makes the room again.
	enter := p.expect(wire.TypeEnter)
	if enter.Room != "lounge" {
		t.Errorf("re-enter %q", enter.Room)
	}
	p.send(wire.Frame{Type: wire.TypeReply, ID: enter.ID, Code: wire.ErrNoSuchRoom, Text: "no room named lounge"})
	p.answer(wire.TypeCreate, "created room lounge")
	p.answer(wire.TypeEnter, "you entered lounge", func(f *wire.Frame) { f.Room = "lounge" })
	say := p.answer(wire.TypeSay, "")
	if say.Text != "said while away" {
		t.Errorf("queued line %q", say.Text)
	}
	for _, want := range []string{"reconnected to " + srv.addr, "logged in as alice again", "back in lounge", "sent 1 line typed while disconnected"} {
		out.waitFor(t, want)
	}

	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "seen", Seq: 5})
	out.waitFor(t, " seen\n")

	// A Bye other than logout is a disconnection like any other.
	p.send(wire.Frame{Type: wire.TypeBye, Code: wire.ByeTimeout, Text: "you were silent too long"})
	out.waitFor(t, "lost: the server said: you were silent too long; reconnecting in ")
	p = srv.next()
	p.hello()
	p.answer(wire.TypeLogin, "welcome alice")
	p.answer(wire.TypeEnter, "you are already in lounge", func(f *wire.Frame) { f.Room, f.Seq = "lounge", 7 })
	// Two messages were said while the client was away: it asks for them.
	hist := p.expect(wire.TypeHistory)
	if hist.Room != "lounge" || hist.Seq != 5 {
		t.Errorf("history of %q after %d, want lounge after 5", hist.Room, hist.Seq)
	}
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "missed one", Seq: 6})
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "missed two", Seq: 7})
	p.send(wire.Frame{Type: wire.TypeReply, ID: hist.ID, Text: "2 messages from lounge", Room: "lounge", Seq: 7, Count: 2})
	// Each replayed message is marked as missed, in order.
	out.waitFor(t, " (missed) missed one\nbob ")
	out.waitFor(t, " (missed) missed two\n")
	out.waitFor(t, "missed while disconnected: 2 messages from lounge (shown above)")

	// Taken over by another login: no reconnection, exit 1.
	p.send(wire.Frame{Type: wire.TypeBye, Code: wire.ByeTakeover, Text: "you logged in from another connection"})
	if code := exitStatus(t, done, out); code != 1 {
		t.Errorf("exit status %d after a takeover, want 1", code)
	}
	out.waitFor(t, "you logged in from another connection; not reconnecting, exiting")
	select {
	case <-srv.conns:
		t.Error("the client reconnected after a takeover")
	default:
	}
}

func TestVersionRefused(t *testing.T) {
	srv := newFakeServer(t)
	_, out, done := runClient(t, srv.addr)
	p := srv.next()
	p.refuse(wire.TypeHello, wire.ErrVersion, "protocol version 1 is not supported")
	exitsWith(t, done, out, 1)
	out.waitFor(t, "the server refused this client: protocol version 1 is not supported; exiting")
}

func TestNoServerAndInputEnded(t *testing.T) {
	srv := newFakeServer(t)
	srv.stop()
	in, out, done := runClient(t, srv.addr)
	typeLine(t, in, "who")
	in.Close()
	exitsWith(t, done, out, 1)
	out.waitFor(t, fmt.Sprintf("cannot connect to %s: connection refused; retrying in", srv.addr))
	out.waitFor(t, "the input has ended, so not retrying; input not sent; exiting")
}

func TestRequestIDsDistinct(t *testing.T) {
	_, in, out, done, p := connectedClient(t, roomsMode{})
	seen := map[uint32]bool{}
	for _, l := range []string{"who", "rooms", "create a", "leave"} {
		typeLine(t, in, l)
		f := p.read()
		if seen[f.ID] || f.ID == 0 {
			t.Fatalf("request id %d reused or zero", f.ID)
		}
		seen[f.ID] = true
		p.send(wire.Frame{Type: wire.TypeReply, ID: f.ID, Code: wire.ErrNotLoggedIn, Text: "please log in first: login NAME"})
	}
	in.Close()
	// Not logged in: the client still says logout, then exits 0.
	p.answer(wire.TypeLogout, "")
	exitsWith(t, done, out, 0)
}

// TestReloginWhenServerBusy: after a reconnection the server may be too busy
// checking passwords to take the automatic login (a reconnect storm); the
// client asks again after a pause instead of giving up on the login.
func TestReloginWhenServerBusy(t *testing.T) {
	srv := newFakeServer(t)
	in, out, _ := runClient(t, srv.addr)
	typeLine(t, in, "login alice")
	typeLine(t, in, "secret")
	p := srv.next()
	p.hello()
	p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	out.waitFor(t, "welcome alice")

	p.c.Close()
	p = srv.next()
	p.hello()
	busy := p.expect(wire.TypeLogin)
	p.send(wire.Frame{Type: wire.TypeReply, ID: busy.ID, Code: wire.ErrUnavailable, Text: "the server is busy checking passwords; try again in a moment"})
	out.waitFor(t, "could not log in as alice again yet: the server is busy checking passwords; try again in a moment; trying again in ")
	again := p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	if again.Name != "alice" || again.Secret != "secret" {
		t.Errorf("second automatic login %q/%q, want the remembered credentials", again.Name, again.Secret)
	}
	out.waitFor(t, "logged in as alice again")
}
