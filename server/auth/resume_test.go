package auth

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"chat/server/hub"
)

// hashes is a users file in memory, for Resume's HashLookup.
type hashes map[string]string

func (h hashes) lookup(name string) (string, bool) {
	v, ok := h[name]
	return v, ok
}

var _ hub.Resumer = (*Resume)(nil)

func TestResumeTokens(t *testing.T) {
	users := hashes{"alice": "$argon2id$alice-1", "bob": "$argon2id$bob-1", "a.b.1": "$argon2id$dotted"}
	r := NewResume(DefaultResumeTTL, users.lookup)
	alice := r.Issue("alice", t0)
	dotted := r.Issue("a.b.1", t0)
	other := NewResume(DefaultResumeTTL, users.lookup) // another key
	tests := []struct {
		name   string
		setup  func() // changes users before the check; undone after
		login  string
		token  string
		at     time.Time
		resume *Resume
		want   error
	}{
		{name: "valid", login: "alice", token: alice, at: t0.Add(time.Minute)},
		{name: "valid until the last second", login: "alice", token: alice, at: t0.Add(DefaultResumeTTL - time.Second)},
		{name: "a name with dots", login: "a.b.1", token: dotted, at: t0},
		{name: "expired", login: "alice", token: alice, at: t0.Add(DefaultResumeTTL), want: ErrTokenExpired},
		{name: "another user's name", login: "bob", token: alice, at: t0, want: ErrTokenWrong},
		{name: "its name changed", login: "bob", token: strings.Replace(alice, "alice", "bob", 1), at: t0, want: ErrTokenWrong},
		{name: "expiry pushed back", login: "alice", token: pushExpiry(alice), at: t0, want: ErrTokenWrong},
		{name: "wrong MAC", login: "alice", token: flipMAC(alice), at: t0, want: ErrTokenWrong},
		{name: "another key", login: "alice", token: alice, at: t0, resume: other, want: ErrTokenWrong},
		{name: "password changed", login: "alice", token: alice, at: t0, want: ErrTokenWrong,
			setup: func() { users["alice"] = "$argon2id$alice-2" }},
		{name: "account removed", login: "alice", token: alice, at: t0, want: ErrTokenWrong,
			setup: func() { delete(users, "alice") }},
		{name: "malformed", login: "alice", token: "v1.alice", at: t0, want: ErrTokenMalformed},
		{name: "a password", login: "alice", token: "wonderland", at: t0, want: ErrTokenMalformed},
		{name: "off", login: "alice", token: alice, at: t0, resume: NewResume(0, users.lookup), want: ErrTokensOff},
		{name: "off, nil", login: "alice", token: alice, at: t0, resume: nilResume(), want: ErrTokensOff},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			saved := users["alice"]
			if tt.setup != nil {
				tt.setup()
				defer func() { users["alice"] = saved }()
			}
			rr := r
			if tt.resume != nil || strings.HasPrefix(tt.name, "off") {
				rr = tt.resume
			}
			if err := rr.Check(tt.login, tt.token, tt.at); !errors.Is(err, tt.want) {
				t.Errorf("Check(%q, %q) = %v, want %v", tt.login, tt.token, err, tt.want)
			}
		})
	}
}

func nilResume() *Resume { return nil }

// pushExpiry moves a token's expiry a day on, keeping its MAC.
func pushExpiry(tok string) string {
	parts := strings.Split(tok, ".")
	exp := parts[len(parts)-2]
	parts[len(parts)-2] = exp[:len(exp)-1] + string('0'+(exp[len(exp)-1]-'0'+1)%10)
	return strings.Join(parts, ".")
}

