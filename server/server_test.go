package server

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/internal/wire"
	"chat/server/auth"
)

// t0 is the fixed time of tests that drive the hub without a loop.
var t0 = time.Date(2026, 11, 21, 14, 3, 7, 0, time.UTC)

// cheapHash makes a valid argon2id hash quickly, for tests.
func cheapHash(t testing.TB, pw string) string {
	t.Helper()
	h, err := auth.HashWithCost(pw, 64, 1)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func writeUsers(t testing.TB, dir string, pws map[string]string) string {
	t.Helper()
	u := &auth.Users{}
	for name, pw := range pws {
		if err := u.Add(name, cheapHash(t, pw)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "users.db")
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// client is a raw protocol client for the in-process tests.
type client struct {
	t    testing.TB
	conn net.Conn
	dec  wire.Decoder
	buf  []byte
	id   uint32
	// noPong: return server pings instead of answering them.
	noPong bool
}

func dial(t testing.TB, addr string) *client {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, buf: make([]byte, 64<<10)}
}

func (c *client) send(f *wire.Frame) uint32 {
	c.t.Helper()
	if f.Type.IsRequest() && f.ID == 0 {
		c.id++
		f.ID = c.id
	}
	if _, err := c.conn.Write(wire.Encode(f)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	return f.ID
}

// next returns the next frame, or nil and the error at EOF or timeout.
func (c *client) next() (*wire.Frame, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var f wire.Frame
		ok, err := c.dec.Next(&f)
		if err != nil {
			return nil, err
		}
		if ok {
			return &f, nil
		}
		c.conn.SetReadDeadline(deadline)
		n, err := c.conn.Read(c.buf)
		if n > 0 {
			c.dec.Feed(c.buf[:n])
			continue
		}
		return nil, err
	}
}

// must returns the next frame, answering server pings on the way unless
// noPong is set.
func (c *client) must() *wire.Frame {
	c.t.Helper()
	for {
		f, err := c.next()
		if err != nil {
			c.t.Fatalf("reading a frame: %v", err)
		}
		if f.Type == wire.TypeServerPing && !c.noPong {
			c.send(&wire.Frame{Type: wire.TypePong})
			continue
		}
		return f
	}
}

// call sends a request and returns its reply, failing on anything else in
// between.
func (c *client) call(f *wire.Frame) *wire.Frame {
	c.t.Helper()
	id := c.send(f)
	r := c.must()
	if r.Type != wire.TypeReply || r.ID != id {
		c.t.Fatalf("want reply to %d, got %+v", id, r)
	}
	return r
}

func (c *client) expect(typ wire.Type, code wire.Code, text string) *wire.Frame {
	c.t.Helper()
	f := c.must()
	if f.Type != typ || f.Code != code || (text != "" && f.Text != text) {
		c.t.Fatalf("want %v code %d %q, got %+v", typ, code, text, f)
	}
	return f
}

func (c *client) login(name, pw string) *wire.Frame {
	c.t.Helper()
	if r := c.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version}); r.Code != wire.OK {
		c.t.Fatalf("hello: %+v", r)
	}
	return c.call(&wire.Frame{Type: wire.TypeLogin, Name: name, Secret: pw})
}

func countFds(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	waitWithin(t, 10*time.Second, what, cond)
}

// waitWithin polls cond until it holds or d has passed.
func waitWithin(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		runtime.Gosched()
	}
}

type startedServer struct {
	*Server
	done chan error
	logs *logBuf
}

type logBuf struct {
	mu    sync.Mutex
	lines []string
}

func (l *logBuf) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, format)
	_ = args
}

func start(t testing.TB, cfg Config) *startedServer {
	t.Helper()
	return startTuned(t, cfg, nil)
}

// startTuned is start, with tune (when not nil) called on the server
// between New and Run.
func startTuned(t testing.TB, cfg Config, tune func(*Server)) *startedServer {
	t.Helper()
	if cfg.Addr == "" && cfg.TLSAddr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.UsersFile == "" {
		cfg.UsersFile = writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder"})
	}
	lb := &logBuf{}
	cfg.Logf = lb.logf
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if tune != nil {
		tune(s)
	}
	ss := &startedServer{Server: s, done: make(chan error, 1), logs: lb}
	go func() { ss.done <- s.Run() }()
	t.Cleanup(func() {
		s.Shutdown()
		<-ss.done
	})
	return ss
}

