package hub

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"chat/internal/wire"
)

// FuzzMode sends fuzzed Mode requests, one per line of the input, to a
// room from its operator, a member, an outsider and a server operator in
// turn, and checks after each that the hub did not panic and that:
//   - the request got exactly one reply, and a notice went to every member
//     (and to the sender) or to nobody;
//   - a refused request, or one that changed nothing, left the room as it
//     was; a notice's change parses again as a Mode;
//   - the room is valid: known flags only, a key and bans that a Mode could
//     have set, a limit not negative, at most MaxBans bans, none twice;
//   - what RoomStates saves restores to the same room.
func FuzzMode(f *testing.F) {
	for _, seed := range []string{
		"+o-v bob ann\n+b bob\n-b BOB\nb",
		"+kl sesame 5\n-k\n+l x\n+l -3\n-l",
		"+imnst+lvvvvv 9 bob bob bob bob bob\n+vvvvvvv a a a a a a a",
		"+z\n+mz\n+o\n+o eve\n+b\n-b\n+\n-\n++--",
		"+k a,b\n+k " + strings.Repeat("k", 30) + "\n+b " + strings.Repeat("m", 200),
		"+b *\n+b *!*@*\n+b é?\n-b *",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		x := newFixture(t, Config{Guests: true, IsOperator: func(n string) bool { return n == "root" },
			IsRegistered: func(n string) bool { return n == "alice" || n == "bob" || n == "root" }})
		x.login(1, "alice")
		x.login(2, "bob")
		x.claim(3, "ann")
		x.login(4, "root")
		x.oper(4, "root")
		x.claim(5, "eve")
		for _, sid := range []SessionID{1, 2, 3} {
			x.join(sid, "r")
		}
		r := x.h.room("r")
		senders := []SessionID{1, 2, 5, 4}
		lines := strings.Split(in, "\n")
		if len(lines) > 64 {
			lines = lines[:64]
		}
		for i, line := range lines {
			sid := senders[i%len(senders)]
			before := snapshot(r)
			rep, outs := x.do(sid, wire.Frame{Type: wire.TypeMode, Room: "r", Mode: line})
			got := delivered(outs)
			notified := len(got) > 0
			if notified {
				checkModeNotice(t, r, got, sid, line)
			}
			if (rep.Code != wire.OK || !notified) && !reflect.DeepEqual(before, snapshot(r)) {
				t.Fatalf("Mode %q from %d (%d %q) changed the room:\n%+v\n%+v", line, sid, rep.Code, rep.Text, before, snapshot(r))
			}
			checkChannel(t, r)
		}
		// What is saved restores to the same room.
		saved := x.h.RoomStates(true)
		y := New(Config{})
		if err := y.Restore(saved, true); err != nil {
			t.Fatalf("Restore of %+v: %v", saved, err)
		}
		if again := y.RoomStates(true); !reflect.DeepEqual(again, saved) {
			t.Fatalf("restored\n%+v\nsaved\n%+v", again, saved)
		}
	})
}

// checkModeNotice: one notice to each member and to the sender, the same
// frame, whose change parses again.
func checkModeNotice(t *testing.T, r *room, got map[SessionID][]*wire.Frame, sid SessionID, line string) {
	t.Helper()
	want := map[SessionID]bool{sid: true}
	for _, m := range r.members {
		want[m.id] = true
	}
	var n *wire.Frame
	for to, fs := range got {
		if !want[to] || len(fs) != 1 || fs[0].Code != wire.NoticeMode || (n != nil && fs[0] != n) {
			t.Fatalf("Mode %q: %s", line, dump(got))
		}
		n = fs[0]
	}
	if len(got) != len(want) {
		t.Fatalf("Mode %q: notice to %d of %d: %s", line, len(got), len(want), dump(got))
	}
	if _, code, text := parseModes(strings.Fields(n.Mode)); code != wire.OK {
		t.Fatalf("Mode %q: the notice's %q does not parse: %s", line, n.Mode, text)
	}
}

// checkChannel checks that r's channel state is one the rules allow.
func checkChannel(t *testing.T, r *room) {
	t.Helper()
	var all roomModes
	for _, f := range flagModes {
		all |= f.bit
	}
	seen := map[string]bool{}
	for _, b := range r.bans {
		if seen[fold(b)] || len(b) > maxMaskLen || !utf8.ValidString(b) || normalMask(b) != b {
			t.Fatalf("bad ban %q in %q", b, r.bans)
		}
		seen[fold(b)] = true
	}
	switch {
	case r.modes&^all != 0:
		t.Fatalf("unknown mode bits %b", r.modes)
	case r.limit < 0:
		t.Fatalf("limit %d", r.limit)
	case r.key != "" && (len(r.key) > maxKeyBytes || strings.ContainsAny(r.key, " ,:") || !utf8.ValidString(r.key)):
		t.Fatalf("key %q", r.key)
	case len(r.bans) > MaxBans:
		t.Fatalf("%d bans", len(r.bans))
	}
	for _, m := range []map[string]bool{r.ops, r.voiced, r.invited} {
		for name, on := range m {
			if !on || wire.ValidName(name) != nil {
				t.Fatalf("flag %q: %v", name, on)
			}
		}
	}
}

// snapshot copies what a Mode may change of r.
func snapshot(r *room) channel {
	c := r.channel
	c.ops, c.voiced, c.invited = nonNil(c.ops), nonNil(c.voiced), nonNil(c.invited)
	c.bans = slices.Clone(c.bans)
	return c
}

func nonNil(m map[string]bool) map[string]bool {
	if m == nil {
		return map[string]bool{}
	}
	return maps.Clone(m)
}
