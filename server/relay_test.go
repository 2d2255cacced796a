package server

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"chat/internal/wire"
	"chat/server/hub"
)

// dataClient is a raw data connection for the relay tests: an Attach, its
// Reply, then bytes.
type dataClient struct {
	t    testing.TB
	conn halfCloser
	rest []byte // bytes read after the Reply
}

// halfCloser is a TCP or TLS connection: one that can end its output and
// still read.
type halfCloser interface {
	net.Conn
	CloseWrite() error
}

// attach opens a data connection and sends Attach; it does not wait for
// the reply (an owner may stream at once).
func attach(t testing.TB, addr, token string, role wire.Code) *dataClient {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return attachOn(t, c.(*net.TCPConn), token, role)
}

// attachOn sends Attach on c.
func attachOn(t testing.TB, c halfCloser, token string, role wire.Code) *dataClient {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	d := &dataClient{t: t, conn: c}
	if _, err := c.Write(wire.Encode(&wire.Frame{Type: wire.TypeAttach, ID: 1, Token: token, Code: role})); err != nil {
		t.Fatal(err)
	}
	return d
}

// reply reads the Attach's Reply; bytes after it are kept in rest.
func (d *dataClient) reply() *wire.Frame {
	d.t.Helper()
	buf := make([]byte, 4096)
	d.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	defer d.conn.SetReadDeadline(time.Time{})
	for {
		body, rest, err := wire.Split(d.rest)
		if err != nil {
			d.t.Fatal(err)
		}
		if body != nil {
			var f wire.Frame
			if err := wire.Unmarshal(body, &f); err != nil {
				d.t.Fatal(err)
			}
			d.rest = append([]byte(nil), rest...)
			return &f
		}
		n, err := d.conn.Read(buf)
		d.rest = append(d.rest, buf[:n]...)
		if err != nil {
			d.t.Fatalf("reading the attach reply: %v (have %d bytes)", err, len(d.rest))
		}
	}
}

func (d *dataClient) expectReply(code wire.Code, text string) *wire.Frame {
	d.t.Helper()
	r := d.reply()
	if r.Type != wire.TypeReply || r.ID != 1 || r.Code != code || (text != "" && r.Text != text) {
		d.t.Fatalf("attach: want reply code %d %q, got %+v", code, text, r)
	}
	return r
}

// readAll returns every byte after the Reply until EOF, and the error that
// ended the stream (nil for EOF).
func (d *dataClient) readAll() ([]byte, error) {
	d.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	b, err := io.ReadAll(d.conn)
	return append(d.rest, b...), err
}

// expectEOF checks that the server closes the connection (EOF or reset)
// without sending more than the reply.
func (d *dataClient) expectClosed() {
	d.t.Helper()
	d.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [4096]byte
	for {
		_, err := d.conn.Read(b[:])
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			d.t.Fatal("data connection not closed")
		}
		return
	}
}

// xferFixture: a server with alice (requester) and bob (owner) logged in.
type xferFixture struct {
	s          *startedServer
	alice, bob *client
	tls        bool // everything over TLS
}

func newXfer(t testing.TB, cfg Config) *xferFixture {
	t.Helper()
	s := start(t, cfg)
	x := &xferFixture{s: s, alice: dial(t, s.Addr()), bob: dial(t, s.Addr())}
	return x.login(t)
}

// newXferTLS is newXfer with every connection over TLS.
func newXferTLS(t testing.TB, cfg Config) *xferFixture {
	t.Helper()
	s := startTLS(t, cfg)
	x := &xferFixture{s: s, alice: dialTLS(t, s.Addr()), bob: dialTLS(t, s.Addr()), tls: true}
	return x.login(t)
}

// attach opens a data connection to the fixture's server, as its clients
// connect, and sends Attach.
func (x *xferFixture) attach(t testing.TB, token string, role wire.Code) *dataClient {
	t.Helper()
	if !x.tls {
		return attach(t, x.s.Addr(), token, role)
	}
	return attachOn(t, dialTLS(t, x.s.Addr()).conn.(*tls.Conn), token, role)
}

func (x *xferFixture) login(t testing.TB) *xferFixture {
	t.Helper()
	if r := x.alice.login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("alice: %+v", r)
	}
	if r := x.bob.login("bob", "builder"); r.Code != wire.OK {
		t.Fatalf("bob: %+v", r)
	}
	return x
}