func (s *startedServer) stop(t testing.TB) error {
	t.Helper()
	s.Shutdown()
	select {
	case err := <-s.done:
		s.done <- err // for the cleanup
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Shutdown")
		return nil
	}
}

// warmUp makes the runtime open its own lazily created descriptors (the
// network poller) so they are not counted as leaks.
func warmUp(t testing.TB) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	l.Close()
}

func TestServerEndToEnd(t *testing.T) {
	warmUp(t)
	fdsBefore := countFds(t)
	goBefore := runtime.NumGoroutine()
	dir := t.TempDir()
	users := writeUsers(t, dir, map[string]string{"alice": "wonderland", "bob": "builder"})
	s := start(t, Config{UsersFile: users, ShutdownTimeout: 5 * time.Second})
	if !strings.HasPrefix(s.Addr(), "127.0.0.1:") || strings.HasSuffix(s.Addr(), ":0") {
		t.Fatalf("Addr() = %q", s.Addr())
	}

	a := dial(t, s.Addr())
	// Before hello, everything is refused.
	a.expectReply(a.send(&wire.Frame{Type: wire.TypeWho}), wire.ErrNoHello)
	if r := a.login("alice", "wrong"); r.Code != wire.ErrBadLogin || r.Text != "login failed: wrong name or password" {
		t.Fatalf("wrong password: %+v", r)
	}
	a.expectReply(a.send(&wire.Frame{Type: wire.TypeWho}), wire.ErrNotLoggedIn)
	r := a.call(&wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "wonderland"})
	if r.Code != wire.OK || r.Text != "welcome alice" || r.From != "*" || r.Time == 0 {
		t.Fatalf("login: %+v", r)
	}

	b := dial(t, s.Addr())
	if r := b.login("bob", "builder"); r.Code != wire.OK {
		t.Fatalf("bob login: %+v", r)
	}
	if r := a.call(&wire.Frame{Type: wire.TypeCreate, Room: "lounge"}); r.Code != wire.OK {
		t.Fatalf("create: %+v", r)
	}
	if r := a.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Text != "you entered lounge" {
		t.Fatalf("enter: %+v", r)
	}
	if r := b.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Text != "you entered lounge with alice" {
		t.Fatalf("enter: %+v", r)
	}
	a.expect(wire.TypeNotice, wire.NoticeEntered, "bob entered lounge")
	r = b.call(&wire.Frame{Type: wire.TypeSay, Text: "hello"})
	if r.Code != wire.OK || r.Seq != 1 {
		t.Fatalf("say: %+v", r)
	}
	m := a.must()
	if m.Type != wire.TypeMessage || m.From != "bob" || m.Text != "hello" || m.Seq != 1 || m.Room != "lounge" {
		t.Fatalf("message: %+v", m)
	}
	r = a.call(&wire.Frame{Type: wire.TypeWho})
	if r.Text != "2 users connected" || len(r.Users) != 2 || r.Users[0] != (wire.User{Name: "alice", Room: "lounge", Prefix: "@"}) {
		t.Fatalf("who: %+v", r)
	}

	// A body that does not parse: Reply ErrBadRequest id 0, and go on.
	bad := []byte{0, 0, 0, 3, byte(wire.TypePing), 0x09, 0x05} // Text claims 5 bytes, has 0
	if _, err := a.conn.Write(bad); err != nil {
		t.Fatal(err)
	}
	a.expect(wire.TypeReply, wire.ErrBadRequest, "")
	if r := a.call(&wire.Frame{Type: wire.TypePing}); r.Code != wire.OK {
		t.Fatalf("ping after malformed body: %+v", r)
	}

	// A length over the limit: Bye ByeMalformed, close; the room is told.
	c := dial(t, s.Addr())
	if r := c.login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("takeover login: %+v", r)
	}
	a.expect(wire.TypeBye, wire.ByeTakeover, "you logged in from another connection")
	if f, err := a.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after takeover bye: %+v, %v", f, err)
	}
	// The new session inherited the room silently: bob hears nothing, and
	// c hears bob.
	b.call(&wire.Frame{Type: wire.TypeSay, Text: "still there?"})
	if m := c.must(); m.Type != wire.TypeMessage || m.Text != "still there?" {
		t.Fatalf("after takeover: %+v", m)
	}
	var hdr [4]byte
	binary.BigEndian.PutUint32(hdr[:], wire.MaxFrameSize+1)
	c.conn.Write(hdr[:])
	c.expect(wire.TypeBye, wire.ByeMalformed, "")
	if f, err := c.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after malformed bye: %+v, %v", f, err)
	}
	b.expect(wire.TypeNotice, wire.NoticeLost, "contact with alice was lost")

	// Shutdown: every client is told, then EOF.
	idle := dial(t, s.Addr())
	idle.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	a.conn.Close() // both already saw EOF
	c.conn.Close()
	stopped := time.Now()
	s.Shutdown()
	for _, cl := range []*client{b, idle} {
		cl.expect(wire.TypeNotice, wire.NoticeShutdown, "the server is shutting down")
		cl.expect(wire.TypeBye, wire.ByeShutdown, "")
		if f, err := cl.next(); !errors.Is(err, io.EOF) {
			t.Fatalf("after shutdown bye: %+v, %v", f, err)
		}
		cl.conn.Close()
	}
	if err := s.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Every peer closed, so the shutdown finished without waiting for its
	// deadline.
	if d := time.Since(stopped); d > 4*time.Second {
		t.Fatalf("shutdown took %v", d)
	}

	waitFor(t, "descriptors to be released", func() bool { return countFds(t) <= fdsBefore })
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goBefore })
}

