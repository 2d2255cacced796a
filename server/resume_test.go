package server

import (
	"strings"
	"testing"

	"chat/internal/wire"
	"chat/server/auth"
)

// startCounting starts a server and returns the Verifier that checks its
// passwords, whose count of checks says whether a login needed one.
func startCounting(t *testing.T, cfg Config) (*startedServer, *auth.Verifier) {
	t.Helper()
	var ver *auth.Verifier
	s := startTuned(t, cfg, func(s *Server) { ver = s.ver })
	return s, ver
}

const tokenRefused = "login failed: the resume token is not valid (expired, or the password changed); log in with the password"

func TestServerTokenLoginNeedsNoPasswordCheck(t *testing.T) {
	s, ver := startCounting(t, Config{})
	a := dial(t, s.Addr())
	r := a.login("alice", "wonderland")
	if r.Code != wire.OK || !auth.IsToken(r.Secret) || !strings.HasPrefix(r.Secret, "v1.alice.") {
		t.Fatalf("login with the password: %+v", r)
	}
	if n := ver.Checked(); n != 1 {
		t.Fatalf("%d password checks for one login", n)
	}
	token := r.Secret
	a.call(&wire.Frame{Type: wire.TypeCreate, Room: "lounge"})
	a.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})

	// Back on a new connection: the token logs in, takes the session
	// over, and gives a new token, with no password check.
	a2 := dial(t, s.Addr())
	r = a2.login("alice", token)
	if r.Code != wire.OK || r.Room != "lounge" || !auth.IsToken(r.Secret) {
		t.Fatalf("login with the token: %+v", r)
	}
	if n := ver.Checked(); n != 1 {
		t.Fatalf("%d password checks after a login with a token; want the first one only", n)
	}

	// Someone else's name on it, or a forged one: refused, as not valid.
	b := dial(t, s.Addr())
	if r := b.login("bob", token); r.Code != wire.ErrBadLogin || r.Text != tokenRefused || r.Secret != "" {
		t.Fatalf("bob with alice's token: %+v", r)
	}
	forged := token[:len(token)-2] + "AA"
	if forged == token {
		forged = token[:len(token)-2] + "BA"
	}
	if r := b.call(&wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: forged}); r.Code != wire.ErrBadLogin || r.Text != tokenRefused {
		t.Fatalf("a forged token: %+v", r)
	}
	if n := ver.Checked(); n != 1 {
		t.Fatalf("%d password checks after tokens refused", n)
	}
}

func TestServerResumeTokensOff(t *testing.T) {
	s, _ := startCounting(t, Config{ResumeTTL: -1})
	a := dial(t, s.Addr())
	if r := a.login("alice", "wonderland"); r.Code != wire.OK || r.Secret != "" {
		t.Fatalf("login with tokens off: %+v", r)
	}
}

// A token given by one server of a cluster logs in on another, which
// checks no password: the key is the chat's, kept in the store.
func TestClusterTokenOfOneServerLogsInOnAnother(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder"})
	cfg := Config{NATS: []string{ns.ClientURL()}, UsersFile: users}
	cfg.ServerName = "one"
	s1, _ := startCounting(t, cfg)
	cfg.ServerName = "two"
	s2, ver2 := startCounting(t, cfg)

	a := dial(t, s1.Addr())
	r := a.login("alice", "wonderland")
	if r.Code != wire.OK || !auth.IsToken(r.Secret) {
		t.Fatalf("login on one: %+v", r)
	}
	a.call(&wire.Frame{Type: wire.TypeCreate, Room: "lounge"})
	a.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})

	a2 := dial(t, s2.Addr())
	r = a2.login("alice", r.Secret)
	if r.Code != wire.OK || r.Room != "lounge" || !auth.IsToken(r.Secret) {
		t.Fatalf("login on two with one's token: %+v", r)
	}
	if f := a.must(); f.Type != wire.TypeBye || f.Code != wire.ByeTakeover {
		t.Fatalf("alice's session on one got %+v", f)
	}
	if n := ver2.Checked(); n != 0 {
		t.Fatalf("server two checked %d passwords for a login with a token", n)
	}
	// And two's token works on one.
	a3 := dial(t, s1.Addr())
	if r := a3.login("alice", r.Secret); r.Code != wire.OK {
		t.Fatalf("login on one with two's token: %+v", r)
	}
}
