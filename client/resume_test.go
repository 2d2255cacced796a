package client

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// TestReconnectedAfterHello checks that a connection counts as made only
// once the server answers the Hello: a proxy in front of a server that is
// down accepts the TCP connection and then closes it, and that is a failed
// attempt ("cannot connect"), not "reconnected" followed by "lost".
func TestReconnectedAfterHello(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done := runClient(t, srv.addr)

	// Accepted, never answered, closed: as a proxy whose server is down.
	p := srv.next()
	p.expect(wire.TypeHello)
	p.c.Close()
	out.waitFor(t, "cannot connect to "+srv.addr+": the server closed the connection; retrying in ")
	p = srv.next()
	p.hello()
	out.waitFor(t, "connected to "+srv.addr+"\n")
	got := out.String()
	if strings.Contains(got, "reconnected") || strings.Contains(got, " lost:") {
		t.Errorf("a connection the server never answered was reported as made:\n%s", got)
	}
	if i, j := strings.Index(got, "cannot connect"), strings.Index(got, "connected to "+srv.addr+"\n"); j < i {
		t.Errorf("connected reported before the failed attempt:\n%s", got)
	}

	// Once up, a loss is a loss, and the next connection is "reconnected"
	// only when its Hello is answered.
	p.c.Close()
	out.waitFor(t, "connection to "+srv.addr+" lost: the server closed the connection; reconnecting in ")
	p = srv.next()
	req := p.expect(wire.TypeHello)
	if strings.Contains(out.String(), "reconnected") {
		t.Fatalf("reconnected reported before the Hello was answered:\n%s", out.String())
	}
	p.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Version: wire.Version})
	out.waitFor(t, "reconnected to "+srv.addr+"\n")

	in.Close()
	p.answer(wire.TypeLogout, "")
	exitStatus(t, done, out)
}

// TestTakeoverResume checks the re-entry after an automatic login that took
// over the old session: a live message that arrives before the Enter reply
// does not hide the messages missed before it. History is asked from the
// last Seq seen before the disconnection, the missed messages are shown
// first, marked, then the live one, each once.
func TestTakeoverResume(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done, p := loggedInRoom(t, srv, "lounge", 4)
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "seen before", Seq: 5})
	out.waitFor(t, " seen before\n")

	p.c.Close()
	out.waitFor(t, "lost: the server closed the connection; reconnecting in ")
	p = srv.next()
	p.takeoverLogin("lounge", 7)
	// A live message, said after the takeover, arrives before the Enter
	// reply.
	enter := p.expect(wire.TypeEnter)
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "live one", Seq: 8})
	p.send(wire.Frame{Type: wire.TypeReply, ID: enter.ID, Text: "you are already in lounge", Room: "lounge", Seq: 8})
	hist := p.expect(wire.TypeHistory)
	if hist.Room != "lounge" || hist.Seq != 5 {
		t.Fatalf("history of %q after %d, want lounge after 5 (the last seen before the disconnection)", hist.Room, hist.Seq)
	}
	// A replay that overlaps what was seen and what came live (a server
	// that does not stop at the takeover) still shows each message once.
	for _, m := range []struct {
		seq  uint64
		text string
	}{{5, "seen before"}, {6, "missed one"}, {7, "missed two"}, {8, "live one"}} {
		p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: m.text, Seq: m.seq})
	}
	p.send(wire.Frame{Type: wire.TypeReply, ID: hist.ID, Text: "2 messages from lounge", Room: "lounge", Seq: 8, Count: 2})
	out.waitFor(t, "missed while disconnected: 2 messages from lounge (shown above)")
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "live two", Seq: 9})
	out.waitFor(t, " live two\n")

	got := out.String()
	want := regexp.MustCompile(`(?s)bob \d\d:\d\d:\d\d seen before\n.*` +
		`bob \d\d:\d\d:\d\d \(missed\) missed one\nbob \d\d:\d\d:\d\d \(missed\) missed two\nbob \d\d:\d\d:\d\d live one\n` +
		`! \d\d:\d\d:\d\d missed while disconnected: 2 messages from lounge \(shown above\)\nbob \d\d:\d\d:\d\d live two\n`)
	if !want.MatchString(got) {
		t.Errorf("missed and live messages not shown in order, marked, once:\n%s", got)
	}
	for _, text := range []string{"seen before", "missed one", "missed two", "live one", "live two"} {
		if n := strings.Count(got, " "+text+"\n"); n != 1 {
			t.Errorf("%q shown %d times:\n%s", text, n, got)
		}
	}

	in.Close()
	p.answer(wire.TypeLogout, "goodbye alice")
	exitStatus(t, done, out)
}

