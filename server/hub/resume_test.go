package hub

import (
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// fakeTokens gives "tok:<name>" tokens, good until revoked.
type fakeTokens struct{ revoked map[string]bool }

func (f *fakeTokens) Issue(name string, now time.Time) string { return "tok:" + name }
func (f *fakeTokens) IsToken(s string) bool                   { return strings.HasPrefix(s, "tok:") }
func (f *fakeTokens) good(name, s string) bool                { return s == "tok:"+name && !f.revoked[name] }

// tokenLogin sends a Login and answers its check as the loop would: a
// token by the fake's word, a password by the fixture's rule. It returns
// the reply, the outputs and whether the check was of a token.
func tokenLogin(x *fixture, toks *fakeTokens, sid SessionID, name, secret string) (*wire.Frame, []Output, bool) {
	x.t.Helper()
	id := x.nextID(sid)
	outs := x.h.Handle(sid, &wire.Frame{Type: wire.TypeLogin, ID: id, Name: name, Secret: secret}, x.now)
	var req *VerifyRequest
	for _, o := range outs {
		if o.Verify != nil {
			req = o.Verify
		}
	}
	if req == nil {
		return x.reply(outs, sid, id), outs, false
	}
	v := VerdictWrong
	switch {
	case req.Token && toks.good(name, req.Secret):
		v = VerdictOK
	case !req.Token && req.Secret == "pw-"+name:
		v = VerdictOK
	}
	outs = x.h.LoginResult(sid, id, name, v, x.now)
	return x.reply(outs, sid, id), outs, req.Token
}

func TestHubResumeTokens(t *testing.T) {
	const bad = "login failed: the resume token is not valid (expired, or the password changed); log in with the password"
	tests := []struct {
		name      string
		noTokens  bool   // Config.Resume nil
		hello     string // the Hello's Text
		secret    string
		revoked   bool
		wantCode  wire.Code
		wantText  string
		wantToken bool // the check was of a token
		wantGiven string
	}{
		{name: "password", secret: "pw-alice", wantCode: wire.OK, wantText: "welcome alice", wantGiven: "tok:alice"},
		{name: "token", secret: "tok:alice", wantCode: wire.OK, wantText: "welcome alice", wantToken: true, wantGiven: "tok:alice"},
		{name: "wrong token", secret: "tok:bob", wantCode: wire.ErrBadLogin, wantText: bad, wantToken: true},
		{name: "revoked token", secret: "tok:alice", revoked: true, wantCode: wire.ErrBadLogin, wantText: bad, wantToken: true},
		{name: "wrong password", secret: "pw-bob", wantCode: wire.ErrBadLogin, wantText: "login failed: wrong name or password"},
		{name: "no tokens: a token is a password", noTokens: true, secret: "tok:alice", wantCode: wire.ErrBadLogin, wantText: "login failed: wrong name or password"},
		{name: "no tokens: none given", noTokens: true, secret: "pw-alice", wantCode: wire.OK, wantText: "welcome alice"},
		{name: "IRC: a token is a password", hello: ircHelloText, secret: "tok:alice", wantCode: wire.ErrBadLogin, wantText: "login failed: wrong name or password"},
		{name: "IRC: none given", hello: ircHelloText, secret: "pw-alice", wantCode: wire.OK, wantText: "welcome alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			toks := &fakeTokens{revoked: map[string]bool{"alice": tt.revoked}}
			cfg := Config{Resume: toks}
			if tt.noTokens {
				cfg.Resume = nil
			}
			x := newFixture(t, cfg)
			x.h.Connect(1, "test", x.now)
			x.do(1, wire.Frame{Type: wire.TypeHello, Version: wire.Version, Text: tt.hello})
			r, _, token := tokenLogin(x, toks, 1, "alice", tt.secret)
			if r.Code != tt.wantCode || r.Text != tt.wantText || token != tt.wantToken || r.Secret != tt.wantGiven {
				t.Errorf("reply %d %q, token given %q, checked as a token %v; want %d %q, %q, %v",
					r.Code, r.Text, r.Secret, token, tt.wantCode, tt.wantText, tt.wantGiven, tt.wantToken)
			}
		})
	}
}

// A login with a token is a login: it takes the old session over, rooms
// and all, as one with the password does.
func TestHubTokenLoginTakesOver(t *testing.T) {
	toks := &fakeTokens{}
	x := newFixture(t, Config{Resume: toks})
	x.login(1, "alice")
	x.login(2, "bob")
	x.enter(1, "r")
	x.enter(2, "r")
	x.connect(3)
	r, outs, token := tokenLogin(x, toks, 3, "alice", "tok:alice")
	if r.Code != wire.OK || !token || r.Room != "r" || r.Secret != "tok:alice" {
		t.Fatalf("token login: %+v (checked as a token: %v)", r, token)
	}
	if !closes(outs, 1) {
		t.Fatal("the old connection was not closed")
	}
	if fs := to(outs, 2); len(fs) != 0 {
		t.Fatalf("room told about a takeover: %+v", fs)
	}
	_, outs = x.do(2, wire.Frame{Type: wire.TypeSay, Text: "hi"})
	if fs := to(outs, 3); len(fs) != 1 || fs[0].Text != "hi" {
		t.Fatalf("new session not in the room: %+v", outs)
	}
}

// Wrong tokens count toward closing the connection as wrong passwords do.
func TestHubWrongTokensCount(t *testing.T) {
	toks := &fakeTokens{}
	x := newFixture(t, Config{Resume: toks, MaxLoginFailures: 3})
	x.connect(1)
	secrets := []string{"tok:mallory", "pw-x", "tok:bob"}
	for i, s := range secrets {
		r, outs, _ := tokenLogin(x, toks, 1, "alice", s)
		if r.Code != wire.ErrBadLogin || closes(outs, 1) != (i == len(secrets)-1) {
			t.Fatalf("attempt %d (%s): %+v, closed %v", i+1, s, r, closes(outs, 1))
		}
	}
}

// A guest gets no token: it claims its name again, without a password.
func TestHubGuestGetsNoToken(t *testing.T) {
	x := newFixture(t, Config{Resume: &fakeTokens{}, Guests: true})
	x.connect(1)
	if r, _ := x.do(1, wire.Frame{Type: wire.TypeClaim, Name: "ann"}); r.Code != wire.OK || r.Secret != "" {
		t.Fatalf("claim: %+v", r)
	}
}
