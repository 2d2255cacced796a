package loadgen

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// kindsOf lists the kinds of vs, in order.
func kindsOf(vs []CrashViolation) []string {
	var k []string
	for _, v := range vs {
		k = append(k, v.Kind)
	}
	return k
}

// firstText is the text of the first of vs, or "".
func firstText(vs []CrashViolation) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0].Text
}

// TestChaosNamesCheck: only a probe that saw both sessions answer is a
// name held twice; a takeover, a refusal or a probe that learnt nothing
// is not.
func TestChaosNamesCheck(t *testing.T) {
	probe := func(o probeOutcome) nameProbe {
		return nameProbe{Name: "ann", From: "c1", To: "c2", At: 1500 * time.Millisecond, Outcome: o, Note: "no takeover Bye"}
	}
	tests := []struct {
		name   string
		probes []nameProbe
		want   []string
		text   string
	}{
		{"no probes", nil, nil, ""},
		{"taken over", []nameProbe{probe(probeTookOver)}, nil, ""},
		{"refused", []nameProbe{probe(probeRefused)}, nil, ""},
		{"unclear", []nameProbe{probe(probeUnclear)}, nil, ""},
		{"held twice", []nameProbe{probe(probeTookOver), probe(probeHeldTwice)}, []string{violHeldTwice},
			"ann was held on c1 and c2 at once at 1.50s: after the login on c2 was acknowledged, both sessions answered a Ping (no takeover Bye)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkNames(tt.probes)
			if !slices.Equal(kindsOf(got), tt.want) || firstText(got) != tt.text {
				t.Errorf("got %v", got)
			}
		})
	}
}

// TestChaosPresenceCheck: a server's who of a room must list its members,
// wherever they are, and no one else.
func TestChaosPresenceCheck(t *testing.T) {
	members := map[string][]string{"room0": {"ann", "bob", "cat"}}
	tests := []struct {
		name string
		view presenceView
		want []string
		text string
	}{
		{"every member", presenceView{Server: "c1", Room: "room0", Listed: []string{"cat", "ann", "bob"}}, nil, ""},
		{"only its own", presenceView{Server: "c2", Room: "room0", Listed: []string{"bob"}}, []string{violPresence},
			"c2's who of room0 lists 1 of its 3 members: missing ann, cat"},
		{"a stranger", presenceView{Server: "c1", Room: "room0", Listed: []string{"ann", "bob", "cat", "dan"}}, []string{violPresence},
			"c1's who of room0 lists dan, not in the room"},
		{"both", presenceView{Server: "c3", Room: "room0", Listed: []string{"dan"}}, []string{violPresence, violPresence},
			"c3's who of room0 lists 0 of its 3 members: missing ann, bob, cat"},
		{"not asked", presenceView{Server: "c1", Room: "room0", Err: "timeout"}, []string{violPresence},
			"c1: who of room0 could not be asked: timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkPresence([]presenceView{tt.view}, members)
			if !slices.Equal(kindsOf(got), tt.want) || firstText(got) != tt.text {
				t.Errorf("got %v", got)
			}
		})
	}
}

// TestChaosNoticesCheck: a Lost notice about a member who had been back
// in its room for longer than the grace is a violation, unless a probe
// had just logged its account in elsewhere.
func TestChaosNoticesCheck(t *testing.T) {
	sec := func(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }
	// bob was in the room from 1 s to 5 s, lost, and back from 5.2 s on.
	ups := map[string][]span{"bob": {{sec(1), sec(5)}, {sec(5.2), openEnd}}}
	lost := func(at float64) lostNotice { return lostNotice{To: "ann", About: "bob", Room: "room0", At: sec(at)} }
	tests := []struct {
		name   string
		lost   []lostNotice
		probed map[string][]span
		want   []string
		text   string
	}{
		{"told while he was away", []lostNotice{lost(5.1)}, nil, nil, ""},
		{"told within the grace of his return", []lostNotice{lost(6.5)}, nil, nil, ""},
		{"told long after his return", []lostNotice{lost(9)}, nil, []string{violNotice},
			"ann in room0 was told at 9.00s that bob was lost, but bob had been back in the room since 5.20s"},
		{"told of someone never in the room", []lostNotice{{To: "ann", About: "zed", Room: "room0", At: sec(9)}}, nil, nil, ""},
		{"a probe had just logged him in elsewhere", []lostNotice{lost(9)}, map[string][]span{"bob": {{sec(7), sec(8)}}}, nil, ""},
		{"a probe long before", []lostNotice{lost(20)}, map[string][]span{"bob": {{sec(7), sec(8)}}}, []string{violNotice},
			"ann in room0 was told at 20.00s that bob was lost, but bob had been back in the room since 5.20s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkNotices(tt.lost, ups, tt.probed, noticeGrace)
			if !slices.Equal(kindsOf(got), tt.want) || firstText(got) != tt.text {
				t.Errorf("got %v", got)
			}
		})
	}
}

