package hub

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// Sessions of the transfer tests: 1 alice (requester), 2 bob (owner),
// 3 carol; data connections from 10 on.
const (
	sAlice SessionID = 1
	sBob   SessionID = 2
	sCarol SessionID = 3
)

func newXferHub(t *testing.T, tc TransferConfig) *fixture {
	t.Helper()
	n := 0
	if tc.NewToken == nil {
		tc.NewToken = func() string { n++; return fmt.Sprintf("tok-%d", n) }
	}
	x := newFixture(t, Config{Transfer: tc})
	x.login(sAlice, "alice")
	x.login(sBob, "bob")
	x.login(sCarol, "carol")
	return x
}

// fetch has from ask owner for file and checks the reply and the offer.
func (x *fixture) fetch(from, owner SessionID, ownerName, file string) string {
	x.t.Helper()
	r, outs := x.do(from, wire.Frame{Type: wire.TypeFetch, To: ownerName, Name: file})
	if r.Code != wire.OK || r.Token == "" || r.Text != "asking "+ownerName+" for "+file {
		x.t.Fatalf("fetch: %+v", r)
	}
	offers := to(outs, owner)
	if len(offers) != 1 || offers[0].Type != wire.TypeFileOffer || offers[0].Name != file ||
		offers[0].Token != r.Token || offers[0].From != x.h.Name(from) || offers[0].Time != t0.UnixMilli() {
		x.t.Fatalf("offer: %+v", offers)
	}
	return r.Token
}

// attachData connects data session sid and attaches it.
func (x *fixture) attachData(sid SessionID, token string, role wire.Code) (*wire.Frame, []Output) {
	x.t.Helper()
	x.h.Connect(sid, "test", x.now)
	return x.do(sid, wire.Frame{Type: wire.TypeAttach, Token: token, Code: role})
}

func relayOps(outs []Output) []string {
	var ops []string
	for _, o := range outs {
		if o.Relay != nil {
			switch o.Relay.Kind {
			case RelayAttach:
				ops = append(ops, fmt.Sprintf("attach %d role %d", o.To, o.Relay.Role))
			case RelayPipe:
				ops = append(ops, fmt.Sprintf("pipe %d to %d", o.To, o.Relay.Peer))
			case RelayAbort:
				ops = append(ops, fmt.Sprintf("abort %d", o.To))
			}
		}
	}
	return ops
}

func wantOps(t *testing.T, outs []Output, want ...string) {
	t.Helper()
	got := relayOps(outs)
	if strings.Join(got, "; ") != strings.Join(want, "; ") {
		t.Fatalf("relay ops %q, want %q", got, want)
	}
}

// failed returns the one FileFailed sent to sid, failing if there is not
// exactly one.
func failed(t *testing.T, outs []Output, sid SessionID) *wire.Frame {
	t.Helper()
	var ff []*wire.Frame
	for _, f := range to(outs, sid) {
		if f.Type == wire.TypeFileFailed {
			ff = append(ff, f)
		}
	}
	if len(ff) != 1 {
		t.Fatalf("want one FileFailed to %d, got %+v", sid, outs)
	}
	return ff[0]
}

func noFailed(t *testing.T, outs []Output) {
	t.Helper()
	for _, o := range outs {
		if o.Frame != nil && o.Frame.Type == wire.TypeFileFailed {
			t.Fatalf("unexpected %+v", o.Frame)
		}
	}
}

// piping sets up a transfer of file from bob to alice with both data
// connections (10 requester, 11 owner) attached.
func (x *fixture) piping(file string) string {
	x.t.Helper()
	token := x.fetch(sAlice, sBob, "bob", file)
	if r, _ := x.attachData(10, token, wire.RoleRequester); r.Code != wire.OK {
		x.t.Fatalf("attach requester: %+v", r)
	}
	r, outs := x.attachData(11, token, wire.RoleOwner)
	if r.Code != wire.OK {
		x.t.Fatalf("attach owner: %+v", r)
	}
	wantOps(x.t, outs, "attach 11 role 1", "pipe 11 to 10")
	return token
}

