package client

import (
	"testing"

	"chat/internal/wire"
)

// TestCourseSession runs a course-mode client against the fake server:
// login, a rejected line that sends nothing (S3.8), list (S3.9), a message
// in (S3.11) that is not answered (S3.12), sendto ok and failed (S3.10),
// logout that keeps the connection and a second one that fails (S3.6),
// login again, and exit (S3.7), which prints nothing.
func TestCourseSession(t *testing.T) {
	srv, in, out, done, p := connectedClient(t, courseMode{})

	typeLine(t, in, "login bob")
	if req := p.answer(wire.TypeClaim, "welcome bob", func(f *wire.Frame) { f.Name = "bob" }); req.Name != "bob" {
		t.Errorf("claim %q", req.Name)
	}
	out.waitFor(t, "Success\n")

	// Rejected by the client: printed, nothing sent (the next frame the
	// server sees is the list).
	typeLine(t, in, "login bob extra")
	typeLine(t, in, "list")
	p.answer(wire.TypeWho, "2 users connected", func(f *wire.Frame) { f.Users = []wire.User{{Name: "alice"}, {Name: "bob"}} })
	out.waitFor(t, "Bad username\nalice bob\n")

	// A message arrives; the next frame is the one typed next, not an
	// answer to it.
	p.send(wire.Frame{Type: wire.TypePrivate, From: "alice", To: "bob", Text: "Hi how are you?"})
	out.waitFor(t, "alice: Hi how are you?\n")
	typeLine(t, in, "sendto alice Hello, how are you?")
	if req := p.answer(wire.TypeTell, "message sent to alice"); req.To != "alice" || req.Text != "Hello, how are you?" {
		t.Errorf("tell %q %q", req.To, req.Text)
	}
	out.waitFor(t, "alice: Hi how are you?\nSuccess\n")

	typeLine(t, in, "sendto carol hi")
	p.refuse(wire.TypeTell, wire.ErrNoSuchUser, "no user named carol is connected")
	out.waitFor(t, "Success\nFailure\n")

	// Logout keeps the connection: a second logout is answered on it.
	typeLine(t, in, "logout")
	p.answer(wire.TypeLogout, "goodbye bob")
	out.waitFor(t, "Failure\nSuccess\n")
	typeLine(t, in, "logout")
	p.refuse(wire.TypeLogout, wire.ErrNotLoggedIn, "please log in first: login NAME")
	out.waitFor(t, "Success\nFailure\n")
	typeLine(t, in, "login bob")
	p.answer(wire.TypeClaim, "welcome bob", func(f *wire.Frame) { f.Name = "bob" })
	out.waitFor(t, "Failure\nSuccess\n")

	typeLine(t, in, "exit client")
	typeLine(t, in, "exit")
	p.answer(wire.TypeLogout, "goodbye bob")
	exitsWith(t, done, out, 0)
	want := "! connected to " + srv.addr + "\n" +
		"Success\n" +
		"Bad username\n" +
		"alice bob\n" +
		"alice: Hi how are you?\n" +
		"Success\n" +
		"Failure\n" +
		"Success\n" +
		"Failure\n" +
		"Success\n" +
		"Invalid command\n"
	if got := out.String(); got != want {
		t.Errorf("output\n%s\nwant\n%s", got, want)
	}
}

// TestCourseEndOfInput checks that the end of a script leaves as exit does:
// the server is told, and its answer is not shown.
func TestCourseEndOfInput(t *testing.T) {
	srv, in, out, done, p := connectedClient(t, courseMode{})
	typeLine(t, in, "login bob")
	in.Close()
	p.answer(wire.TypeClaim, "welcome bob", func(f *wire.Frame) { f.Name = "bob" })
	p.answer(wire.TypeLogout, "goodbye bob")
	exitsWith(t, done, out, 0)
	if want := "! connected to " + srv.addr + "\nSuccess\n"; out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
}
