package client

import (
	"regexp"
	"strings"
	"testing"

	"chat/internal/wire"
)

// TestNamesSession runs a names-mode client through the seed's commands
// against the fake server: a taken name, NAME, GETNAMES, messages both ways,
// an unknown name, a local error that sends nothing, and EXIT, which tells
// the server and exits 0 without printing its answer.
func TestNamesSession(t *testing.T) {
	srv, in, out, done, p := connectedClient(t, namesMode{})

	typeLine(t, in, "NAME B")
	req := p.expectClaim("B")
	p.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Code: wire.ErrNameTaken, Text: "the name B is in use; choose another"})
	out.waitFor(t, "* the name B is in use; choose another\n")

	typeLine(t, in, "NAME A")
	p.answer(wire.TypeClaim, "welcome A", func(f *wire.Frame) { f.Name = "A" })
	out.waitFor(t, "HELLO A\n")

	typeLine(t, in, "GETNAMES")
	p.answer(wire.TypeWho, "2 users connected", func(f *wire.Frame) { f.Users = []wire.User{{Name: "A"}, {Name: "B"}} })
	out.waitFor(t, "A B\n")

	// A message arrives; the client does not answer it.
	p.send(wire.Frame{Type: wire.TypePrivate, From: "B", To: "A", Text: "HELLO"})
	out.waitFor(t, "B SENT HELLO\n")

	// A line the client rejects sends nothing: the next frame is the MSG.
	typeLine(t, in, "MSG B")
	out.waitFor(t, "! usage: MSG NAME TEXT\n")
	typeLine(t, in, "MSG B HELLO")
	tell := p.answer(wire.TypeTell, "message sent to B")
	if tell.To != "B" || tell.Text != "HELLO" {
		t.Errorf("tell %q %q", tell.To, tell.Text)
	}

	typeLine(t, in, "MSG C hi")
	p.refuse(wire.TypeTell, wire.ErrNoSuchUser, "no user named C is connected")
	out.waitFor(t, "* no user named C is connected\n")

	typeLine(t, in, "EXIT")
	p.answer(wire.TypeLogout, "goodbye A")
	exitsWith(t, done, out, 0)
	want := "! connected to " + srv.addr + "\n" +
		"* the name B is in use; choose another\n" +
		"HELLO A\n" +
		"A B\n" +
		"B SENT HELLO\n" +
		"! usage: MSG NAME TEXT\n" +
		"* no user named C is connected\n"
	if got := out.String(); got != want {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
	if regexp.MustCompile(`\d\d:\d\d:\d\d`).MatchString(out.String()) {
		t.Errorf("names mode showed a time")
	}
}

// TestClaimAgainAfterReconnect checks that a claimed name is claimed again
// after a reconnection, without a password and without typing: asked again
// while the server still holds it, with nothing typed sent before it is
// back; given up (and not claimed after the next reconnection) when the
// server refuses it otherwise.
func TestClaimAgainAfterReconnect(t *testing.T) {
	srv, in, out, done, p := connectedClient(t, namesMode{})
	typeLine(t, in, "NAME A")
	p.answer(wire.TypeClaim, "welcome A", func(f *wire.Frame) { f.Name = "A" })
	out.waitFor(t, "HELLO A\n")

	p.c.Close()
	out.waitFor(t, "! connection to "+srv.addr+" lost: the server closed the connection; reconnecting in ")
	p = srv.next()
	p.hello()
	req := p.expectClaim("A")
	// The server has not noticed yet that the old connection is gone.
	p.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Code: wire.ErrNameTaken, Text: "the name A is in use; choose another"})
	out.waitFor(t, "! the name A is still taken on the server (perhaps by the old connection); asking for it again in ")
	// Typed now, it must wait for the name.
	typeLine(t, in, "GETNAMES")
	if req := p.expect(wire.TypeClaim); req.Name != "A" {
		t.Errorf("second claim of %q", req.Name)
	} else {
		p.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Name: "A", Text: "welcome A"})
	}
	out.waitFor(t, "! you are A again\n")
	p.answer(wire.TypeWho, "", func(f *wire.Frame) { f.Users = []wire.User{{Name: "A"}} })
	out.waitFor(t, "you are A again\nA\n")

	// The server comes back without guests: the name is lost, said once.
	p.c.Close()
	p = srv.next()
	p.hello()
	p.refuse(wire.TypeClaim, wire.ErrGuestsClosed, "this server allows no guests")
	out.waitFor(t, "! could not get the name A back: this server allows no guests\n")
	p.c.Close()
	p = srv.next()
	p.hello()
	typeLine(t, in, "GETNAMES")
	// Not a Claim first: there is no name to claim.
	p.answer(wire.TypeWho, "", func(f *wire.Frame) { f.Code, f.Text = wire.ErrNotLoggedIn, "please log in first: login NAME" })
	in.Close()
	p.answer(wire.TypeLogout, "")
	exitsWith(t, done, out, 0)
	if strings.Count(out.String(), "could not get the name") != 1 {
		t.Errorf("the lost name was reported more than once:\n%s", out.String())
	}
}
