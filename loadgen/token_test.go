package loadgen

import (
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/internal/wire"
	"chat/internal/wireconn"
)

// tokenServer answers Hello and Login as a server with resume tokens does:
// the password or a token it gave logs in, and the reply holds a new
// token. What it does with a token the test sets (tokenCode) and it
// records the Secret of every Login.
type tokenServer struct {
	ln net.Listener

	mu        sync.Mutex
	issued    map[string]bool
	n         int
	tokenCode wire.Code // the reply to a token it gave: OK, or a refusal
	noTokens  bool      // give none
	// refuseClaims is how many Claims to refuse with ErrUnavailable, as
	// a cluster whose record of names did not answer in time does.
	refuseClaims int
	secrets      []string // of each Login, "password" or the token
}

const tokenTestPassword = "pw"

func startTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &tokenServer{ln: ln, issued: map[string]bool{}}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go ts.serve(c)
		}
	}()
	return ts
}

func (ts *tokenServer) serve(c net.Conn) {
	defer c.Close()
	var d wire.Decoder
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		d.Feed(buf[:n])
		var f wire.Frame
		for {
			ok, err := d.Next(&f)
			if err != nil || !ok {
				break
			}
			r := &wire.Frame{Type: wire.TypeReply, ID: f.ID, Code: wire.OK}
			switch f.Type {
			case wire.TypeLogin:
				ts.login(&f, r)
			case wire.TypeClaim:
				ts.mu.Lock()
				if ts.refuseClaims > 0 {
					ts.refuseClaims--
					r.Code = wire.ErrUnavailable
				}
				ts.mu.Unlock()
			}
			if _, err := c.Write(wire.Encode(r)); err != nil {
				return
			}
		}
	}
}

// login answers Login f in r.
func (ts *tokenServer) login(f, r *wire.Frame) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	switch {
	case f.Secret == tokenTestPassword:
		ts.secrets = append(ts.secrets, "password")
	case ts.issued[f.Secret]:
		ts.secrets = append(ts.secrets, f.Secret)
		if r.Code = ts.tokenCode; r.Code != wire.OK {
			return
		}
	default:
		ts.secrets = append(ts.secrets, f.Secret)
		r.Code = wire.ErrBadLogin
		return
	}
	if ts.noTokens {
		return
	}
	ts.n++
	r.Secret = fmt.Sprintf("v1.%s.%d.%s", f.Name, 2000000000+ts.n, base64.RawURLEncoding.EncodeToString(make([]byte, 32)))
	ts.issued[r.Secret] = true
}

func (ts *tokenServer) set(code wire.Code, noTokens bool) {
	ts.mu.Lock()
	ts.tokenCode, ts.noTokens = code, noTokens
	ts.mu.Unlock()
}

// takeSecrets returns the Secrets of the Logins since the last call.
func (ts *tokenServer) takeSecrets() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	s := ts.secrets
	ts.secrets = nil
	return s
}

// TestCrashSessionLogsInAgainWithItsNewestToken logs a crash session in on
// a new connection again and again, as after lost connections: the first
// login is the password's, each later one the token the last reply gave;
// a refused token falls back to the password on the same connection, a
// server busy keeps it for the next attempt, and a server without tokens
// leaves the session on its password.
func TestCrashSessionLogsInAgainWithItsNewestToken(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t)
	run := &sessionRun{cfg: Config{Login: LoginAccount, Password: tokenTestPassword, Timeout: 5 * time.Second}}
	s := &crashSession{run: run, name: "lg1"}
	tok := func(n int) string { return fmt.Sprintf("v1.lg1.%d.", 2000000000+n) }
	steps := []struct {
		name      string
		code      wire.Code // the server's reply to a token it gave
		noTokens  bool
		wantErr   bool
		wantSeen  []string // the Secrets the server saw: "password", or a token's prefix
		wantToken string   // the prefix of the session's token after it; "" for none
	}{
		{"first login", wire.OK, false, false, []string{"password"}, tok(1)},
		{"back with the token", wire.OK, false, false, []string{tok(1)}, tok(2)},
		{"back with the newest token", wire.OK, false, false, []string{tok(2)}, tok(3)},
		{"token refused", wire.ErrBadLogin, false, false, []string{tok(3), "password"}, tok(4)},
		{"server busy", wire.ErrUnavailable, false, true, []string{tok(4)}, tok(4)},
		{"busy no more", wire.OK, false, false, []string{tok(4)}, tok(5)},
		{"tokens off", wire.ErrBadLogin, true, false, []string{tok(5), "password"}, ""},
		{"still off", wire.OK, true, false, []string{"password"}, ""},
	}
	for _, st := range steps {
		ts.set(st.code, st.noTokens)
		c, err := wireconn.Dial(ts.ln.Addr().String(), wireconn.Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Hello("test", 5*time.Second); err != nil {
			t.Fatal(err)
		}
		_, err = s.logIn(c)
		c.Close()
		if (err != nil) != st.wantErr {
			t.Errorf("%s: error %v, want one: %v", st.name, err, st.wantErr)
		}
		seen := ts.takeSecrets()
		ok := len(seen) == len(st.wantSeen)
		for i := 0; ok && i < len(seen); i++ {
			ok = strings.HasPrefix(seen[i], st.wantSeen[i])
		}
		if !ok {
			t.Errorf("%s: the server saw %q, want %q", st.name, seen, st.wantSeen)
		}
		if st.wantToken == "" && s.token != "" || !strings.HasPrefix(s.token, st.wantToken) {
			t.Errorf("%s: the session keeps %q, want %q…", st.name, s.token, st.wantToken)
		}
	}
	if got := run.retries.snapshot()[errTokenRefused]; got != 2 {
		t.Errorf("%d refused tokens counted, want 2", got)
	}

	// A crash run on a server without a store logs in with the password
	// every time: the restarted server's key is new.
	ts.set(wire.OK, false)
	s = &crashSession{run: &sessionRun{cfg: run.cfg, passwordOnly: true}, name: "lg2"}
	for range 2 {
		c, err := wireconn.Dial(ts.ln.Addr().String(), wireconn.Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.logIn(c); err != nil {
			t.Errorf("password only: %v", err)
		}
		c.Close()
	}
	if seen := ts.takeSecrets(); len(seen) != 2 || seen[0] != "password" || seen[1] != "password" {
		t.Errorf("password only: the server saw %q, want the password twice", seen)
	}
}

// TestGuestClaimRetriedWhenUnavailable: a guest's Claim refused with
// ErrUnavailable, which a cluster gives when its record of names did not
// answer in time, is tried again, as a password login refused so is.
func TestGuestClaimRetriedWhenUnavailable(t *testing.T) {
	t.Parallel()
	ts := startTokenServer(t)
	ts.mu.Lock()
	ts.refuseClaims = 2
	ts.mu.Unlock()
	cfg := Config{Sessions: 1, Rooms: 1, Login: LoginGuest, Timeout: 5 * time.Second, Prefix: "lg", Addr: ts.ln.Addr().String()}
	w := newWorker(cfg, share{Index: 0, Of: 1}, nil)
	s := newSession(w, 0, true)
	if err := s.dial(); err != nil {
		t.Fatal(err)
	}
	defer s.closeConn()
	if err := s.conn().Hello("test", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := s.login(); err != nil {
		t.Fatalf("login: %v", err)
	}
	if got := w.retries.snapshot()["claim code 15"]; got != 2 {
		t.Errorf("%d retries of a refused claim counted (%v), want 2", got, w.retries.snapshot())
	}
}
