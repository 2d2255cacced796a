package server

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/internal/certs"
	"chat/internal/wire"
)

// testCert is a self-signed certificate for "chat.test" and 127.0.0.1,
// made once per test binary, with a server and a client configuration
// that use it.
var testCert = sync.OnceValues(func() (*tls.Config, *tls.Config) {
	certPEM, keyPEM, err := certs.SelfSigned([]string{"chat.test", "127.0.0.1"}, time.Hour)
	if err != nil {
		panic(err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		panic(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(certPEM)
	return &tls.Config{Certificates: []tls.Certificate{pair}},
		&tls.Config{RootCAs: roots, ServerName: "chat.test", ClientSessionCache: tls.NewLRUClientSessionCache(16)}
})

// startTLS starts a server whose chat protocol is served over TLS only,
// and over TLS and plain on IRC.
func startTLS(t testing.TB, cfg Config) *startedServer {
	t.Helper()
	cfg.TLS, _ = testCert()
	cfg.TLSAddr = "127.0.0.1:0"
	return start(t, cfg)
}

// dialTLS is dial over TLS.
func dialTLS(t testing.TB, addr string) *client {
	t.Helper()
	_, cfg := testCert()
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, conn: c, buf: make([]byte, 64<<10)}
}

func TestTLSCarriesTheChatProtocol(t *testing.T) {
	s := startTLS(t, Config{})
	if s.TLSAddr() == "" || s.Addr() != s.TLSAddr() {
		t.Fatalf("Addr %q, TLSAddr %q: want the TLS listener's address for both", s.Addr(), s.TLSAddr())
	}
	a, b := dialTLS(t, s.TLSAddr()), dialTLS(t, s.TLSAddr())
	if r := a.login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("alice login: %+v", r)
	}
	if r := b.login("bob", "builder"); r.Code != wire.OK {
		t.Fatalf("bob login: %+v", r)
	}
	a.expectReply(a.send(&wire.Frame{Type: wire.TypeCreate, Room: "tea"}), wire.OK)
	a.expectReply(a.send(&wire.Frame{Type: wire.TypeEnter, Room: "tea"}), wire.OK)
	b.expectReply(b.send(&wire.Frame{Type: wire.TypeEnter, Room: "tea"}), wire.OK)
	a.expect(wire.TypeNotice, wire.NoticeEntered, "")
	// Bigger than a TLS record: split and joined again.
	long := strings.Repeat("steep it longer ", 1500)
	for _, text := range []string{"milk first?", long} {
		a.expectReply(a.send(&wire.Frame{Type: wire.TypeSay, Text: text}), wire.OK)
		if m := b.must(); m.Type != wire.TypeMessage || m.Text != text || m.From != "alice" {
			t.Fatalf("bob got %v from %q, %d bytes", m.Type, m.From, len(m.Text))
		}
	}
	// A close_notify ends the stream cleanly on both sides.
	b.conn.(*tls.Conn).CloseWrite()
	a.expect(wire.TypeNotice, wire.NoticeLost, "")
	if _, err := b.next(); err == nil {
		t.Fatal("the server kept bob's connection open after his close_notify")
	}
}

func TestTLSResumesSessions(t *testing.T) {
	s := startTLS(t, Config{})
	first := dialTLS(t, s.TLSAddr())
	first.login("alice", "wonderland") // reads the session ticket on the way
	second := dialTLS(t, s.TLSAddr())
	if !second.conn.(*tls.Conn).ConnectionState().DidResume {
		t.Fatal("a second connection did not resume the first one's TLS session")
	}
	if r := second.login("bob", "builder"); r.Code != wire.OK {
		t.Fatalf("login over a resumed session: %+v", r)
	}
}

func TestPlainClientOnATLSPortIsToldWhy(t *testing.T) {
	s := startTLS(t, Config{})
	c := dial(t, s.TLSAddr())
	c.send(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	bye := c.must()
	if bye.Type != wire.TypeBye || !strings.Contains(bye.Text, "TLS only") {
		t.Fatalf("a plain client got %+v, want a Bye saying the port speaks TLS only", bye)
	}
	if _, err := c.next(); err == nil {
		t.Fatal("the connection stayed open after the Bye")
	}
	// Everyone else is served.
	if r := dialTLS(t, s.TLSAddr()).login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("login after the refusal: %+v", r)
	}
}

func TestTLSClientOnAPlainPortIsRefused(t *testing.T) {
	s := start(t, Config{IRCAddr: "127.0.0.1:0"})
	_, cfg := testCert()
	for _, addr := range []string{s.Addr(), s.IRCAddr()} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		tc := tls.Client(nc, cfg)
		tc.SetDeadline(time.Now().Add(5 * time.Second))
		err = tc.Handshake()
		var rh tls.RecordHeaderError
		if !errors.As(err, &rh) {
			t.Fatalf("handshake with the plain port %s: %v, want a record header error", addr, err)
		}
		tc.Close()
	}
	if r := dial(t, s.Addr()).login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("login after the refusal: %+v", r)
	}
}

