package hub

import (
	"testing"

	"chat/internal/wire"
)

// TestWhowas: who held a name lately, newest first, from logouts,
// disconnections and renames; bounded in what it keeps and returns.
func TestWhowas(t *testing.T) {
	x := newFixture(t, Config{Guests: true})
	x.connect(1)
	x.connect(2)
	x.do(1, wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	x.do(1, wire.Frame{Type: wire.TypeClaim, Name: "g", Ident: "first", Real: "First G"})
	x.do(1, wire.Frame{Type: wire.TypeLogout})
	x.do(1, wire.Frame{Type: wire.TypeClaim, Name: "g", Ident: "second"})
	x.do(1, wire.Frame{Type: wire.TypeNick, Name: "h"})
	x.login(2, "alice")
	r, _ := x.do(2, wire.Frame{Type: wire.TypeWhowas, Name: "g"})
	if r.Code != wire.OK || len(r.Users) != 2 || r.Users[0] != (wire.User{Name: "g", Ident: "second"}) ||
		r.Users[1] != (wire.User{Name: "g", Ident: "first", Real: "First G"}) {
		t.Fatalf("whowas g: %+v", r)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeWhowas, Name: "g", Count: 1}); len(r.Users) != 1 || r.Users[0].Ident != "second" {
		t.Fatalf("whowas g 1: %+v", r)
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeWhowas, Name: "nobody"}); r.Code != wire.ErrNoSuchUser {
		t.Fatalf("whowas nobody: %+v", r)
	}
	x.h.Disconnect(1, ReasonLost, x.now)
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeWhowas, Name: "h"}); len(r.Users) != 1 || r.Users[0].Name != "h" {
		t.Fatalf("whowas h: %+v", r)
	}
	for i := 0; i < maxDeparted+10; i++ {
		x.h.remember(&session{name: "z"})
	}
	if len(x.h.departed) != maxDeparted {
		t.Fatalf("kept %d", len(x.h.departed))
	}
	if r, _ := x.do(2, wire.Frame{Type: wire.TypeWhowas, Name: "z"}); len(r.Users) != maxWhowas {
		t.Fatalf("whowas z: %d rows", len(r.Users))
	}
}