func TestHubBroadcast(t *testing.T) {
	x := newXferHub(t, TransferConfig{})
	x.connect(4) // hello, no login
	x.enter(sCarol, "lounge")
	r, outs := x.do(sAlice, wire.Frame{Type: wire.TypeBroadcast, Text: "hello all"})
	if r.Code != wire.OK || r.Count != 2 || r.Text != "" {
		t.Fatalf("broadcast reply: %+v", r)
	}
	for _, sid := range []SessionID{sBob, sCarol} {
		ms := to(outs, sid)
		want := wire.Frame{Type: wire.TypeMessage, From: "alice", Text: "hello all", Time: t0.UnixMilli()}
		if len(ms) != 1 || !reflect.DeepEqual(*ms[0], want) {
			t.Fatalf("to %d: %+v", sid, ms)
		}
	}
	if len(to(outs, sAlice)) != 0 || len(to(outs, 4)) != 0 {
		t.Fatalf("broadcast went back to the sender or to a session without a login: %+v", outs)
	}
	for _, tc := range []struct {
		sid  SessionID
		text string
		code wire.Code
	}{
		{4, "hi", wire.ErrNotLoggedIn},
		{sAlice, "", wire.ErrBadRequest},
		{sAlice, "\xff", wire.ErrBadRequest},
		{sAlice, strings.Repeat("x", wire.MaxTextRunes+1), wire.ErrTooLong},
	} {
		r, outs := x.do(tc.sid, wire.Frame{Type: wire.TypeBroadcast, Text: tc.text})
		if r.Code != tc.code || len(outs) != 1 {
			t.Fatalf("broadcast %.10q from %d: %+v, %d outputs", tc.text, tc.sid, r, len(outs))
		}
	}
	// Alone: nobody to tell, still OK.
	y := newFixture(t, Config{})
	y.login(1, "alice")
	if r, outs := y.do(1, wire.Frame{Type: wire.TypeBroadcast, Text: "anyone?"}); r.Code != wire.OK || r.Count != 0 || len(outs) != 1 {
		t.Fatalf("alone: %+v %+v", r, outs)
	}
}

func TestHubFetchRules(t *testing.T) {
	x := newXferHub(t, TransferConfig{})
	x.connect(4)
	for _, tc := range []struct {
		sid   SessionID
		owner string
		file  string
		code  wire.Code
		text  string
	}{
		{4, "bob", "f", wire.ErrNotLoggedIn, "please log in first: login NAME"},
		{sAlice, "", "f", wire.ErrBadName, ""},
		{sAlice, "a b", "f", wire.ErrBadName, `bad user name "a b": use 1 to 20 characters without spaces`},
		{sAlice, "alice", "f", wire.ErrSelf, "you cannot ask yourself for a file"},
		{sAlice, "Alice", "f", wire.ErrNoSuchUser, "no user named Alice is connected"}, // names keep their case
		{sAlice, "dave", "f", wire.ErrNoSuchUser, "no user named dave is connected"},
		{sAlice, "bob", "", wire.ErrBadRequest, "a file request needs a file name"},
		{sAlice, "bob", strings.Repeat("n", 256), wire.ErrBadRequest, "file name too long: 256 bytes, the limit is 255"},
		{sAlice, "bob", "a\x00b", wire.ErrBadRequest, "the file name contains a NUL character"},
		{sAlice, "bob", "\xff", wire.ErrBadRequest, "the file name is not valid UTF-8"},
	} {
		r, outs := x.do(tc.sid, wire.Frame{Type: wire.TypeFetch, To: tc.owner, Name: tc.file})
		if r.Code != tc.code || (tc.text != "" && r.Text != tc.text) || len(outs) != 1 {
			t.Errorf("fetch %q %.20q: %+v (%d outputs), want %d %q", tc.owner, tc.file, r, len(outs), tc.code, tc.text)
		}
	}
	// User names keep their case: "Bob" is not bob.
	if r, _ := x.do(sAlice, wire.Frame{Type: wire.TypeFetch, To: "Bob", Name: "f"}); r.Code != wire.ErrNoSuchUser {
		t.Fatalf("fetch from Bob: %+v", r)
	}
	// The longest name is fine; the owner judges what it may reach.
	x.fetch(sAlice, sBob, "bob", strings.Repeat("n", 255))
	x.fetch(sAlice, sBob, "bob", "../../etc/passwd")
	// A user who logged out is no owner.
	x.do(sCarol, wire.Frame{Type: wire.TypeLogout})
	if r, _ := x.do(sAlice, wire.Frame{Type: wire.TypeFetch, To: "carol", Name: "f"}); r.Code != wire.ErrNoSuchUser {
		t.Fatalf("fetch from a logged-out user: %+v", r)
	}
}