// TestChaosProbeJudge drives a probe's judgement with what the first
// session's reader saw after the second login was acknowledged.
func TestChaosProbeJudge(t *testing.T) {
	const id = pingIDBit | 7
	tests := []struct {
		name   string
		seen   []seenFrame
		newErr error
		want   probeOutcome
		note   string
	}{
		{"a takeover Bye", []seenFrame{{typ: wire.TypeBye, code: wire.ByeTakeover}}, nil, probeTookOver, "Bye, takeover"},
		{"another Bye", []seenFrame{{typ: wire.TypeBye, code: wire.ByeKilled}}, nil, probeTookOver, "Bye code 207"},
		{"its Ping refused", []seenFrame{{typ: wire.TypeReply, id: id, code: wire.ErrNotLoggedIn}}, nil, probeTookOver,
			"its Ping was refused with code 1"},
		{"both answer", []seenFrame{{typ: wire.TypeReply, id: id}}, nil, probeHeldTwice, "no takeover Bye"},
		{"an earlier probe's answer, then a Bye", []seenFrame{{typ: wire.TypeReply, id: pingIDBit | 6}, {typ: wire.TypeBye, code: wire.ByeTakeover}},
			nil, probeTookOver, "Bye, takeover"},
		{"only the first answers", []seenFrame{{typ: wire.TypeReply, id: id}}, errors.New("closed"), probeUnclear,
			"the first session answered its Ping and the second did not: other (closed)"},
		{"nothing at all", nil, nil, probeUnclear, "the first session neither answered its Ping nor said Bye within 50ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &prober{wait: 50 * time.Millisecond}
			seen := make(chan seenFrame, len(tt.seen))
			for _, f := range tt.seen {
				seen <- f
			}
			got, note := p.judge(&crashSession{}, nil, id, seen, tt.newErr)
			if got != tt.want || note != tt.note {
				t.Errorf("got %d %q, want %d %q", got, note, tt.want, tt.note)
			}
		})
	}
}

// TestServerOrderSpreadsRoomsAndFailovers: every session tries every
// server once; each room starts with members on every server; and the
// sessions of one server fail over to each of the others.
func TestServerOrderSpreadsRoomsAndFailovers(t *testing.T) {
	for _, n := range []int{1, 2, 3, 5} {
		const rooms, sessions = 4, 120
		firsts := map[int]map[int]bool{}  // room → first servers
		seconds := map[int]map[int]bool{} // first server → second servers
		for id := range uint32(sessions) {
			order := serverOrder(id, rooms, n)
			if sorted := slices.Sorted(slices.Values(order)); !slices.Equal(sorted, seq(n)) {
				t.Fatalf("%d servers: session %d tries %v", n, id, order)
			}
			room := int(id) % rooms
			if firsts[room] == nil {
				firsts[room] = map[int]bool{}
			}
			firsts[room][order[0]] = true
			if n > 1 {
				if seconds[order[0]] == nil {
					seconds[order[0]] = map[int]bool{}
				}
				seconds[order[0]][order[1]] = true
			}
		}
		for room, f := range firsts {
			if len(f) != n {
				t.Errorf("%d servers: room %d starts on %d of them", n, room, len(f))
			}
		}
		for first, s := range seconds {
			if len(s) != n-1 {
				t.Errorf("%d servers: the sessions of server %d fail over to %d of the others", n, first, len(s))
			}
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

// TestChaosReportSaysWhatHappened prints a report and looks for its
// parts: the faults in order, the probes, the violations by kind.
func TestChaosReportSaysWhatHappened(t *testing.T) {
	rep := &ChaosReport{Seed: 7, Sessions: 6, Rooms: 2, Login: LoginAccount, Rate: 5, Duration: 20,
		NATS: []string{"nats://a", "nats://b", "nats://c"}, Up: 6, Back: 6, Of: 6, AllBackSec: 0.5,
		Servers: []ChaosServer{{Name: "c1", Addr: "127.0.0.1:1", NATS: []string{"nats://a", "nats://b", "nats://c"}}},
		Faults: []ChaosFault{{Kind: "kill", Target: "c1", AtSec: 2, ForSec: 1.5, Note: "restarted in 80 ms"},
			{Kind: "partition", Target: "n2", AtSec: 3, ForSec: 2, Note: "healed"}},
		Probes:     ChaosProbes{Tried: 3, TookOver: 2, HeldTwice: 1},
		Deliveries: Deliveries{Violations: []CrashViolation{{Kind: violHeldTwice, Text: "ann was held on c1 and c2 at once"}}},
	}
	var b strings.Builder
	WriteChaosReport(&b, rep)
	for _, want := range []string{
		"chaos: 6 sessions in 2 rooms, account login, 5 msgs/s for 20.0s, seed 7",
		"  c1 127.0.0.1:1 -nats nats://a,nats://b,nats://c",
		"fault    2.00s kill      c1  for  1.50s: restarted in 80 ms\nfault    3.00s partition n2  for  2.00s: healed",
		"faults: 2 (1 kills of a chat server, 0 NATS nodes stopped, 1 partitioned)",
		"takeover probes: 3: 2 took over, 0 refused, 1 held twice, 0 unclear",
		"all 6 sessions back in their rooms 0.50s after the healing",
		"violations: 1 (name held twice 1)",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("no %q in\n%s", want, b.String())
		}
	}
}