// fetch has alice ask bob for file and returns the token bob was offered.
func (x *xferFixture) fetch(file string) string {
	t := x.alice.t
	t.Helper()
	r := x.alice.call(&wire.Frame{Type: wire.TypeFetch, To: "bob", Name: file})
	if r.Code != wire.OK || r.Token == "" || r.Text != "asking bob for "+file {
		t.Fatalf("fetch: %+v", r)
	}
	o := x.bob.must()
	if o.Type != wire.TypeFileOffer || o.From != "alice" || o.Name != file || o.Token != r.Token {
		t.Fatalf("offer: %+v", o)
	}
	return r.Token
}

// randomBytes returns n bytes of random-looking data: a random block of up
// to 1 MiB, repeated with each copy stamped with its index (cheap to make
// even under the race detector, and no two blocks are equal).
func randomBytes(n int, seed uint64) []byte {
	b := make([]byte, n)
	block := min(n, 1<<20)
	r := rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8)})
	r.Read(b[:block])
	for off, i := block, uint64(1); off < n; off, i = off+block, i+1 {
		copy(b[off:], b[:block])
		binary.BigEndian.PutUint64(b[off:min(off+8, n)], i)
	}
	return b
}

// send writes data on the owner's data connection and closes it.
func (d *dataClient) sendAndClose(data []byte) <-chan error {
	done := make(chan error, 1)
	go func() {
		_, err := d.conn.Write(data)
		if err == nil {
			err = d.conn.CloseWrite()
		}
		done <- err
	}()
	return done
}

func TestRelayTransfer(t *testing.T) {
	for _, tc := range []struct {
		name        string
		size        int
		ownerFirst  bool
		ownerStream bool // the owner streams without waiting for its reply
	}{
		{"empty", 0, false, false},
		{"one byte", 1, true, true},
		{"8MiB requester first", 8 << 20, false, false},
		{"8MiB owner first streaming", 8 << 20, true, true},
		{"8MiB over TLS", 8 << 20, false, false},
		{"8MiB over TLS owner first streaming", 8 << 20, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var x *xferFixture
			if strings.Contains(tc.name, "TLS") {
				x = newXferTLS(t, Config{})
			} else {
				x = newXfer(t, Config{})
			}
			token := x.fetch("report.pdf")
			data := randomBytes(tc.size, uint64(tc.size))
			var req, own *dataClient
			var sent <-chan error
			if tc.ownerFirst {
				own = x.attach(t, token, wire.RoleOwner)
				if tc.ownerStream {
					sent = own.sendAndClose(data)
				} else {
					own.expectReply(wire.OK, "send report.pdf to alice")
				}
				req = x.attach(t, token, wire.RoleRequester)
				req.expectReply(wire.OK, "waiting for report.pdf from bob")
			} else {
				req = x.attach(t, token, wire.RoleRequester)
				req.expectReply(wire.OK, "waiting for report.pdf from bob")
				own = x.attach(t, token, wire.RoleOwner)
			}
			if sent == nil {
				sent = own.sendAndClose(data)
			}
			got, err := req.readAll()
			if err != nil {
				t.Fatalf("requester: %v", err)
			}
			req.conn.Close()
			if err := <-sent; err != nil {
				t.Fatalf("owner: %v", err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes (sha %x), want %d (sha %x)", len(got), sha256.Sum256(got), len(data), sha256.Sum256(data))
			}
			// The owner's side is closed by the server after its EOF.
			if !tc.ownerStream || tc.ownerFirst {
				own.expectClosed()
			}
			// Nothing more for alice: the transfer ended normally.
			if r := x.alice.call(&wire.Frame{Type: wire.TypePing}); r.Code != wire.OK {
				t.Fatalf("ping: %+v", r)
			}
			waitFor(t, "the transfer to be forgotten", func() bool { return x.s.transfers() == 0 })
		})
	}
}

// transfers returns the hub's count of transfers under way, as the loop
// last published it.
func (s *startedServer) transfers() int { return int(s.relay.transfers.Load()) }

// expectFailed reads c's frames until a FileFailed and checks it.
func expectFailed(c *client, code wire.Code, text string) *wire.Frame {
	c.t.Helper()
	f := c.must()
	if f.Type != wire.TypeFileFailed || f.Code != code || (text != "" && f.Text != text) {
		c.t.Fatalf("want FileFailed %d %q, got %+v", code, text, f)
	}
	return f
}