func (c *client) expectReply(id uint32, code wire.Code) *wire.Frame {
	c.t.Helper()
	r := c.must()
	if r.Type != wire.TypeReply || r.ID != id || r.Code != code {
		c.t.Fatalf("want reply %d code %d, got %+v", id, code, r)
	}
	return r
}

func TestServerBadAddressAndUsersFile(t *testing.T) {
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "x"})
	if _, err := New(Config{Addr: "256.1.1.1:0", UsersFile: users}); err == nil {
		t.Fatal("bad address accepted")
	}
	if _, err := New(Config{Addr: "127.0.0.1:0", UsersFile: filepath.Join(t.TempDir(), "missing")}); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing users file: %v", err)
	}
	// The port is taken.
	s := start(t, Config{UsersFile: users})
	if _, err := New(Config{Addr: s.Addr(), UsersFile: users}); err == nil {
		t.Fatal("second listen on the same port succeeded")
	}
}

func TestServerFramesHeldDuringPasswordCheck(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s.Addr())
	// Everything in one write: the replies must come in request order even
	// though the login is checked on another goroutine.
	var buf []byte
	buf = wire.Append(buf, &wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version})
	buf = wire.Append(buf, &wire.Frame{Type: wire.TypeLogin, ID: 2, Name: "alice", Secret: "wonderland"})
	buf = wire.Append(buf, &wire.Frame{Type: wire.TypeWho, ID: 3})
	buf = wire.Append(buf, &wire.Frame{Type: wire.TypeLogin, ID: 4, Name: "bob", Secret: "nope"})
	if _, err := c.conn.Write(buf); err != nil {
		t.Fatal(err)
	}
	c.expectReply(1, wire.OK)
	c.expectReply(2, wire.OK)
	if r := c.expectReply(3, wire.OK); len(r.Users) != 1 {
		t.Fatalf("who: %+v", r)
	}
	c.expectReply(4, wire.ErrLoggedIn)
}

func TestServerTooManyFailedLogins(t *testing.T) {
	s := start(t, Config{})
	c := dial(t, s.Addr())
	c.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	for i := 0; i < 5; i++ {
		c.expectReply(c.send(&wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "bad"}), wire.ErrBadLogin)
	}
	c.expect(wire.TypeBye, wire.ByeLimit, "")
	if _, err := c.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
}