// TestResumeNothingMissed checks a takeover with nothing missed: no History
// request (the session was in the room all along), and the live message
// that came before the Enter reply is shown, unmarked.
func TestResumeNothingMissed(t *testing.T) {
	srv := newFakeServer(t)
	in, out, done, p := loggedInRoom(t, srv, "lounge", 5)
	p.c.Close()
	out.waitFor(t, "reconnecting in ")
	p = srv.next()
	p.takeoverLogin("lounge", 5)
	enter := p.expect(wire.TypeEnter)
	p.send(wire.Frame{Type: wire.TypeMessage, From: "bob", Room: "lounge", Text: "live one", Seq: 6})
	p.send(wire.Frame{Type: wire.TypeReply, ID: enter.ID, Text: "you are already in lounge", Room: "lounge", Seq: 6})
	out.waitFor(t, "bob ")
	out.waitFor(t, " live one\n")
	typeLine(t, in, "hi")
	// The next request is the line typed, not a History.
	say := p.answer(wire.TypeSay, "")
	if say.Text != "hi" {
		t.Errorf("sent %v %q, want the typed line", say.Type, say.Text)
	}
	if got := out.String(); strings.Contains(got, "(missed)") || strings.Contains(got, "missed while disconnected") {
		t.Errorf("nothing was missed, but the output says so:\n%s", got)
	}
	in.Close()
	p.answer(wire.TypeLogout, "goodbye alice")
	exitStatus(t, done, out)
}

// TestFetchPendingAtDisconnection checks that a file request the server had
// not answered when the connection dropped is reported, not forgotten.
func TestFetchPendingAtDisconnection(t *testing.T) {
	srv, in, out, done, p := connectedClient(t, roomsMode{})
	typeLine(t, in, "get bob report.pdf")
	fetch := p.expect(wire.TypeFetch)
	if fetch.To != "bob" || fetch.Name != "report.pdf" {
		t.Fatalf("fetch %+v", fetch)
	}
	p.c.Close()
	out.waitFor(t, "could not get report.pdf from bob: the connection was lost before the server answered the request; ask for the file again\n")
	// Not sent again by itself after reconnecting.
	p = srv.next()
	p.hello()
	out.waitFor(t, "reconnected to ")
	in.Close()
	p.answer(wire.TypeLogout, "")
	exitStatus(t, done, out)
}