func TestRelayBackPressure(t *testing.T) {
	x := newXfer(t, Config{})
	token := x.fetch("big.bin")
	req := attach(t, x.s.Addr(), token, wire.RoleRequester)
	req.expectReply(wire.OK, "")
	own := attach(t, x.s.Addr(), token, wire.RoleOwner)
	own.expectReply(wire.OK, "")
	data := randomBytes(64<<20, 7)
	var written atomic.Int64
	done := make(chan error, 1)
	go func() {
		for off := 0; off < len(data); off += 64 << 10 {
			n, err := own.conn.Write(data[off : off+64<<10])
			written.Add(int64(n))
			if err != nil {
				done <- err
				return
			}
		}
		done <- own.conn.CloseWrite()
	}()
	// The requester reads nothing: the server stops reading the owner once
	// the requester's queue is full, and the owner's writes block.
	waitFor(t, "the owner to be paused", func() bool { return x.s.relay.pauses.Load() > 0 })
	if q := x.s.relay.maxQueued.Load(); q > relayWindow || q < relayWindow/2 {
		t.Fatalf("queued %d bytes for the requester, the window is %d", q, relayWindow)
	}
	select {
	case err := <-done:
		t.Fatalf("the owner wrote all %d bytes to a requester that reads nothing (%v)", len(data), err)
	default:
	}
	if w := written.Load(); w == int64(len(data)) {
		t.Fatalf("the owner wrote everything")
	}
	// Now the requester reads everything; the queue never passed the window.
	got, err := req.readAll()
	if err != nil {
		t.Fatal(err)
	}
	req.conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("owner: %v", err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d", len(got), len(data))
	}
	if q := x.s.relay.maxQueued.Load(); q > relayWindow {
		t.Fatalf("queued %d bytes for the requester, the window is %d", q, relayWindow)
	}
	if n := x.s.relay.pauses.Load(); n < 2 {
		t.Fatalf("owner paused %d times", n)
	}
	t.Logf("owner paused %d times; at most %d bytes queued", x.s.relay.pauses.Load(), x.s.relay.maxQueued.Load())
}

func TestRelayRefuse(t *testing.T) {
	x := newXfer(t, Config{})
	token := x.fetch("missing.txt")
	req := attach(t, x.s.Addr(), token, wire.RoleRequester)
	req.expectReply(wire.OK, "")
	r := x.bob.call(&wire.Frame{Type: wire.TypeRefuse, Token: token, Code: wire.ErrNoSuchFile, Text: "bob has no file named missing.txt"})
	if r.Code != wire.OK {
		t.Fatalf("refuse: %+v", r)
	}
	f := expectFailed(x.alice, wire.ErrNoSuchFile, "bob has no file named missing.txt")
	if f.From != "bob" || f.Name != "missing.txt" || f.Token != token {
		t.Fatalf("file failed: %+v", f)
	}
	if got, _ := req.readAll(); len(got) != 0 {
		t.Fatalf("requester got %d bytes", len(got))
	}
	// A late attach is refused with the reason and closed.
	own := attach(t, x.s.Addr(), token, wire.RoleOwner)
	own.expectReply(wire.ErrNoSuchFile, "bob has no file named missing.txt")
	own.expectClosed()
}

func TestRelayBadAttach(t *testing.T) {
	x := newXfer(t, Config{})
	d := attach(t, x.s.Addr(), "0123456789abcdef0123456789abcdef", wire.RoleRequester)
	d.expectReply(wire.ErrNoSuchToken, "no transfer has that token: it is unknown or has ended")
	d.expectClosed()
	d = attach(t, x.s.Addr(), x.fetch("f"), 7)
	d.expectReply(wire.ErrBadRequest, "")
	d.expectClosed()
	// Attach after Hello on a chat connection: refused, the connection goes on.
	r := x.bob.call(&wire.Frame{Type: wire.TypeAttach, Token: "x", Code: wire.RoleOwner})
	if r.Code != wire.ErrBadRequest {
		t.Fatalf("attach on a chat connection: %+v", r)
	}
	// A data connection is no user.
	if r := x.alice.call(&wire.Frame{Type: wire.TypeWho}); r.Count != 2 {
		t.Fatalf("who: %+v", r)
	}
}