func TestServerSlowReaderIsCut(t *testing.T) {
	s := start(t, Config{MaxOutput: 64 << 10, MsgRate: -1}) // no flood limit: fast on purpose
	slow := dial(t, s.Addr())
	slow.login("alice", "wonderland")
	slow.call(&wire.Frame{Type: wire.TypeCreate, Room: "r"})
	slow.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"})
	fast := dial(t, s.Addr())
	fast.login("bob", "builder")
	fast.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"})
	text := strings.Repeat("x", 60000)
	// slow never reads: its queue fills and it is cut off; bob keeps being
	// served and is told contact with alice was lost.
	for i := 0; ; i++ {
		if i > 10000 {
			t.Fatal("slow reader was never cut off")
		}
		id := fast.send(&wire.Frame{Type: wire.TypeSay, Text: text})
		f := fast.must()
		if f.Type == wire.TypeNotice {
			if f.Code != wire.NoticeLost || f.Name != "alice" {
				t.Fatalf("notice: %+v", f)
			}
			fast.expectReply(id, wire.OK)
			break
		}
		if f.ID != id || f.Code != wire.OK {
			t.Fatalf("say: %+v", f)
		}
	}
}

func TestServerOversizeFrameWithBody(t *testing.T) {
	// The peer keeps sending after a bad header; the Bye must still arrive
	// (the server drains input before closing, so no reset destroys it).
	s := start(t, Config{})
	c := dial(t, s.Addr())
	junk := make([]byte, 256<<10)
	binary.BigEndian.PutUint32(junk, wire.MaxFrameSize+10)
	go c.conn.Write(junk)
	c.expect(wire.TypeBye, wire.ByeMalformed, "")
}

func TestServerShutdownTwiceAndBeforeRun(t *testing.T) {
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "x"})
	s, err := New(Config{Addr: "127.0.0.1:0", UsersFile: users})
	if err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	s.Shutdown()
	if err := s.Run(); err != nil {
		t.Fatal(err)
	}
	s.Shutdown() // after Run: no effect, no crash
	if err := s.Run(); err == nil {
		t.Fatal("second Run succeeded")
	}
}

func TestServerSilentPeerIsLost(t *testing.T) {
	s := start(t, Config{PingInterval: 50 * time.Millisecond, PeerTimeout: 100 * time.Millisecond})
	mute := dial(t, s.Addr())
	mute.login("alice", "wonderland")
	mute.call(&wire.Frame{Type: wire.TypeCreate, Room: "r"})
	mute.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"})
	live := dial(t, s.Addr())
	live.login("bob", "builder")
	live.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"})
	mute.expect(wire.TypeNotice, wire.NoticeEntered, "bob entered r")
	mute.noPong = true

	// live answers its pings and hears that contact with alice was lost.
	for {
		f := live.must()
		if f.Type == wire.TypeServerPing {
			live.send(&wire.Frame{Type: wire.TypePong})
			continue
		}
		if f.Type != wire.TypeNotice || f.Code != wire.NoticeLost || !strings.HasPrefix(f.Text, "contact with alice was lost (ping timeout: no sign of life for ") {
			t.Fatalf("want lost notice, got %+v", f)
		}
		break
	}
	// mute never answered: it was sent a Ping, then a Bye, then EOF.
	if f := mute.must(); f.Type != wire.TypeServerPing || f.Time == 0 {
		t.Fatalf("want a ping, got %+v", f)
	}
	mute.expect(wire.TypeBye, wire.ByeTimeout, "")
	if _, err := mute.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
	// And live is still served.
	for {
		id := live.send(&wire.Frame{Type: wire.TypeWho})
		f := live.must()
		if f.Type == wire.TypeServerPing {
			live.send(&wire.Frame{Type: wire.TypePong})
			f = live.must()
		}
		if f.ID == id && len(f.Users) == 1 {
			break
		}
		t.Fatalf("who: %+v", f)
	}
}