// flipMAC changes one character of a token's MAC.
func flipMAC(tok string) string {
	i := len(tok) - 5
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func TestResumeIssue(t *testing.T) {
	users := hashes{"alice": "h"}
	r := NewResume(time.Hour, users.lookup)
	tok := r.Issue("alice", t0)
	want := TokenPrefix + "alice." + strconv.FormatInt(t0.Add(time.Hour).Unix(), 10) + "."
	if !strings.HasPrefix(tok, want) || len(tok) != len(want)+43 {
		t.Errorf("Issue = %q, want %s and 43 characters of MAC", tok, want)
	}
	if !IsToken(tok) {
		t.Errorf("IsToken(%q) = false", tok)
	}
	if got := r.Issue("nobody", t0); got != "" {
		t.Errorf("Issue for no account = %q, want none", got)
	}
	if got := NewResume(0, users.lookup).Issue("alice", t0); got != "" {
		t.Errorf("Issue with tokens off = %q, want none", got)
	}
	if err := r.SetKey(make([]byte, 31)); err == nil {
		t.Error("SetKey took a key of 31 bytes")
	}
	if err := r.SetKey(make([]byte, ResumeKeyBytes)); err != nil {
		t.Fatal(err)
	}
	if r.Check("alice", tok, t0) == nil {
		t.Error("a token made with the key before SetKey is still good")
	}
}

// Secrets that are not tokens, however close: each is checked as a
// password, never taken for a token.
func TestMalformedTokens(t *testing.T) {
	users := hashes{"alice": "h"}
	r := NewResume(time.Hour, users.lookup)
	good := r.Issue("alice", t0)
	mac := good[strings.LastIndexByte(good, '.')+1:]
	bad := []string{
		"",
		"v1.",
		"v1..",
		"v1...",
		"v1.alice",
		"v1.alice.",
		"v1.alice.1795269787",
		"v1.alice.1795269787.",
		"v1..1795269787." + mac,                 // no name
		"v2.alice.1795269787." + mac,            // another version
		"V1.alice.1795269787." + mac,            // the prefix's case
		"v1.alice.01795269787." + mac,           // a leading zero: two spellings of one expiry
		"v1.alice.-1795269787." + mac,           // a sign
		"v1.alice.+1795269787." + mac,           // a sign
		"v1.alice.1795269787 ." + mac,           // a space
		"v1.alice.17952x9787." + mac,            // not a number
		"v1.alice.99999999999999999999." + mac,  // past int64
		"v1.alice.1795269787." + mac[1:],        // short MAC
		"v1.alice.1795269787." + mac + "A",      // long MAC
		"v1.alice.1795269787." + mac[:42] + "=", // padding
		"v1.alice.1795269787." + mac[:42] + "+", // standard base64, not URL
		"v1.alice.1795269787." + mac[:42] + "/",
		"v1.alice.1795269787." + mac[:42] + "B", // non-zero trailing bits (Strict)
		"v1.alice.1795269787." + mac + "\x00",
		"v1.alice.1795269787.." + mac,
	}
	for _, s := range bad {
		if IsToken(s) {
			t.Errorf("IsToken(%q) = true", s)
		}
		if err := r.Check("alice", s, t0); err == nil {
			t.Errorf("Check(%q) took it", s)
		}
	}
	// Every cut of a good token is refused, and none panics.
	for i := range len(good) {
		if err := r.Check("alice", good[:i], t0); err == nil {
			t.Errorf("Check(%q), a token cut at %d, took it", good[:i], i)
		}
	}
}

func FuzzResumeCheck(f *testing.F) {
	users := hashes{"alice": "h"}
	r := NewResume(time.Hour, users.lookup)
	f.Add("alice", r.Issue("alice", t0))
	f.Add("alice", "v1.alice.1.AAAA")
	f.Fuzz(func(t *testing.T, name, tok string) {
		err := r.Check(name, tok, t0)
		if err == nil && tok != r.Issue(name, t0) {
			t.Fatalf("Check(%q, %q) took a token Issue did not make", name, tok)
		}
	})
}

// The Gate checks a token on the loop, with no worker and no argon2; a
// wrong one is no guess at a password, and the throttle does not count it.
func TestGateChecksTokensWithoutAHash(t *testing.T) {
	path := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland"})
	v, err := NewVerifier(path, 1, nil, func() {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	r := NewResume(time.Hour, v.PasswordHash)
	g := NewGate(v, GateConfig{Free: 1, Delay: time.Minute, DelayMax: time.Hour, Quiet: time.Hour, Resume: r})
	tok := r.Issue("alice", t0)
	g.Check(hub.VerifyRequest{Session: 1, Name: "alice", Secret: tok, Token: true}, "10.0.0.1", t0)
	res, ok := g.Collect()
	if !ok || res.Verdict != hub.VerdictOK {
		t.Fatalf("a good token: %v %v, want an OK at once", res.Verdict, ok)
	}
	g.Record(res, "10.0.0.1", t0)
	g.Check(hub.VerifyRequest{Session: 2, Name: "alice", Secret: flipMAC(tok), Token: true}, "10.0.0.2", t0)
	res, ok = g.Collect()
	if !ok || res.Verdict != hub.VerdictWrong {
		t.Fatalf("a wrong token: %v %v, want Wrong at once", res.Verdict, ok)
	}
	g.Record(res, "10.0.0.2", t0)
	// One attempt is free; the wrong token took none of it, for the
	// account or the address.
	g.Check(hub.VerifyRequest{Session: 3, Name: "alice", Secret: tok, Token: true}, "10.0.0.2", t0)
	if res, ok := g.Collect(); !ok || res.Verdict != hub.VerdictOK {
		t.Fatalf("a good token after a wrong one: %v %v, want an OK at once, not held", res.Verdict, ok)
	}
	if n := v.Checked(); n != 0 {
		t.Errorf("the workers checked %d passwords; tokens need none", n)
	}
}

// A password changed in the users file ends the account's tokens once the
// Verifier has read it, with no password check to make it read it.
func TestPasswordChangeEndsTokens(t *testing.T) {
	dir := t.TempDir()
	path := writeUsers(t, dir, map[string]string{"alice": "wonderland", "bob": "builder"})
	v, err := NewVerifier(path, 1, nil, func() {}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	v.KeepCurrent(time.Millisecond)
	r := NewResume(time.Hour, v.PasswordHash)
	now := time.Now()
	alice, bob := r.Issue("alice", now), r.Issue("bob", now)
	if err := r.Check("alice", alice, now); err != nil {
		t.Fatal(err)
	}
	u, err := LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := u.SetPassword("alice", cheapHash(t, "looking-glass")); err != nil {
		t.Fatal(err)
	}
	if err := u.Delete("bob"); err != nil {
		t.Fatal(err)
	}
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the changed users file read", func() bool { return r.Check("alice", alice, now) != nil })
	if err := r.Check("alice", alice, now); !errors.Is(err, ErrTokenWrong) {
		t.Errorf("alice's token after a new password: %v, want ErrTokenWrong", err)
	}
	if err := r.Check("bob", bob, now); !errors.Is(err, ErrTokenWrong) {
		t.Errorf("bob's token after bob was removed: %v, want ErrTokenWrong", err)
	}
	if err := r.Check("alice", r.Issue("alice", now), now); err != nil {
		t.Errorf("a token made after the change: %v", err)
	}
	if v.Checked() != 0 {
		t.Errorf("%d password checks made", v.Checked())
	}
}