func TestHubFetchLimits(t *testing.T) {
	x := newXferHub(t, TransferConfig{PerOwner: 2, PerRequester: 3, MaxTransfers: 4})
	x.fetch(sAlice, sBob, "bob", "a")
	x.fetch(sAlice, sBob, "bob", "b")
	busy := func(sid SessionID, owner, text string) {
		t.Helper()
		r, outs := x.do(sid, wire.Frame{Type: wire.TypeFetch, To: owner, Name: "f"})
		if r.Code != wire.ErrBusy || r.Text != text || len(outs) != 1 {
			t.Fatalf("want busy %q, got %+v", text, r)
		}
	}
	busy(sAlice, "bob", "bob is already sending 2 files; try again later")
	busy(sCarol, "bob", "bob is already sending 2 files; try again later")
	x.fetch(sAlice, sCarol, "carol", "c")
	busy(sAlice, "carol", "you already have 3 transfers under way; wait for one to finish")
	x.fetch(sBob, sCarol, "carol", "d")
	busy(sCarol, "alice", "the server has too many transfers under way (4); try again later")
	if x.h.Transfers() != 4 {
		t.Fatalf("transfers: %d", x.h.Transfers())
	}
	// A refusal frees the owner's slot.
	tok := x.fetchToken(t, "tok-1")
	if r, _ := x.do(sBob, wire.Frame{Type: wire.TypeRefuse, Token: tok, Code: wire.ErrNoSuchFile}); r.Code != wire.OK {
		t.Fatalf("refuse: %+v", r)
	}
	x.fetch(sCarol, sBob, "bob", "e")
}

func (x *fixture) fetchToken(t *testing.T, tok string) string {
	t.Helper()
	if x.h.xfer.byToken[tok] == nil {
		t.Fatalf("no transfer %s", tok)
	}
	return tok
}

func TestHubTokens(t *testing.T) {
	// Tokens that are empty, too long or in use are not handed out.
	toks := []string{"", strings.Repeat("t", wire.MaxTokenBytes+1), "a", "a", "a", "a", "b"}
	i := 0
	x := newXferHub(t, TransferConfig{NewToken: func() string { i++; return toks[i-1] }})
	if tok := x.fetch(sAlice, sBob, "bob", "f"); tok != "a" {
		t.Fatalf("token %q", tok)
	}
	if r, outs := x.do(sAlice, wire.Frame{Type: wire.TypeFetch, To: "bob", Name: "f"}); r.Code != wire.ErrUnavailable || len(outs) != 1 {
		t.Fatalf("fetch with no fresh token: %+v", r)
	}
	if tok := x.fetch(sAlice, sBob, "bob", "f"); tok != "b" {
		t.Fatalf("token %q", tok)
	}
	// The default source: 32 hex digits, different each time.
	a, b := RandomToken(), RandomToken()
	if len(a) != 32 || a == b || strings.Trim(a, "0123456789abcdef") != "" {
		t.Fatalf("RandomToken: %q %q", a, b)
	}
}

