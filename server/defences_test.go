package server

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/internal/wire"
	"chat/server/auth"
)

// trickle writes b one byte every pace until done is closed or a write
// fails (the server closed the connection). It paces an attack; no test
// waits on it.
func trickle(c *client, b []byte, pace time.Duration, done <-chan struct{}) {
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for i := 0; ; i = (i + 1) % len(b) {
		select {
		case <-done:
			return
		case <-tick.C:
		}
		if _, err := c.conn.Write(b[i : i+1]); err != nil {
			return
		}
	}
}

// expectCut reads until the Bye, which must be ByeTimeout with text, then
// EOF.
func (c *client) expectCut(text string) {
	c.t.Helper()
	for {
		f := c.must()
		if f.Type == wire.TypeBye {
			if f.Code != wire.ByeTimeout || f.Text != text {
				c.t.Fatalf("want Bye %d %q, got %+v", wire.ByeTimeout, text, f)
			}
			break
		}
	}
	if f, err := c.next(); !errors.Is(err, io.EOF) {
		c.t.Fatalf("after the Bye: %+v, %v", f, err)
	}
}

func TestServerHelloDeadline(t *testing.T) {
	s := start(t, Config{HelloTimeout: 300 * time.Millisecond, FrameTimeout: -1})
	prompt := dial(t, s.Addr())
	prompt.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	silent := dial(t, s.Addr())
	slow := dial(t, s.Addr())
	done := make(chan struct{})
	defer close(done)
	// A Hello one byte every 20 ms, over and over: activity, but no Hello.
	go trickle(slow, wire.Encode(&wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version, Text: strings.Repeat("x", 40)}), 20*time.Millisecond, done)
	silent.expectCut("no Hello within 300ms of connecting")
	slow.expectCut("no Hello within 300ms of connecting")
	// The connection that said Hello at once, older than both, is served.
	if r := prompt.call(&wire.Frame{Type: wire.TypePing}); r.Code != wire.OK {
		t.Fatalf("ping: %+v", r)
	}
}

func TestServerFrameDeadline(t *testing.T) {
	s := start(t, Config{FrameTimeout: 300 * time.Millisecond, HelloTimeout: -1, PingInterval: -1})
	alice := dial(t, s.Addr())
	alice.login("alice", "wonderland")
	alice.call(&wire.Frame{Type: wire.TypeCreate, Room: "r"})
	alice.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"})
	bob := dial(t, s.Addr())
	bob.login("bob", "builder")
	bob.call(&wire.Frame{Type: wire.TypeEnter, Room: "r"})
	alice.expect(wire.TypeNotice, wire.NoticeEntered, "bob entered r")

	// alice starts a 1000-byte Say and sends its body a byte every 10 ms:
	// always something new, never the whole frame.
	say := wire.Encode(&wire.Frame{Type: wire.TypeSay, ID: 99, Text: strings.Repeat("t", 1000)})
	if _, err := alice.conn.Write(say[:10]); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	defer close(done)
	go trickle(alice, []byte("t"), 10*time.Millisecond, done)

	// Meanwhile bob sends pings in two halves, each frame whole well
	// within the deadline, until alice is cut: he is not.
	lost := false
	for i := 0; !lost; i++ {
		if i > 100000 {
			t.Fatal("alice was never cut")
		}
		b := wire.Encode(&wire.Frame{Type: wire.TypePing, ID: uint32(1000 + i)})
		bob.conn.Write(b[:3])
		bob.conn.Write(b[3:])
		for {
			f := bob.must()
			if f.Type == wire.TypeNotice && f.Code == wire.NoticeLost && f.Text == "contact with alice was lost" {
				lost = true
				continue
			}
			if f.Type != wire.TypeReply || f.ID != uint32(1000+i) || f.Code != wire.OK {
				t.Fatalf("bob's ping %d: %+v", i, f)
			}
			break
		}
	}
	alice.expectCut("a frame took longer than 300ms to arrive")
	if r := bob.call(&wire.Frame{Type: wire.TypeWho}); len(r.Users) != 1 {
		t.Fatalf("who: %+v", r)
	}
}

