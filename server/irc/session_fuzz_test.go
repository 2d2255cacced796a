package irc_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
	"chat/server/hub"
	"chat/server/irc"
)

// FuzzIRCSession drives two IRC sessions and the hub with arbitrary lines
// (each line goes to the session its first byte picks) and checks what
// every session is sent: no panic, and every line within irc.MaxLine,
// ending in CR LF, with no NUL and no bare line break inside.
func FuzzIRCSession(f *testing.F) {
	for _, s := range []string{
		"aNICK alice\naUSER a 0 * :A\nbNICK bob\nbUSER b 0 * :B\naJOIN #x\nbJOIN #x\naPRIVMSG #x :hi\nbPRIVMSG alice :yo\nbQUIT :bye",
		"aCAP LS 302\naPASS pw\naNICK alice\naUSER a 0 * :A\naCAP END\naJOIN #a,#b\naJOIN 0\naWHO\naWHOIS alice\naLIST",
		"aNICK x\naUSER x 0 * :x\naPRIVMSG x :\x01ACTION hi\x01\naMODE x +i\naMODE #x\naTOPIC #x :t\naNAMES",
		"aNICK " + strings.Repeat("/", 480), // the 432 echoing it must still fit in a line
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, script []byte) {
		h := hub.New(hub.Config{Guests: true, IsRegistered: func(n string) bool { return n == "alice" }})
		cfg := &irc.Config{Server: "srv", Software: "chat-server-1", Created: "today"}
		now := time.Unix(1700000000, 0)
		sess := map[hub.SessionID]*irc.Session{1: irc.NewSession(cfg), 2: irc.NewSession(cfg)}
		check := func(out []byte) {
			for len(out) > 0 {
				i := bytes.Index(out, []byte("\r\n"))
				if i < 0 {
					t.Fatalf("output without CR LF: %q", out)
				}
				line := out[:i]
				if i+2 > irc.MaxLine || bytes.ContainsAny(line, "\r\n\x00") {
					t.Fatalf("bad line (%d bytes): %q", i+2, line)
				}
				out = out[i+2:]
			}
		}
		var hand func(sid hub.SessionID, reqs []wire.Frame, depth int)
		deliver := func(outs []hub.Output, depth int) {
			for _, o := range outs {
				s := sess[o.To]
				if o.Verify != nil {
					v := hub.VerdictWrong
					if o.Verify.Secret == "pw" {
						v = hub.VerdictOK
					}
					for _, r := range h.LoginResult(o.Verify.Session, o.Verify.ReqID, o.Verify.Name, v, now) {
						if s := sess[r.To]; s != nil && r.Frame != nil {
							check(s.Render(nil, r.Frame))
						}
					}
					continue
				}
				if s == nil || o.Frame == nil {
					continue
				}
				check(s.Render(nil, o.Frame))
				hand(o.To, s.TakeRequests(), depth+1)
			}
		}
		hand = func(sid hub.SessionID, reqs []wire.Frame, depth int) {
			if depth > 4 {
				return
			}
			for i := range reqs {
				deliver(h.Handle(sid, &reqs[i], now), depth)
			}
		}
		for sid, s := range sess {
			h.Connect(sid, "test", now)
			hand(sid, s.Start(), 0)
		}
		for _, line := range bytes.Split(script, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			sid := hub.SessionID(1 + int(line[0])%2)
			s := sess[sid]
			s.Feed(append(line[1:len(line):len(line)], '\n'))
			for {
				out, ok := s.HandleNext(nil)
				if !ok {
					break
				}
				check(out)
				hand(sid, s.TakeRequests(), 0)
			}
			now = now.Add(time.Second)
		}
	})
}