func TestHubTransferCompletes(t *testing.T) {
	x := newXferHub(t, TransferConfig{PerOwner: 1})
	token := x.fetch(sAlice, sBob, "bob", "report.pdf")
	r, outs := x.attachData(10, token, wire.RoleRequester)
	if r.Code != wire.OK || r.Text != "waiting for report.pdf from bob" || r.Name != "report.pdf" || r.Token != token {
		t.Fatalf("attach requester: %+v", r)
	}
	wantOps(t, outs, "attach 10 role 2")
	// A data session is no chat session: not a user, no notices.
	if x.h.Sessions() != 3 || !x.h.IsData(10) {
		t.Fatalf("sessions %d, data %v", x.h.Sessions(), x.h.IsData(10))
	}
	if r, _ := x.do(sCarol, wire.Frame{Type: wire.TypeWho}); r.Count != 3 {
		t.Fatalf("who: %+v", r)
	}
	if outs := x.h.Handle(10, &wire.Frame{Type: wire.TypePing, ID: 2}, x.now); outs != nil {
		t.Fatalf("a frame from a data session: %+v", outs)
	}
	// A second requester, a wrong role, a bad token: refused and closed.
	for _, tc := range []struct {
		token string
		role  wire.Code
		code  wire.Code
		text  string
	}{
		{token, wire.RoleRequester, wire.ErrNoSuchToken, "that transfer already has its data connection"},
		{token, 3, wire.ErrBadRequest, "an attach's code must be its role: 1 (owner) or 2 (requester)"},
		{"nope", wire.RoleOwner, wire.ErrNoSuchToken, "no transfer has that token: it is unknown or has ended"},
		{"", wire.RoleOwner, wire.ErrNoSuchToken, ""},
	} {
		r, outs := x.attachData(20, tc.token, tc.role)
		if r.Code != tc.code || (tc.text != "" && r.Text != tc.text) || !closes(outs, 20) || len(relayOps(outs)) != 0 {
			t.Fatalf("attach %q role %d: %+v %+v", tc.token, tc.role, r, outs)
		}
		x.h.Disconnect(20, ReasonClosed, x.now)
	}
	r, outs = x.attachData(11, token, wire.RoleOwner)
	if r.Code != wire.OK || r.Text != "send report.pdf to alice" {
		t.Fatalf("attach owner: %+v", r)
	}
	wantOps(t, outs, "attach 11 role 1", "pipe 11 to 10")
	// Attach on a chat connection is a mistake, answered and ignored.
	if r, outs := x.do(sBob, wire.Frame{Type: wire.TypeAttach, Token: token, Code: wire.RoleOwner}); r.Code != wire.ErrBadRequest ||
		r.Text != "attach must be the first frame of a new connection" || len(outs) != 1 {
		t.Fatalf("attach after hello: %+v", outs)
	}
	// The owner's stream ends: the requester's side is flushed by the loop,
	// then closes; nobody is told anything.
	outs = x.h.DataClosed(11, DataEOF, x.now)
	if len(outs) != 0 || x.h.Transfers() != 1 {
		t.Fatalf("owner EOF: %+v", outs)
	}
	// The owner may leave now: its part is done.
	if outs := x.h.Disconnect(sBob, ReasonLost, x.now); len(relayOps(outs)) != 0 {
		t.Fatalf("owner left after sending: %+v", outs)
	}
	outs = x.h.Disconnect(10, ReasonLost, x.now)
	if len(outs) != 0 || x.h.Transfers() != 0 || x.h.IsData(10) {
		t.Fatalf("requester closed: %+v", outs)
	}
	// Everything is forgotten.
	if len(x.h.xfer.asOwner)+len(x.h.xfer.asRequester)+len(x.h.xfer.data) != 0 {
		t.Fatalf("left over: %+v", x.h.xfer)
	}
	if !x.h.TransferDeadline().IsZero() {
		t.Fatal("a deadline without transfers")
	}
}