func TestIRCOverTLS(t *testing.T) {
	cfg, _ := testCert()
	s := start(t, Config{TLS: cfg, IRCTLSAddr: "127.0.0.1:0"})
	_, ccfg := testCert()
	c, err := tls.Dial("tcp", s.IRCTLSAddr(), ccfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &ircPeer{t: t, conn: c, r: bufio.NewReader(c)}
	p.register("alice", "wonderland")
	p.send("JOIN #tea")
	p.expect(`^:alice!\S+ JOIN :?#tea$`)
}

// Handshakes begun and never finished are bounded like connections that
// never say Hello: closed at the Hello deadline, their goroutines gone.
func TestHalfOpenHandshakesAreClosedAtTheHelloDeadline(t *testing.T) {
	s := startTLS(t, Config{HelloTimeout: 300 * time.Millisecond})
	goBefore := runtime.NumGoroutine()
	hello := clientHello(t)
	const n = 200
	conns := make([]net.Conn, n)
	for i := range conns {
		c, err := net.Dial("tcp", s.TLSAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(hello[:len(hello)/2]) // a handshake begun, never finished
		conns[i] = c
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil {
			for {
				if _, err := c.Read(make([]byte, 512)); err != nil {
					break
				}
			}
		}
	}
	waitFor(t, "the handshake goroutines to end", func() bool { return runtime.NumGoroutine() <= goBefore })
	if r := dialTLS(t, s.TLSAddr()).login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("login after the half-open storm: %+v", r)
	}
}

// clientHello returns the first flight of a TLS client.
func clientHello(t testing.TB) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	_, cfg := testCert()
	go tls.Client(a, cfg).Handshake()
	buf := make([]byte, 4096)
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}

func TestTLSShutdownSaysBye(t *testing.T) {
	s := startTLS(t, Config{})
	a := dialTLS(t, s.TLSAddr())
	if r := a.login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("login: %+v", r)
	}
	s.Shutdown()
	for {
		f := a.must()
		if f.Type == wire.TypeBye {
			if f.Code != wire.ByeShutdown {
				t.Fatalf("bye %+v", f)
			}
			break
		}
	}
	if _, err := a.next(); err == nil {
		t.Fatal("the connection stayed open after the Bye")
	}
}

func TestPlainIRCClientOnATLSPortIsToldWhy(t *testing.T) {
	cfg, _ := testCert()
	s := start(t, Config{TLS: cfg, IRCTLSAddr: "127.0.0.1:0"})
	c, err := net.Dial("tcp", s.IRCTLSAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	p := &ircPeer{t: t, conn: c, r: bufio.NewReader(c)}
	p.send("NICK alice", "USER alice 0 * :Alice")
	p.expect(`^ERROR :.*TLS only`)
	p.expectClosed()
}
