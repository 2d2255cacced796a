package harness

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeIRCServer accepts one IRCPeer on a local listener and gives the test
// the server's end of the connection, so IRCPeer's framing, matching and
// PONGs are checked byte for byte without a chat-server.
type fakeIRCServer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialFakeIRC(t *testing.T) (*IRCPeer, *fakeIRCServer) {
	t.Helper()
	ln := listenLoopback(t)
	p, err := DialIRC(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return p, &fakeIRCServer{t: t, conn: c, r: bufio.NewReader(c)}
}

// write sends s as it is.
func (f *fakeIRCServer) write(s string) {
	f.t.Helper()
	if _, err := f.conn.Write([]byte(s)); err != nil {
		f.t.Fatal(err)
	}
}

// readLine returns the next line the peer sent, with its line end.
func (f *fakeIRCServer) readLine() string {
	f.t.Helper()
	if err := f.conn.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
		f.t.Fatal(err)
	}
	s, err := f.r.ReadString('\n')
	if err != nil {
		f.t.Fatalf("reading the peer's line: %v (got %q)", err, s)
	}
	return s
}

func TestIRCPeerSendAppendsCRLF(t *testing.T) {
	p, f := dialFakeIRC(t)
	if err := p.Send("NICK %s", "dave"); err != nil {
		t.Fatal(err)
	}
	if got := f.readLine(); got != "NICK dave\r\n" {
		t.Errorf("Send wrote %q, want %q", got, "NICK dave\r\n")
	}
	// SendRaw adds nothing and passes bytes that are not UTF-8.
	if err := p.SendRaw([]byte("PRIVMSG #a :caf\xe9\n")); err != nil {
		t.Fatal(err)
	}
	if got := f.readLine(); got != "PRIVMSG #a :caf\xe9\n" {
		t.Errorf("SendRaw wrote %q", got)
	}
}

func TestIRCPeerExpectConsumesInOrder(t *testing.T) {
	p, f := dialFakeIRC(t)
	// CRLF and a bare LF both end a line.
	f.write(":s 001 dave :Welcome\r\n:s 002 dave :Your host\n:s NOTICE dave :tail\r\n")
	m, err := p.Expect(`^:s (\d+) dave :Your (\w+)$`, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != "002" || m[2] != "host" {
		t.Errorf("submatches %q", m)
	}
	// 001 came before the match: consumed, so it matches no more, and the
	// error shows what is left.
	_, err = p.Expect(` 001 `, 50*time.Millisecond)
	if err == nil {
		t.Fatal("Expect matched a consumed line")
	}
	if !strings.Contains(err.Error(), `":s NOTICE dave :tail"`) || !strings.Contains(err.Error(), "2 lines consumed") {
		t.Errorf("the error does not show the lines seen: %v", err)
	}
	if _, err := p.Expect(`NOTICE dave :tail$`, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	want := []string{":s 001 dave :Welcome", ":s 002 dave :Your host", ":s NOTICE dave :tail"}
	if got := p.Lines(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("Lines() = %q, want %q", got, want)
	}
	if !p.Contains(` 001 `) || p.Contains(`PRIVMSG`) {
		t.Error("Contains does not look at every line received")
	}
}

func TestIRCPeerExpectWaitsForLaterLines(t *testing.T) {
	p, f := dialFakeIRC(t)
	done := make(chan error, 1)
	go func() {
		_, err := p.Expect(`^PONG`, 5*time.Second)
		done <- err
	}()
	// Half a line first: Expect must not match until the rest comes.
	f.write("NOTICE x :first\r\nPO")
	f.write("NG :late\r\n")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestIRCPeerAutoPong(t *testing.T) {
	p, f := dialFakeIRC(t)
	f.write("PING :chat.server\r\n")
	if got := f.readLine(); got != "PONG :chat.server\r\n" {
		t.Errorf("answer to a PING: %q", got)
	}
	f.write(":srv PING token\r\n")
	if got := f.readLine(); got != "PONG token\r\n" {
		t.Errorf("answer to a prefixed PING: %q", got)
	}

	p.AutoPong.Store(false)
	f.write("PING :again\r\nNOTICE x :marker\r\n")
	if _, err := p.Expect(`marker`, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// A PONG would be written before the PING is kept, so before the
	// marker: the next line the server reads shows whether one was sent.
	if err := p.Send("PRIVMSG x :after"); err != nil {
		t.Fatal(err)
	}
	if got := f.readLine(); got != "PRIVMSG x :after\r\n" {
		t.Errorf("with AutoPong off the peer sent %q", got)
	}
}

func TestIRCPeerRegister(t *testing.T) {
	p, f := dialFakeIRC(t)
	done := make(chan error, 1)
	go func() { done <- p.Register("carol", "singer", 5*time.Second) }()
	for _, want := range []string{"PASS singer\r\n", "NICK carol\r\n", "USER carol 0 * :carol\r\n"} {
		if got := f.readLine(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f.write(":chat.server NOTICE * :hello\r\n:chat.server 001 carol :Welcome\r\n")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestIRCPeerRegisterRefusedFailsAtOnce(t *testing.T) {
	p, f := dialFakeIRC(t)
	done := make(chan error, 1)
	go func() { done <- p.Register("alice", "", time.Minute) }()
	// No PASS without a password.
	for _, want := range []string{"NICK alice\r\n", "USER alice 0 * :alice\r\n"} {
		if got := f.readLine(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	f.write(":chat.server 433 * alice :Nickname is already in use\r\n")
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "433 * alice :Nickname is already in use") {
			t.Errorf("Register = %v, want the 433 line", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Register waited for its deadline after a 433")
	}
}

func TestIRCPeerClosed(t *testing.T) {
	p, f := dialFakeIRC(t)
	if err := p.ExpectClosed(50 * time.Millisecond); err == nil {
		t.Fatal("ExpectClosed succeeded on an open connection")
	}
	f.write("ERROR :Closing Link: x\r\nno line end")
	f.conn.Close()
	if err := p.ExpectClosed(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Closed():
	default:
		t.Error("Closed() is not closed after the end")
	}
	// The lines before the end are still there, the unfinished one too.
	if _, err := p.Expect(`^ERROR :Closing Link`, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Expect(`^no line end$`, time.Second); err != nil {
		t.Fatal(err)
	}
	// Nothing more can come: Expect says so without waiting.
	start := time.Now()
	_, err := p.Expect(`never`, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "connection ended") {
		t.Errorf("Expect after the end = %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("Expect waited for its deadline on an ended connection")
	}
	// Closing after the server did, and twice, is harmless.
	if err := p.Close(); err != nil {
		t.Error(err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