func TestRelayOwnerLeaves(t *testing.T) {
	x := newXfer(t, Config{})
	token := x.fetch("movie.mkv")
	req := attach(t, x.s.Addr(), token, wire.RoleRequester)
	req.expectReply(wire.OK, "")
	own := attach(t, x.s.Addr(), token, wire.RoleOwner)
	own.expectReply(wire.OK, "")
	if _, err := own.conn.Write(randomBytes(100<<10, 1)); err != nil {
		t.Fatal(err)
	}
	// The requester sees the first bytes, then the owner's chat connection
	// closes in the middle of the transfer.
	var first [1]byte
	if _, err := io.ReadFull(req.conn, first[:]); err != nil {
		t.Fatal(err)
	}
	x.bob.conn.Close()
	expectFailed(x.alice, wire.ErrOwnerGone, "bob left before sending movie.mkv")
	got, _ := req.readAll() // EOF or reset
	if len(got) >= 100<<10 {
		t.Logf("requester got all %d bytes before the close", len(got)+1)
	}
	own.expectClosed()
	waitFor(t, "the transfer to be forgotten", func() bool { return x.s.transfers() == 0 })
}

func TestRelayRequesterFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(req *dataClient)
		code wire.Code
	}{
		{"requester sends", func(req *dataClient) { req.conn.Write([]byte("hello?")) }, wire.ErrBadRequest},
		{"requester closes", func(req *dataClient) { req.conn.Close() }, wire.ErrUnavailable},
		{"requester resets", func(req *dataClient) { req.conn.(*net.TCPConn).SetLinger(0); req.conn.Close() }, wire.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newXfer(t, Config{})
			token := x.fetch("f")
			req := attach(t, x.s.Addr(), token, wire.RoleRequester)
			req.expectReply(wire.OK, "")
			own := attach(t, x.s.Addr(), token, wire.RoleOwner)
			own.expectReply(wire.OK, "")
			tc.act(req)
			expectFailed(x.alice, tc.code, "")
			// The owner's data connection is closed: its writes fail soon.
			own.expectClosed()
			waitFor(t, "the transfer to be forgotten", func() bool { return x.s.transfers() == 0 })
		})
	}
	// Bytes right behind the requester's Attach, in the same write.
	x := newXfer(t, Config{})
	token := x.fetch("f")
	c, err := net.Dial("tcp", x.s.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write(append(wire.Encode(&wire.Frame{Type: wire.TypeAttach, ID: 1, Token: token, Code: wire.RoleRequester}), "junk"...))
	expectFailed(x.alice, wire.ErrBadRequest, "")
}

func TestRelayAttachTimeout(t *testing.T) {
	x := newXfer(t, Config{Transfer: hub.TransferConfig{AttachTimeout: 50 * time.Millisecond}})
	token := x.fetch("slow.txt")
	req := attach(t, x.s.Addr(), token, wire.RoleRequester)
	req.expectReply(wire.OK, "")
	expectFailed(x.alice, wire.ErrUnavailable, "bob did not start sending slow.txt within 50ms")
	req.expectClosed()
	waitFor(t, "the transfer to be forgotten", func() bool { return x.s.transfers() == 0 })
}

// keepAlive answers c's pings in the background and passes the other
// frames on; stop ends it.
func keepAlive(c *client) (pings *atomic.Int64, frames <-chan *wire.Frame, stop func()) {
	pings = new(atomic.Int64)
	ch := make(chan *wire.Frame, 16)
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		buf := make([]byte, 4096)
		for {
			select {
			case <-quit:
				return
			default:
			}
			c.conn.SetReadDeadline(time.Now().Add(5 * time.Millisecond))
			n, _ := c.conn.Read(buf)
			c.dec.Feed(buf[:n])
			for {
				f := new(wire.Frame)
				ok, err := c.dec.Next(f)
				if err != nil || !ok {
					break
				}
				if f.Type == wire.TypeServerPing {
					pings.Add(1)
					c.conn.Write(wire.Encode(&wire.Frame{Type: wire.TypePong}))
					continue
				}
				select {
				case ch <- f:
				default:
				}
			}
		}
	}()
	return pings, ch, func() { close(quit); <-finished }
}

func nextFrame(t *testing.T, frames <-chan *wire.Frame) *wire.Frame {
	t.Helper()
	select {
	case f := <-frames:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame")
		return nil
	}
}