func TestSilence(t *testing.T) {
	for _, tt := range []struct {
		d    string
		want string
	}{
		{"1ms", "100ms"}, {"260ms", "300ms"}, {"999ms", "1s"}, {"1.04s", "1s"}, {"1.06s", "1.1s"},
		{"9.94s", "9.9s"}, {"10.4s", "10s"}, {"61.6s", "1m2s"},
	} {
		d, err := time.ParseDuration(tt.d)
		if err != nil {
			t.Fatal(err)
		}
		if got := silence(d); got != tt.want {
			t.Errorf("silence(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// takeoverLogin answers the Hello and the automatic Login on a new
// connection as a server that still held alice's old session (it had not
// noticed it was gone): the login takes it over, in room since Seq seq.
func (p *peer) takeoverLogin(room string, seq uint64) {
	p.t.Helper()
	p.hello()
	p.answer(wire.TypeLogin, "welcome alice; you are in "+room+", taken over from your other connection",
		func(f *wire.Frame) { f.Name, f.Room, f.Seq = "alice", room, seq })
}

// TestReloginWithResumeToken checks the automatic re-login after a lost
// connection: it sends the resume token of the latest login when the
// server gave one, the password otherwise; a refused token is dropped and
// the password sent at once, with no word to the user unless that fails
// too. A token is never shown.
func TestReloginWithResumeToken(t *testing.T) {
	const (
		tok1     = "v1.alice.1700000000.AAAAtoken1"
		tok2     = "v1.alice.1700086400.BBBBtoken2"
		badToken = "login failed: the resume token is not valid (expired, or the password changed); log in with the password"
		badLogin = "login failed: wrong name or password"
		busy     = "the server is busy checking passwords; try again in a moment"
	)
	// answer is one automatic Login after the cut and the server's answer.
	type answer struct {
		secret string    // the Secret the Login must carry
		code   wire.Code // the server's answer
		text   string
		token  string // the token the answer gives
		// takeover: the answer says the login took over the old session,
		// in lounge already.
		takeover bool
	}
	for _, tt := range []struct {
		name    string
		token   string   // given with the user's login
		answers []answer // to the automatic Logins after the first cut, in order
		again   string   // the Secret of the re-login after a second cut ("": none, the login is lost)
		shown   []string
		hidden  []string
	}{{
		name:    "no token given: the password",
		answers: []answer{{secret: "secret"}},
		again:   "secret",
		shown:   []string{"logged in as alice again", "back in lounge"},
	}, {
		name:    "the token, then the newest one (a takeover's)",
		token:   tok1,
		answers: []answer{{secret: tok1, token: tok2, takeover: true}},
		again:   tok2,
		shown:   []string{"logged in as alice again", "back in lounge"},
	}, {
		name:    "a refused token: the password at once, silently",
		token:   tok1,
		answers: []answer{{secret: tok1, code: wire.ErrBadLogin, text: badToken}, {secret: "secret", token: tok2}},
		again:   tok2,
		shown:   []string{"logged in as alice again", "back in lounge"},
		hidden:  []string{badToken, "could not log in"},
	}, {
		name:  "a refused token and a server that gives none: the password from then on",
		token: tok1,
		// An older server takes the token for a password.
		answers: []answer{{secret: tok1, code: wire.ErrBadLogin, text: badLogin}, {secret: "secret"}},
		again:   "secret",
		shown:   []string{"logged in as alice again", "back in lounge"},
		hidden:  []string{badLogin, "could not log in"},
	}, {
		name:    "token and password refused: reported as ever",
		token:   tok1,
		answers: []answer{{secret: tok1, code: wire.ErrBadLogin, text: badToken}, {secret: "secret", code: wire.ErrBadLogin, text: badLogin}},
		shown:   []string{"could not log in as alice again: " + badLogin + "; log in with: login alice"},
		hidden:  []string{badToken},
	}, {
		name:    "a busy server: the token again after the pause",
		token:   tok1,
		answers: []answer{{secret: tok1, code: wire.ErrUnavailable, text: busy}, {secret: tok1, token: tok2}},
		again:   tok2,
		shown:   []string{"could not log in as alice again yet: " + busy, "logged in as alice again", "back in lounge"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t)
			in, out, done := runClient(t, srv.addr)
			typeLine(t, in, "login alice")
			typeLine(t, in, "secret")
			typeLine(t, in, "enter lounge")
			p := srv.next()
			p.hello()
			if login := p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name, f.Secret = "alice", tt.token }); login.Secret != "secret" {
				t.Errorf("the user's login sent %q, want the password typed", login.Secret)
			}
			p.answer(wire.TypeEnter, "you entered lounge", func(f *wire.Frame) { f.Room, f.Seq = "lounge", 4 })
			out.waitFor(t, "you entered lounge")

			p.c.Close()
			p = srv.next()
			p.hello()
			var last answer
			for i, a := range tt.answers {
				req := p.expect(wire.TypeLogin)
				if req.Name != "alice" || req.Secret != a.secret {
					t.Fatalf("automatic login %d as %q with %q, want alice with %q", i+1, req.Name, req.Secret, a.secret)
				}
				r := wire.Frame{Type: wire.TypeReply, ID: req.ID, Code: a.code, Text: a.text, Name: "alice", Secret: a.token}
				if a.takeover {
					r.Room, r.Seq = "lounge", 4
				}
				p.send(r)
				last = a
			}
			if last.code == wire.OK {
				p.answer(wire.TypeEnter, "you are in lounge", func(f *wire.Frame) { f.Room, f.Seq = "lounge", 4 })
			}
			for _, want := range tt.shown {
				out.waitFor(t, want)
			}

			if tt.again != "" {
				// A second cut: the login is restored with what the last
				// one left.
				p.c.Close()
				p = srv.next()
				p.hello()
				if req := p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" }); req.Secret != tt.again {
					t.Errorf("the re-login after the second cut sent %q, want %q", req.Secret, tt.again)
				}
				p.answer(wire.TypeEnter, "you are in lounge", func(f *wire.Frame) { f.Room, f.Seq = "lounge", 4 })
				out.waitFor(t, "reconnected to "+srv.addr+"\n")
			} else {
				// Lost: the user logs in again, with the password typed.
				typeLine(t, in, "login alice")
				typeLine(t, in, "typed again")
				if req := p.answer(wire.TypeLogin, "welcome alice", func(f *wire.Frame) { f.Name = "alice" }); req.Secret != "typed again" {
					t.Errorf("the user's second login sent %q, want the password typed", req.Secret)
				}
			}

			in.Close()
			p.answer(wire.TypeLogout, "goodbye alice")
			exitStatus(t, done, out)
			got := out.String()
			for _, secret := range []string{"v1.", "AAAAtoken1", "BBBBtoken2"} {
				if strings.Contains(got, secret) {
					t.Errorf("a resume token was shown:\n%s", got)
				}
			}
			for _, text := range tt.hidden {
				if strings.Contains(got, text) {
					t.Errorf("shown %q:\n%s", text, got)
				}
			}
		})
	}
}
