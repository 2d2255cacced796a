package client

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// These tests run the whole client over TLS against the fake server, its
// connections wrapped in crypto/tls's server side.

// liveCert is a certificate for hosts valid around the real time, signed
// by parent (nil: by itself).
func liveCert(t *testing.T, parent *testCert, hosts ...string) *testCert {
	return makeCert(t, hosts[0], hosts, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), parent, false)
}

func liveCA(t *testing.T) *testCert {
	return makeCert(t, "Test CA", nil, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour), nil, true)
}

// serverTLS is a server's TLS: one config for all its connections, so
// that their session tickets are the same server's.
func serverTLS(c *testCert) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{c.tls}}
}

// secureNext takes the client's next connection and speaks TLS on it.
func (s *fakeServer) secureNext(cfg *tls.Config) *peer {
	s.t.Helper()
	p := s.next()
	p.c = tls.Server(p.c, cfg)
	return p
}

// handshakeRefused takes the client's next connection, whose handshake
// the client ends because it does not trust the certificate.
func (s *fakeServer) handshakeRefused(cfg *tls.Config) {
	s.t.Helper()
	p := s.next()
	tc := tls.Server(p.c, cfg)
	tc.SetDeadline(time.Now().Add(waitLimit))
	if err := tc.Handshake(); err == nil {
		s.t.Error("the client completed a handshake with a certificate it should not trust")
	}
}

// noMoreConnections checks, once the client has exited, that it made no
// other connection.
func (s *fakeServer) noMoreConnections() {
	s.t.Helper()
	select {
	case <-s.conns:
		s.t.Error("the client connected again")
	default:
	}
}

// TestTLSSession connects through an authority, chats, and reconnects
// after a cut: the reconnection resumes the TLS session.
func TestTLSSession(t *testing.T) {
	ca := liveCA(t)
	srvTLS := serverTLS(liveCert(t, ca, "127.0.0.1"))
	srv := newFakeServer(t)
	in, out, done := runClientConfig(t, Config{Addr: srv.addr, Mode: roomsMode{},
		TLS: &TLSConfig{CA: ca.pool(), CAFile: "ca.pem"}})

	p := srv.secureNext(srvTLS)
	p.hello()
	out.waitFor(t, "connected to "+srv.addr)
	if p.c.(*tls.Conn).ConnectionState().DidResume {
		t.Error("the first connection resumed a session")
	}
	typeLine(t, in, "hello over tls")
	if say := p.answer(wire.TypeSay, ""); say.Text != "hello over tls" {
		t.Errorf("said %q", say.Text)
	}
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "and back"})
	out.waitFor(t, "bob ")
	out.waitFor(t, " and back\n")

	p.c.Close()
	out.waitFor(t, "connection to "+srv.addr+" lost")
	p2 := srv.secureNext(srvTLS)
	p2.hello()
	out.waitFor(t, "reconnected to "+srv.addr)
	if !p2.c.(*tls.Conn).ConnectionState().DidResume {
		t.Error("the reconnection did not resume the TLS session")
	}
	typeLine(t, in, "again")
	p2.answer(wire.TypeSay, "")
	in.Close()
	p2.answer(wire.TypeLogout, "bye")
	if code := exitStatus(t, done, out); code != ExitOK {
		t.Errorf("exit status %d, want 0; output:\n%s", code, out.String())
	}
}

// TestTLSRefusals: certificates the client must not trust end it with one
// line that says why, after one attempt: retrying would meet the same.
func TestTLSRefusals(t *testing.T) {
	ca := liveCA(t)
	other := liveCA(t)
	expired := makeCert(t, "127.0.0.1", []string{"127.0.0.1"}, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour), ca, false)
	self := liveCert(t, nil, "127.0.0.1")
	tests := []struct {
		name string
		tls  TLSConfig
		cert *testCert
		want string
	}{
		{"expired", TLSConfig{CA: ca.pool(), CAFile: "ca.pem"}, expired,
			"its certificate expired on " + whenText(expired.cert.NotAfter) + "; the server's operator must renew it; not retrying, exiting"},
		{"another host", TLSConfig{CA: ca.pool(), CAFile: "ca.pem"}, liveCert(t, ca, "chat.example", "10.1.2.3"),
			"its certificate is for chat.example, 10.1.2.3, not for 127.0.0.1; connect with one of those names; not retrying, exiting"},
		{"another authority", TLSConfig{CA: other.pool(), CAFile: "other.pem"}, liveCert(t, ca, "127.0.0.1"),
			"is not signed by the authority in other.pem; not retrying, exiting"},
		{"another pinned certificate", TLSConfig{Fingerprint: fpA}, self,
			"its certificate is " + self.fp() + ", not " + fpA + " as -tls-fingerprint says; not retrying, exiting"},
		{"unknown, and nobody to ask", TLSConfig{KnownServers: filepath.Join(t.TempDir(), "known")}, self,
			"is signed by no authority this system trusts, and it is not a known server; the input is not a terminal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t)
			cfg := tt.tls
			_, out, done := runClientConfig(t, Config{Addr: srv.addr, Mode: roomsMode{}, TLS: &cfg})
			srv.handshakeRefused(serverTLS(tt.cert))
			if code := exitStatus(t, done, out); code != ExitError {
				t.Errorf("exit status %d, want %d", code, ExitError)
			}
			if !strings.Contains(out.String(), "! ") || !strings.Contains(out.String(), "cannot connect to "+srv.addr+": ") || !strings.Contains(out.String(), tt.want) {
				t.Errorf("output:\n%s\nwant it to contain %q", out.String(), tt.want)
			}
			srv.noMoreConnections()
			if cfg.KnownServers != "" {
				if _, err := os.Stat(cfg.KnownServers); err == nil {
					t.Error("the server was remembered without being trusted")
				}
			}
		})
	}
}