// TestRelayDataConnsNotPinged: a transfer that stalls for many ping
// intervals survives: data connections get no pings and are not timed out.
func TestRelayDataConnsNotPinged(t *testing.T) {
	s := start(t, Config{PingInterval: 20 * time.Millisecond, PeerTimeout: 300 * time.Millisecond})
	alice, bob := dial(t, s.Addr()), dial(t, s.Addr())
	alice.login("alice", "wonderland")
	alicePings, aliceFrames, stopA := keepAlive(alice)
	defer stopA()
	bob.login("bob", "builder")
	_, bobFrames, stopB := keepAlive(bob)
	defer stopB()
	alice.conn.Write(wire.Encode(&wire.Frame{Type: wire.TypeFetch, ID: 100, To: "bob", Name: "f"}))
	r := nextFrame(t, aliceFrames)
	if r.ID != 100 || r.Code != wire.OK {
		t.Fatalf("fetch: %+v", r)
	}
	if o := nextFrame(t, bobFrames); o.Type != wire.TypeFileOffer {
		t.Fatalf("offer: %+v", o)
	}
	req := attach(t, s.Addr(), r.Token, wire.RoleRequester)
	req.expectReply(wire.OK, "")
	own := attach(t, s.Addr(), r.Token, wire.RoleOwner)
	data := randomBytes(1<<20, 3)
	own.conn.Write(data[:1000])
	// Many ping intervals and timeouts pass (alice is pinged again and
	// again) while the data connections stay silent.
	base := alicePings.Load()
	waitFor(t, "several pings", func() bool { return alicePings.Load() >= base+20 })
	sent := own.sendAndClose(data[1000:])
	got, err := req.readAll()
	if err != nil {
		t.Fatal(err)
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, want %d", len(got), len(data))
	}
	select {
	case f := <-aliceFrames:
		t.Fatalf("alice got %+v", f)
	default:
	}
}

// TestRelayShutdown: a shutdown during transfers closes the data
// connections too, and leaves no descriptor or goroutine behind.
func TestRelayShutdown(t *testing.T) {
	warmUp(t)
	fdsBefore := countFds(t)
	goBefore := runtime.NumGoroutine()
	func() {
		x := newXfer(t, Config{})
		// One transfer done, one paused on back-pressure, one waiting for
		// its owner.
		token := x.fetch("done")
		req := attach(t, x.s.Addr(), token, wire.RoleRequester)
		req.expectReply(wire.OK, "")
		own := attach(t, x.s.Addr(), token, wire.RoleOwner)
		<-own.sendAndClose(randomBytes(1<<20, 1))
		if got, err := req.readAll(); err != nil || len(got) != 1<<20 {
			t.Fatalf("first transfer: %d bytes, %v", len(got), err)
		}
		req.conn.Close()
		own.conn.Close()

		token = x.fetch("stuck")
		req = attach(t, x.s.Addr(), token, wire.RoleRequester)
		req.expectReply(wire.OK, "")
		own = attach(t, x.s.Addr(), token, wire.RoleOwner)
		sent := own.sendAndClose(randomBytes(64<<20, 2))
		waitFor(t, "the owner to be paused", func() bool { return x.s.relay.pauses.Load() > 0 })

		token = x.fetch("waiting")
		req2 := attach(t, x.s.Addr(), token, wire.RoleRequester)
		req2.expectReply(wire.OK, "")

		x.s.Shutdown()
		names := map[string]bool{}
		for range 2 {
			names[expectFailed(x.alice, wire.ErrUnavailable, "the server is shutting down").Name] = true
		}
		if !names["stuck"] || !names["waiting"] {
			t.Fatalf("failed transfers: %v", names)
		}
		x.alice.expect(wire.TypeNotice, wire.NoticeShutdown, "")
		x.alice.expect(wire.TypeBye, wire.ByeShutdown, "")
		if err := <-sent; err == nil {
			t.Fatal("the owner's stream to a shut-down server went through")
		}
		req.readAll()
		req2.expectClosed()
		for _, c := range []*client{x.alice, x.bob} {
			c.conn.Close()
		}
		for _, d := range []*dataClient{req, req2, own} {
			d.conn.Close()
		}
		if err := x.s.stop(t); err != nil {
			t.Fatal(err)
		}
	}()
	waitFor(t, "descriptors to be released", func() bool { return countFds(t) <= fdsBefore })
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goBefore })
}