func TestHubRefuse(t *testing.T) {
	x := newXferHub(t, TransferConfig{})
	token := x.fetch(sAlice, sBob, "bob", "secret.txt")
	x.attachData(10, token, wire.RoleRequester)
	for _, tc := range []struct {
		sid  SessionID
		f    wire.Frame
		code wire.Code
		text string
	}{
		{sCarol, wire.Frame{Token: token, Code: wire.ErrNoSuchFile}, wire.ErrNoSuchToken, "no transfer of yours has that token: it is unknown or has ended"},
		{sAlice, wire.Frame{Token: token, Code: wire.ErrNoSuchFile}, wire.ErrNoSuchToken, ""},
		{sBob, wire.Frame{Token: "x", Code: wire.ErrNoSuchFile}, wire.ErrNoSuchToken, ""},
		{sBob, wire.Frame{Token: token, Code: wire.OK}, wire.ErrBadRequest, "a refusal's code must be 19 (no such file), 20 (unreadable) or 21 (busy)"},
		{sBob, wire.Frame{Token: token, Code: wire.ErrNoSuchFile, Text: "\xff"}, wire.ErrBadRequest, "the refusal's text: message text is not valid UTF-8"},
	} {
		tc.f.Type = wire.TypeRefuse
		r, outs := x.do(tc.sid, tc.f)
		if r.Code != tc.code || (tc.text != "" && r.Text != tc.text) || len(outs) != 1 {
			t.Fatalf("refuse %+v: %+v %+v", tc.f, r, outs)
		}
	}
	r, outs := x.do(sBob, wire.Frame{Type: wire.TypeRefuse, Token: token, Code: wire.ErrUnreadable, Text: "permission denied"})
	if r.Code != wire.OK || r.Text != "told alice that secret.txt cannot be sent" {
		t.Fatalf("refuse: %+v", r)
	}
	f := failed(t, outs, sAlice)
	want := wire.Frame{Type: wire.TypeFileFailed, From: "bob", Name: "secret.txt", Token: token, Code: wire.ErrUnreadable, Text: "permission denied", Time: t0.UnixMilli()}
	if !reflect.DeepEqual(*f, want) {
		t.Fatalf("file failed: %+v", f)
	}
	wantOps(t, outs, "abort 10")
	if x.h.Transfers() != 0 || x.h.IsData(10) {
		t.Fatal("transfer kept")
	}
	// A late attach of the refused transfer is told why it failed (the
	// requester's client attaches as soon as it has the token, and may
	// come after the refusal); closed all the same.
	if r, outs := x.attachData(11, token, wire.RoleRequester); r.Code != wire.ErrUnreadable || r.Text != "permission denied" || !closes(outs, 11) {
		t.Fatalf("attach after refuse: %+v", r)
	}
	// A refusal of an ended transfer is not accepted.
	if r, _ := x.do(sBob, wire.Frame{Type: wire.TypeRefuse, Token: token, Code: wire.ErrBusy}); r.Code != wire.ErrNoSuchToken {
		t.Fatalf("second refuse: %+v", r)
	}
	// Default texts.
	for code, text := range map[wire.Code]string{
		wire.ErrNoSuchFile: "bob has no file named f",
		wire.ErrUnreadable: "bob cannot read f",
		wire.ErrBusy:       "bob is busy; ask for f again later",
	} {
		tok := x.fetch(sAlice, sBob, "bob", "f")
		_, outs := x.do(sBob, wire.Frame{Type: wire.TypeRefuse, Token: tok, Code: code})
		if f := failed(t, outs, sAlice); f.Code != code || f.Text != text {
			t.Fatalf("refuse %d: %+v", code, f)
		}
	}
	// Refusing mid-stream (the owner hit a read error): the requester is
	// told why and both data connections close.
	tok := x.piping("big.iso")
	_, outs = x.do(sBob, wire.Frame{Type: wire.TypeRefuse, Token: tok, Code: wire.ErrUnreadable, Text: "read error"})
	if f := failed(t, outs, sAlice); f.Code != wire.ErrUnreadable {
		t.Fatalf("refuse mid-stream: %+v", f)
	}
	wantOps(t, outs, "abort 11", "abort 10")
}

func TestHubTransferTimeout(t *testing.T) {
	x := newXferHub(t, TransferConfig{AttachTimeout: 30 * time.Second})
	if !x.h.TransferDeadline().IsZero() {
		t.Fatal("deadline without transfers")
	}
	x.fetch(sAlice, sBob, "bob", "a") // nobody attaches
	tokB := x.fetch(sAlice, sBob, "bob", "b")
	x.attachData(14, tokB, wire.RoleRequester) // only the requester
	tokC := x.fetch(sAlice, sBob, "bob", "c")
	x.attachData(15, tokC, wire.RoleOwner) // only the owner
	x.piping("d")                          // both: no timeout
	// One more, a second later.
	x.h.Handle(sAlice, &wire.Frame{Type: wire.TypeFetch, ID: 100, To: "bob", Name: "e"}, t0.Add(time.Second))

	if d := x.h.TransferDeadline(); !d.Equal(t0.Add(30 * time.Second)) {
		t.Fatalf("deadline %v", d)
	}
	if outs := x.h.Tick(t0.Add(30*time.Second - time.Millisecond)); len(outs) != 0 {
		t.Fatalf("early: %+v", outs)
	}
	at := t0.Add(30 * time.Second)
	outs := x.h.Tick(at)
	ff := to(outs, sAlice)
	if len(ff) != 3 {
		t.Fatalf("timeouts: %+v", outs)
	}
	for i, want := range []string{
		"bob did not start sending a within 30s",
		"bob did not start sending b within 30s",
		"your data connection for c was not opened within 30s",
	} {
		if f := ff[i]; f.Type != wire.TypeFileFailed || f.Code != wire.ErrUnavailable || f.Text != want || f.Time != at.UnixMilli() {
			t.Fatalf("timeout %d: %+v", i, f)
		}
	}
	wantOps(t, outs, "abort 14", "abort 15")
	if d := x.h.TransferDeadline(); !d.Equal(t0.Add(31 * time.Second)) {
		t.Fatalf("next deadline %v", d)
	}
	if f := failed(t, x.h.Tick(t0.Add(time.Minute)), sAlice); f.Name != "e" {
		t.Fatalf("timeout e: %+v", f)
	}
	if x.h.Transfers() != 1 || !x.h.TransferDeadline().IsZero() {
		t.Fatalf("after timeouts: %d transfers, deadline %v", x.h.Transfers(), x.h.TransferDeadline())
	}
}