// TestTLSChangedOnReconnect: a remembered server that shows another
// certificate after a reconnection is refused loudly, and the client stops.
func TestTLSChangedOnReconnect(t *testing.T) {
	a, b := liveCert(t, nil, "127.0.0.1"), liveCert(t, nil, "127.0.0.1")
	srv := newFakeServer(t)
	known := filepath.Join(t.TempDir(), "known_servers")
	if err := os.WriteFile(known, []byte("# mine\n"+srv.addr+" "+a.fp()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, out, done := runClientConfig(t, Config{Addr: srv.addr, Mode: roomsMode{}, TLS: &TLSConfig{KnownServers: known}})
	p := srv.secureNext(serverTLS(a))
	p.hello()
	out.waitFor(t, "connected to "+srv.addr)
	p.c.Close()

	srv.handshakeRefused(serverTLS(b))
	if code := exitStatus(t, done, out); code != ExitError {
		t.Errorf("exit status %d, want %d", code, ExitError)
	}
	for _, want := range []string{
		"cannot connect to " + srv.addr + ": ITS CERTIFICATE HAS CHANGED; not connecting, exiting\n",
		"WARNING: THE SERVER'S CERTIFICATE HAS CHANGED!",
		"Trusted before:  " + a.fp(),
		"Now shown:       " + b.fp(),
		"remembered on line 2 of " + known,
		"Not connecting to " + srv.addr + "; exiting.",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output:\n%s\nwant it to contain %q", out.String(), want)
		}
	}
	if strings.Contains(out.String(), "reconnected") {
		t.Error("the client reconnected to the changed server")
	}
	srv.noMoreConnections()
}

// TestTLSToPlainServer: a plain server answers a TLS client in the plain
// protocol; the client says what to do.
func TestTLSToPlainServer(t *testing.T) {
	srv := newFakeServer(t)
	_, out, done := runClientConfig(t, Config{Addr: srv.addr, Mode: roomsMode{}, TLS: &TLSConfig{Fingerprint: fpA}})
	p := srv.next()
	p.c.Read(p.buf[:]) // the ClientHello
	p.send(wire.Frame{Type: wire.TypeBye, Code: wire.ByeMalformed, Text: "this port speaks plain TCP, not TLS"})
	p.c.Close()
	if code := exitStatus(t, done, out); code != ExitError {
		t.Errorf("exit status %d, want %d", code, ExitError)
	}
	if want := srv.addr + " does not speak TLS: connect without tls://; exiting\n"; !strings.Contains(out.String(), want) {
		t.Errorf("output:\n%s\nwant it to contain %q", out.String(), want)
	}
	srv.noMoreConnections()
}

// TestPlainToTLSPort: the server's Bye to a plain client on a TLS port is
// shown, and the client does not try again.
func TestPlainToTLSPort(t *testing.T) {
	srv := newFakeServer(t)
	_, out, done := runClient(t, srv.addr)
	p := srv.next()
	p.expect(wire.TypeHello)
	text := "this port speaks TLS only: connect with TLS (chat tls://HOST:PORT, or your IRC client's TLS option)"
	p.send(wire.Frame{Type: wire.TypeBye, Code: wire.ByeMalformed, Text: text})
	p.c.Close()
	if code := exitStatus(t, done, out); code != ExitError {
		t.Errorf("exit status %d, want %d", code, ExitError)
	}
	if want := "cannot connect to " + srv.addr + ": the server said: " + text + "; not retrying, exiting"; !strings.Contains(out.String(), want) {
		t.Errorf("output:\n%s\nwant it to contain %q", out.String(), want)
	}
	srv.noMoreConnections()
}

// TestTLSTrustOnFirstUse asks on a terminal, remembers the server after a
// yes, and connects; the terminal is restored at the end.
func TestTLSTrustOnFirstUse(t *testing.T) {
	ptmx, tty, before, out := openTestTerminal(t)
	cert := liveCert(t, nil, "127.0.0.1")
	srvTLS := serverTLS(cert)
	srv := newFakeServer(t)
	known := filepath.Join(t.TempDir(), "chat", "known_servers")
	done := make(chan int, 1)
	go func() {
		done <- Run(Config{Addr: srv.addr, Mode: roomsMode{}, Stdin: tty, Stdout: tty, TLS: &TLSConfig{KnownServers: known}})
	}()
	srv.handshakeRefused(srvTLS)
	out.waitFor(t, "the authenticity of "+srv.addr+" cannot be established")
	out.waitFor(t, "its fingerprint is "+cert.fp())
	out.waitFor(t, "it is remembered in "+known)
	out.waitFor(t, trustPrompt)

	ptmx.Write([]byte("maybe\r"))
	out.waitFor(t, "answer yes or no")
	ptmx.Write([]byte(fpA + "\r"))
	out.waitFor(t, "that is not its fingerprint: it shows "+cert.fp())
	ptmx.Write([]byte("YES\r"))
	out.waitFor(t, "remembered "+srv.addr+" as "+cert.fp()+" in "+known+" (line 3)")
	p := srv.secureNext(srvTLS)
	p.hello()
	out.waitFor(t, "connected to "+srv.addr)
	out.waitFor(t, "> ")

	ks, err := readKnown(known)
	if err != nil || len(ks.lookup(srv.addr)) != 1 || ks.lookup(srv.addr)[0].fingerprint != cert.fp() {
		t.Errorf("known servers after yes: %+v, %v", ks, err)
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

// TestTLSTrustRefused: no at the question ends the client, remembering
// nothing, and leaves the terminal as it was.
func TestTLSTrustRefused(t *testing.T) {
	for _, answer := range []string{"no\r", "\x04"} { // no, Ctrl-D
		ptmx, tty, before, out := openTestTerminal(t)
		srvTLS := serverTLS(liveCert(t, nil, "127.0.0.1"))
		srv := newFakeServer(t)
		known := filepath.Join(t.TempDir(), "known_servers")
		done := make(chan int, 1)
		go func() {
			done <- Run(Config{Addr: srv.addr, Mode: namesMode{}, Stdin: tty, Stdout: tty, TLS: &TLSConfig{KnownServers: known}})
		}()
		srv.handshakeRefused(srvTLS)
		out.waitFor(t, trustPrompt)
		ptmx.Write([]byte(answer))
		out.waitFor(t, srv.addr+" is not trusted, so not connecting; exiting")
		select {
		case code := <-done:
			if code != ExitError {
				t.Errorf("exit status %d, want %d", code, ExitError)
			}
		case <-time.After(waitLimit):
			t.Fatal("the client did not exit")
		}
		terminalRestored(t, tty, before)
		if _, err := os.Stat(known); err == nil {
			t.Error("a refused server was remembered")
		}
		srv.noMoreConnections()
	}
}

// terminalRestored checks the terminal's attributes are as before the
// client ran.
func terminalRestored(t *testing.T, tty *os.File, before *unix.Termios) {
	t.Helper()
	after, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Error("terminal not restored")
	}
}

// TestTLSKnownFileProblems: a bad line in the known-servers file is
// reported once, by number, and the good lines still count.
func TestTLSKnownFileProblems(t *testing.T) {
	cert := liveCert(t, nil, "127.0.0.1")
	srvTLS := serverTLS(cert)
	srv := newFakeServer(t)
	known := filepath.Join(t.TempDir(), "known_servers")
	data := "example.org:7777\n" + srv.addr + " " + cert.fp() + "\n"
	if err := os.WriteFile(known, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	in, out, done := runClientConfig(t, Config{Addr: srv.addr, Mode: roomsMode{}, TLS: &TLSConfig{KnownServers: known}})
	p := srv.secureNext(srvTLS)
	p.hello()
	out.waitFor(t, "connected to "+srv.addr)
	p.c.Close()
	p2 := srv.secureNext(srvTLS)
	p2.hello()
	out.waitFor(t, "reconnected to "+srv.addr)
	in.Close()
	p2.answer(wire.TypeLogout, "bye")
	exitStatus(t, done, out)
	want := known + ` line 1: not "HOST:PORT SHA256:fingerprint"; that line is ignored`
	if n := strings.Count(out.String(), want); n != 1 {
		t.Errorf("the bad line reported %d times, want once; output:\n%s", n, out.String())
	}
}