// TestRelayNoLeaks runs transfers that end in every way and checks that
// the server keeps no transfer, descriptor or goroutine.
func TestRelayNoLeaks(t *testing.T) {
	warmUp(t)
	fdsBefore := countFds(t)
	goBefore := runtime.NumGoroutine()
	func() {
		x := newXfer(t, Config{})
		for i := range 12 {
			token := x.fetch("f")
			req := attach(t, x.s.Addr(), token, wire.RoleRequester)
			req.expectReply(wire.OK, "")
			own := attach(t, x.s.Addr(), token, wire.RoleOwner)
			switch i % 4 {
			case 0: // complete
				sent := own.sendAndClose(randomBytes(300<<10, uint64(i)))
				req.readAll()
				<-sent
			case 1: // the requester resets mid-stream
				own.sendAndClose(randomBytes(4<<20, 1))
				io.ReadFull(req.conn, make([]byte, 1000))
				req.conn.(*net.TCPConn).SetLinger(0)
				req.conn.Close()
				expectFailed(x.alice, wire.ErrUnavailable, "")
			case 2: // the owner resets mid-stream
				own.expectReply(wire.OK, "")
				own.conn.Write(randomBytes(1000, 1))
				io.ReadFull(req.conn, make([]byte, 1000))
				own.conn.(*net.TCPConn).SetLinger(0)
				own.conn.Close()
				expectFailed(x.alice, wire.ErrOwnerGone, "")
				req.expectClosed()
			case 3: // refused after both attached
				x.bob.call(&wire.Frame{Type: wire.TypeRefuse, Token: token, Code: wire.ErrUnreadable})
				expectFailed(x.alice, wire.ErrUnreadable, "")
				req.expectClosed()
			}
			req.conn.Close()
			own.conn.Close()
		}
		waitFor(t, "every transfer to end", func() bool { return x.s.transfers() == 0 })
		x.alice.conn.Close()
		x.bob.conn.Close()
		if err := x.s.stop(t); err != nil {
			t.Fatal(err)
		}
	}()
	waitFor(t, "descriptors to be released", func() bool { return countFds(t) <= fdsBefore })
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goBefore })
}

// BenchmarkRelay: one 64 MiB transfer through the server's loop over
// loopback per iteration.
func BenchmarkRelay(b *testing.B) {
	const size = 64 << 20
	x := newXfer(b, Config{})
	data := randomBytes(size, 1)
	buf := make([]byte, 256<<10)
	b.SetBytes(size)
	b.ResetTimer()
	for range b.N {
		token := x.fetch("bench")
		req := attach(b, x.s.Addr(), token, wire.RoleRequester)
		req.expectReply(wire.OK, "")
		own := attach(b, x.s.Addr(), token, wire.RoleOwner)
		sent := own.sendAndClose(data)
		n := len(req.rest)
		for {
			m, err := req.conn.Read(buf)
			n += m
			if err != nil {
				break
			}
		}
		if err := <-sent; err != nil || n != size {
			b.Fatalf("relayed %d bytes: %v", n, err)
		}
		req.conn.Close()
		own.conn.Close()
	}
}

// TestRelayOwnerResetWhilePaused: an owner that resets its connection
// while the server is not reading it (back-pressure) fails the transfer
// once the requester has drained what was queued.
func TestRelayOwnerResetWhilePaused(t *testing.T) {
	x := newXfer(t, Config{})
	token := x.fetch("f")
	req := attach(t, x.s.Addr(), token, wire.RoleRequester)
	req.expectReply(wire.OK, "")
	own := attach(t, x.s.Addr(), token, wire.RoleOwner)
	own.expectReply(wire.OK, "")
	go own.conn.Write(randomBytes(64<<20, 5))
	waitFor(t, "the owner to be paused", func() bool { return x.s.relay.pauses.Load() > 0 })
	own.conn.(*net.TCPConn).SetLinger(0)
	own.conn.Close()
	// A ping round trip: the loop has seen the reset and is still serving.
	if r := x.bob.call(&wire.Frame{Type: wire.TypePing}); r.Code != wire.OK {
		t.Fatalf("ping: %+v", r)
	}
	got, _ := req.readAll()
	if len(got) >= 64<<20 {
		t.Fatalf("requester got everything (%d bytes) from an owner that reset", len(got))
	}
	expectFailed(x.alice, wire.ErrOwnerGone, "the transfer of f broke off: bob's data connection closed")
	waitFor(t, "the transfer to be forgotten", func() bool { return x.s.transfers() == 0 })
}