func TestHubOwnerLeaves(t *testing.T) {
	for _, how := range []string{"disconnect", "logout", "takeover"} {
		t.Run(how, func(t *testing.T) {
			x := newXferHub(t, TransferConfig{})
			x.piping("movie.mkv")
			offered := x.fetch(sAlice, sBob, "bob", "other")
			var outs []Output
			switch how {
			case "disconnect":
				outs = x.h.Disconnect(sBob, ReasonLost, x.now)
			case "logout":
				_, outs = x.do(sBob, wire.Frame{Type: wire.TypeLogout})
			case "takeover":
				x.connect(5)
				x.do(5, wire.Frame{Type: wire.TypeLogin, Name: "bob", Secret: "pw-bob"})
				// The old connection ends once its Bye is out.
				outs = x.h.Disconnect(sBob, ReasonClosed, x.now)
			}
			var ff []*wire.Frame
			for _, f := range to(outs, sAlice) {
				if f.Type == wire.TypeFileFailed {
					ff = append(ff, f)
				}
			}
			if len(ff) != 2 || ff[0].Code != wire.ErrOwnerGone || ff[1].Code != wire.ErrOwnerGone {
				t.Fatalf("file failed: %+v", outs)
			}
			for _, f := range ff {
				if f.Text != "bob left before sending "+f.Name {
					t.Fatalf("text: %+v", f)
				}
			}
			_ = offered
			wantOps(t, outs, "abort 11", "abort 10")
			if x.h.Transfers() != 0 {
				t.Fatal("transfers kept")
			}
		})
	}
}

func TestHubRequesterLeaves(t *testing.T) {
	x := newXferHub(t, TransferConfig{})
	x.piping("movie.mkv")
	outs := x.h.Disconnect(sAlice, ReasonLost, x.now)
	noFailed(t, outs)
	wantOps(t, outs, "abort 11", "abort 10")
	if x.h.Transfers() != 0 || len(to(outs, sBob)) != 0 {
		t.Fatalf("after requester left: %+v", outs)
	}
	// After the owner finished, the requester's data connection is closed
	// when the requester leaves.
	x.login(6, "alice")
	tok := x.fetch(6, sBob, "bob", "f")
	x.attachData(12, tok, wire.RoleRequester)
	x.attachData(13, tok, wire.RoleOwner)
	x.h.DataClosed(13, DataEOF, x.now)
	_, outs = x.do(6, wire.Frame{Type: wire.TypeLogout})
	noFailed(t, outs)
	wantOps(t, outs, "abort 12")
	if x.h.Transfers() != 0 {
		t.Fatal("transfer kept")
	}
}