// timedReply reads c's next reply in the background and reports it with
// the time it arrived.
type timedReply struct {
	f   *wire.Frame
	err error
	at  time.Time
}

func replyLater(c *client) <-chan timedReply {
	ch := make(chan timedReply, 1)
	go func() {
		for {
			f, err := c.next()
			if err == nil && f.Type != wire.TypeReply {
				continue
			}
			ch <- timedReply{f, err, time.Now()}
			return
		}
	}()
	return ch
}

func TestServerLoginThrottle(t *testing.T) {
	const delay = 150 * time.Millisecond
	s := start(t, Config{LoginDelay: delay, LoginDelayMax: 8 * delay})
	other := dial(t, s.Addr())
	other.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})

	wrong := func(c *client, name string) (r *wire.Frame, took time.Duration, pingFirst bool) {
		t.Helper()
		sent := time.Now()
		c.send(&wire.Frame{Type: wire.TypeLogin, Name: name, Secret: "guess"})
		verdict := replyLater(c)
		// Another connection's Ping, sent after the login, is answered
		// before the held verdict: the loop is not waiting on it.
		other.call(&wire.Frame{Type: wire.TypePing})
		pinged := time.Now()
		v := <-verdict
		if v.err != nil {
			t.Fatalf("login as %s: %v", name, v.err)
		}
		return v.f, v.at.Sub(sent), pinged.Before(v.at)
	}

	// Per account (and address): three attempts are free, the fourth
	// waits the delay, the fifth twice that.
	a := dial(t, s.Addr())
	a.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	for i := range 3 {
		if r, _, _ := wrong(a, "alice"); r.Code != wire.ErrBadLogin {
			t.Fatalf("attempt %d: %+v", i+1, r)
		}
	}
	r, took, _ := wrong(a, "alice")
	if r.Code != wire.ErrBadLogin || took < delay {
		t.Fatalf("4th attempt: %+v after %v; want ErrBadLogin after at least %v", r, took, delay)
	}
	// A new connection does not start again (the fifth failure closed a).
	r, took, pingFirst := wrong(a, "alice")
	if r.Code != wire.ErrBadLogin || took < 2*delay || !pingFirst {
		t.Fatalf("5th attempt: %+v after %v (ping answered first: %v); want ErrBadLogin after at least %v, the ping first", r, took, pingFirst, 2*delay)
	}
	a.expect(wire.TypeBye, wire.ByeLimit, "")
	b := dial(t, s.Addr())
	b.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	r, took, pingFirst = wrong(b, "alice")
	if r.Code != wire.ErrBadLogin || took < 4*delay || !pingFirst {
		t.Fatalf("6th attempt, new connection: %+v after %v (ping first: %v); want at least %v", r, took, pingFirst, 4*delay)
	}
	// Per address: other names from the same address wait too.
	r, took, _ = wrong(b, "nobody")
	if r.Code != wire.ErrBadLogin || took < 8*delay {
		t.Fatalf("another name from the same address: %+v after %v; want at least %v", r, took, 8*delay)
	}
	// Held or not, the right password gets in.
	if r := b.call(&wire.Frame{Type: wire.TypeLogin, Name: "bob", Secret: "builder"}); r.Code != wire.OK {
		t.Fatalf("right password: %+v", r)
	}
}