// BenchmarkRelayTen: ten 16 MiB transfers at once through the loop.
func BenchmarkRelayTen(b *testing.B) {
	const size, n = 16 << 20, 10
	x := newXfer(b, Config{Transfer: hub.TransferConfig{PerOwner: n, PerRequester: n}})
	data := randomBytes(size, 1)
	b.SetBytes(size * n)
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			token := x.fetch("bench")
			req := attach(b, x.s.Addr(), token, wire.RoleRequester)
			req.expectReply(wire.OK, "")
			own := attach(b, x.s.Addr(), token, wire.RoleOwner)
			wg.Add(1)
			go func() {
				defer wg.Done()
				sent := own.sendAndClose(data)
				buf := make([]byte, 256<<10)
				got := len(req.rest)
				for {
					m, err := req.conn.Read(buf)
					got += m
					if err != nil {
						break
					}
				}
				if err := <-sent; err != nil || got != size {
					errs <- fmt.Errorf("relayed %d bytes: %v", got, err)
				}
				req.conn.Close()
				own.conn.Close()
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
}

// BenchmarkChatDuringRelay: the time from alice's Tell to bob's receiving
// it (ns/op), with no transfer and while bob streams a file to alice as
// fast as the loopback takes it: the relay must not starve chat.
func BenchmarkChatDuringRelay(b *testing.B) {
	for _, busy := range []bool{false, true} {
		name := "idle"
		if busy {
			name = "transfer"
		}
		b.Run(name, func(b *testing.B) {
			x := newXfer(b, Config{MsgRate: -1}) // no flood control: the Tells come back to back
			var relayed atomic.Int64
			if busy {
				token := x.fetch("stream")
				req := attach(b, x.s.Addr(), token, wire.RoleRequester)
				req.expectReply(wire.OK, "")
				own := attach(b, x.s.Addr(), token, wire.RoleOwner)
				own.expectReply(wire.OK, "")
				block := randomBytes(1<<20, 9)
				quit := make(chan struct{})
				var wg sync.WaitGroup
				wg.Add(2)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-quit:
							own.conn.Close()
							return
						default:
						}
						if _, err := own.conn.Write(block); err != nil {
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					buf := make([]byte, 256<<10)
					for {
						n, err := req.conn.Read(buf)
						relayed.Add(int64(n))
						if err != nil {
							return
						}
					}
				}()
				b.Cleanup(func() { close(quit); req.conn.Close(); wg.Wait() })
				waitFor(b, "the transfer to run", func() bool { return relayed.Load() > 8<<20 })
			}
			start := relayed.Load()
			b.ResetTimer()
			t0 := time.Now()
			for range b.N {
				id := x.alice.send(&wire.Frame{Type: wire.TypeTell, To: "bob", Text: "ping"})
				if m := x.bob.must(); m.Type != wire.TypePrivate {
					b.Fatalf("bob got %+v", m)
				}
				x.alice.expectReply(id, wire.OK)
			}
			b.StopTimer()
			if busy {
				b.ReportMetric(float64(relayed.Load()-start)/time.Since(t0).Seconds()/1e6, "relayMB/s")
			}
		})
	}
}

// TestRelayDataWithAttach: file bytes in the same write as the owner's
// Attach, whether the requester is attached yet or not, are relayed first
// and in order.
func TestRelayDataWithAttach(t *testing.T) {
	for _, ownerFirst := range []bool{true, false} {
		t.Run(fmt.Sprint("owner first ", ownerFirst), func(t *testing.T) {
			x := newXfer(t, Config{})
			token := x.fetch("f")
			data := randomBytes(300<<10, 11)
			var req *dataClient
			if !ownerFirst {
				req = attach(t, x.s.Addr(), token, wire.RoleRequester)
				req.expectReply(wire.OK, "")
			}
			c, err := net.Dial("tcp", x.s.Addr())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			own := &dataClient{t: t, conn: c.(*net.TCPConn)}
			sent := own.sendAndClose(append(wire.Encode(&wire.Frame{Type: wire.TypeAttach, ID: 1, Token: token, Code: wire.RoleOwner}), data...))
			if ownerFirst {
				waitFor(t, "the owner to attach", func() bool { return x.s.relay.attached.Load() == 1 })
				req = attach(t, x.s.Addr(), token, wire.RoleRequester)
				req.expectReply(wire.OK, "")
			}
			got, err := req.readAll()
			if err != nil {
				t.Fatal(err)
			}
			if err := <-sent; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("got %d bytes, want %d", len(got), len(data))
			}
			own.expectReply(wire.OK, "send f to alice")
		})
	}
}