// TestServerNoLeaksUnderChurn opens and drops many connections in every
// state (mid-frame, logged in and in a room, reset instead of closed) and
// checks that the server releases every descriptor and goroutine.
func TestServerNoLeaksUnderChurn(t *testing.T) {
	warmUp(t)
	fdsBefore := countFds(t)
	goBefore := runtime.NumGoroutine()
	s := start(t, Config{LoginDelay: -1}) // no login throttling: 10 wrong logins in a row on purpose
	watcher := dial(t, s.Addr())
	watcher.login("bob", "builder")
	watcher.call(&wire.Frame{Type: wire.TypeCreate, Room: "r"})
	watcher.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"})
	for i := 0; i < 40; i++ {
		c := dial(t, s.Addr())
		switch i % 4 {
		case 0: // half a frame, then close
			c.conn.Write([]byte{0, 0, 0, 9, byte(wire.TypeHello)})
		case 1: // logged in, in the room, then reset
			c.login("alice", "wonderland")
			c.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"})
			c.conn.(*net.TCPConn).SetLinger(0)
		case 2: // a login still being checked (a wrong one: a right one
			// could take over a later connection's session)
			c.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
			c.send(&wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "wrong"})
		case 3: // garbage
			c.conn.Write([]byte("GET / HTTP/1.1\r\n\r\n"))
		}
		c.conn.Close()
	}
	// bob hears of every alice that came and went (takeovers are silent,
	// resets are losses); a who round trip orders us after all of that.
	waitFor(t, "every dropped connection to be closed", func() bool {
		id := watcher.send(&wire.Frame{Type: wire.TypeWho})
		r := watcher.must()
		for r.Type != wire.TypeReply || r.ID != id {
			r = watcher.must()
		}
		return len(r.Users) == 1
	})
	s.Shutdown()
	watcher.expectSkipping(wire.TypeNotice, wire.NoticeShutdown)
	watcher.expect(wire.TypeBye, wire.ByeShutdown, "")
	watcher.conn.Close()
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "descriptors to be released", func() bool { return countFds(t) <= fdsBefore })
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goBefore })
}

// expectSkipping reads until a frame of the given type and code.
func (c *client) expectSkipping(typ wire.Type, code wire.Code) *wire.Frame {
	c.t.Helper()
	for {
		f := c.must()
		if f.Type == typ && f.Code == code {
			return f
		}
	}
}

func TestServerMaxPerAddr(t *testing.T) {
	s := start(t, Config{MaxPerAddr: 2})
	a := dial(t, s.Addr())
	a.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	b := dial(t, s.Addr())
	b.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	c := dial(t, s.Addr())
	c.expect(wire.TypeBye, wire.ByeLimit, "too many connections from your address (limit 2)")
	if _, err := c.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("want EOF, got %v", err)
	}
	c.conn.Close()
	// A slot frees when a connection closes.
	a.conn.Close()
	waitFor(t, "a slot to free", func() bool {
		d := dial(t, s.Addr())
		defer d.conn.Close()
		d.send(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
		f := d.must()
		return f.Type == wire.TypeReply && f.Code == wire.OK
	})
}

// aliceAndBobInLounge logs alice and bob in to s and puts them in a room,
// lounge, that alice made: alice has seen bob enter.
func aliceAndBobInLounge(t testing.TB, s *startedServer) (a, b *client) {
	t.Helper()
	a, b = dial(t, s.Addr()), dial(t, s.Addr())
	a.login("alice", "wonderland")
	b.login("bob", "builder")
	a.call(&wire.Frame{Type: wire.TypeCreate, Room: "lounge"})
	a.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	b.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	a.expect(wire.TypeNotice, wire.NoticeEntered, "bob entered lounge")
	return a, b
}

// OutputBytes counts the messages and notices queued to sessions, which is
// how the memory trimmer tells a relaying server from an idle one.
func TestServerOutputBytes(t *testing.T) {
	s := start(t, Config{})
	a, b := aliceAndBobInLounge(t, s)
	before := s.OutputBytes()
	if before == 0 {
		t.Fatal("OutputBytes is 0 after replies and a notice")
	}
	text := strings.Repeat("x", 1000)
	b.call(&wire.Frame{Type: wire.TypeSay, Text: text})
	if m := a.must(); m.Text != text {
		t.Fatalf("message: %+v", m)
	}
	waitFor(t, "the message counted", func() bool { return s.OutputBytes() >= before+uint64(len(text)) })
}

// More connections than one pass accepts, all waiting at once, are all
// taken, over several passes, and all served.
func TestServerAcceptsInBatches(t *testing.T) {
	s := start(t, Config{})
	n := 3*acceptBatch + 1
	clients := make([]*client, n)
	for i := range clients {
		clients[i] = dial(t, s.Addr()) // connected by the kernel, not yet accepted
	}
	for i, c := range clients {
		if r := c.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version}); r.Code != wire.OK {
			t.Fatalf("client %d: hello: %+v", i, r)
		}
	}
}