func TestHubDataClosedEarly(t *testing.T) {
	for _, tc := range []struct {
		name string
		sid  SessionID
		how  DataEnd
		code wire.Code
		text string
		ops  []string
	}{
		{"owner reset", 11, DataError, wire.ErrOwnerGone, "the transfer of f broke off: bob's data connection closed", []string{"abort 10"}},
		{"requester closed", 10, DataEOF, wire.ErrUnavailable, "your data connection for f closed before the transfer finished", []string{"abort 11"}},
		{"requester failed", 10, DataError, wire.ErrUnavailable, "your data connection for f closed before the transfer finished", []string{"abort 11"}},
		{"requester spoke", 10, DataSpoke, wire.ErrBadRequest, "your data connection for f sent data; a requester's data connection must only receive", []string{"abort 11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := newXferHub(t, TransferConfig{})
			x.piping("f")
			outs := x.h.DataClosed(tc.sid, tc.how, x.now)
			if f := failed(t, outs, sAlice); f.Code != tc.code || f.Text != tc.text || f.From != "bob" {
				t.Fatalf("file failed: %+v", f)
			}
			wantOps(t, outs, tc.ops...)
			// The loop then closes the other side; the hub has forgotten it.
			if outs := x.h.Disconnect(10, ReasonLost, x.now); outs != nil {
				t.Fatalf("second close: %+v", outs)
			}
			if outs := x.h.Disconnect(11, ReasonLost, x.now); outs != nil {
				t.Fatalf("second close: %+v", outs)
			}
			if x.h.Transfers() != 0 {
				t.Fatal("transfer kept")
			}
		})
	}
	// An owner's EOF before the requester attached is no normal end.
	x := newXferHub(t, TransferConfig{})
	tok := x.fetch(sAlice, sBob, "bob", "f")
	x.attachData(11, tok, wire.RoleOwner)
	if f := failed(t, x.h.DataClosed(11, DataEOF, x.now), sAlice); f.Code != wire.ErrOwnerGone {
		t.Fatalf("owner EOF before piping: %+v", f)
	}
}

func TestHubShutdownWithTransfers(t *testing.T) {
	x := newXferHub(t, TransferConfig{})
	x.piping("a")
	tok := x.fetch(sCarol, sBob, "bob", "b")
	x.attachData(12, tok, wire.RoleRequester)
	x.attachData(13, tok, wire.RoleOwner)
	x.h.DataClosed(13, DataEOF, x.now) // b is sent; 12 is flushing
	outs := x.h.Shutdown(x.now)
	if f := failed(t, outs, sAlice); f.Code != wire.ErrUnavailable || f.Text != "the server is shutting down" {
		t.Fatalf("file failed: %+v", f)
	}
	for _, f := range to(outs, sCarol) {
		if f.Type == wire.TypeFileFailed {
			t.Fatalf("carol's transfer was complete: %+v", f)
		}
	}
	// The running transfer's data connections close at once; the flushing
	// one closes like any connection at shutdown; data sessions get no
	// notice or bye.
	wantOps(t, outs, "abort 11", "abort 10")
	for _, sid := range []SessionID{10, 11, 12, 13} {
		if len(to(outs, sid)) != 0 || closes(outs, sid) {
			t.Fatalf("to data session %d: %+v", sid, outs)
		}
	}
	if x.h.Transfers() != 0 {
		t.Fatal("transfers kept")
	}
}

// The reasons of failed transfers are kept for a while and for a bounded
// number of them: past either, an attach gets "unknown token".
func TestTransferFailuresRemembered(t *testing.T) {
	var x transferState
	for i := range maxFailedTransfers + 1 {
		x.rememberFailure(fmt.Sprintf("tok%d", i), wire.ErrBusy, fmt.Sprintf("busy %d", i), t0)
	}
	if len(x.failed) != maxFailedTransfers || len(x.failedOrder) != maxFailedTransfers {
		t.Fatalf("%d remembered (%d in order), want %d", len(x.failed), len(x.failedOrder), maxFailedTransfers)
	}
	if _, ok := x.failure("tok0", t0); ok {
		t.Error("the oldest failure is still remembered past the bound")
	}
	last := fmt.Sprintf("tok%d", maxFailedTransfers)
	if f, ok := x.failure(last, t0.Add(failedTransferKeep-time.Second)); !ok || f.code != wire.ErrBusy || f.text != fmt.Sprintf("busy %d", maxFailedTransfers) {
		t.Errorf("newest failure: %+v %v", f, ok)
	}
	if _, ok := x.failure(last, t0.Add(failedTransferKeep)); ok {
		t.Error("a failure is remembered past failedTransferKeep")
	}
	if _, ok := x.failure("", t0); ok {
		t.Error("the empty token has a failure")
	}
}