func TestServerLoginFlood(t *testing.T) {
	// A hash that takes a while, one worker, at most 2 checks under way:
	// a flood of logins from 12 connections gets most of them answered
	// busy at once, and the loop keeps serving meanwhile.
	dir := t.TempDir()
	h, err := auth.HashWithCost("wonderland", 32<<10, 4)
	if err != nil {
		t.Fatal(err)
	}
	u := &auth.Users{}
	u.Add("alice", h)
	path := filepath.Join(dir, "users.db")
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	s := start(t, Config{UsersFile: path, Workers: 1, MaxPendingChecks: 2, LoginDelay: -1})
	other := dial(t, s.Addr())
	other.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	const n = 12
	var verdicts []<-chan timedReply
	for range n {
		c := dial(t, s.Addr())
		var buf []byte
		buf = wire.Append(buf, &wire.Frame{Type: wire.TypeHello, ID: 1, Version: wire.Version})
		buf = wire.Append(buf, &wire.Frame{Type: wire.TypeLogin, ID: 2, Name: "alice", Secret: "not it"})
		if _, err := c.conn.Write(buf); err != nil {
			t.Fatal(err)
		}
		c.expectReply(1, wire.OK)
		verdicts = append(verdicts, replyLater(c))
	}
	other.call(&wire.Frame{Type: wire.TypePing})
	pinged := time.Now()
	busy, checked, after := 0, 0, 0
	for _, ch := range verdicts {
		v := <-ch
		if v.err != nil || v.f.ID != 2 {
			t.Fatalf("login: %+v %v", v.f, v.err)
		}
		switch v.f.Code {
		case wire.ErrUnavailable:
			if v.f.Text != "the server is busy checking passwords; try again in a moment" {
				t.Fatalf("busy text: %q", v.f.Text)
			}
			busy++
		case wire.ErrBadLogin:
			checked++
			if v.at.After(pinged) {
				after++
			}
		default:
			t.Fatalf("login: %+v", v.f)
		}
	}
	if busy == 0 || checked == 0 || after == 0 {
		t.Fatalf("%d busy, %d checked (%d after the ping was answered): want some of each", busy, checked, after)
	}
}

// TestServerPasswordNeverLogged logs in with a distinctive password, right
// and wrong, too long, and as a name, with the log on, and looks for it.
func TestServerPasswordNeverLogged(t *testing.T) {
	const secret = "Zebra-Quartz-9137-Secret"
	users := writeUsers(t, t.TempDir(), map[string]string{"carol": secret, "alice": "wonderland"})
	var mu sync.Mutex
	var log strings.Builder
	s, err := New(Config{Addr: "127.0.0.1:0", UsersFile: users, LoginDelay: -1, Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(&log, format+"\n", args...)
	}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run() }()
	defer func() { s.Shutdown(); <-done }()

	c := dial(t, s.Addr())
	c.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	for _, try := range []struct {
		name, pw string
		code     wire.Code
	}{
		{"alice", secret, wire.ErrBadLogin},                                     // someone else's
		{"carol", secret + "x", wire.ErrBadLogin},                               // almost
		{"carol", strings.Repeat(secret, 50), wire.ErrBadLogin},                 // too long to check
		{"nobody", secret, wire.ErrBadLogin},                                    // no such account
		{secret + " x", secret, wire.ErrBadName},                                // in the name field, with a space
		{strings.Repeat("n", 30), secret, wire.ErrBadName},                      // a bad name
		{"carol", secret, wire.OK},                                              // right
		{"carol", secret, wire.ErrLoggedIn},                                     // again
		{"carol", "", wire.ErrLoggedIn},                                         // empty
		{"carol", "\x00" + secret + "\n", wire.ErrLoggedIn},                     // odd bytes
		{"carol", secret + string(rune(0x202e)), wire.ErrLoggedIn},              // format character
		{"carol", secret[:len(secret)-1] + "\xff", wire.ErrLoggedIn},            // not UTF-8
		{"carol", strings.Repeat("y", wire.MaxSecretBytes+1), wire.ErrLoggedIn}, // over the bound
	} {
		if r := c.call(&wire.Frame{Type: wire.TypeLogin, Name: try.name, Secret: try.pw}); r.Code != try.code {
			t.Fatalf("login %q: %+v", try.name, r)
		}
	}
	c.conn.Close()
	s.Shutdown()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	mu.Lock()
	defer mu.Unlock()
	text := log.String()
	if !strings.Contains(text, "logged in as carol") || !strings.Contains(text, "failed login as alice") {
		t.Fatalf("the log does not show the logins:\n%s", text)
	}
	if strings.Contains(text, secret) || strings.Contains(text, "Zebra") {
		t.Fatalf("the password is in the log:\n%s", text)
	}
}
