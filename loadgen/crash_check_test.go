package loadgen

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"chat/internal/wire"
)

// crashRoom is a room of three members throughout, ann (0), bob (1) and
// cat (2): ann's two Says were acknowledged at Seqs 1 and 2, bob's one got
// no reply and was shown to nobody, and bob and cat were shown ann's two.
func crashRoom() []crashMember {
	sum := func(from string, sseq uint32) uint64 { return textSum(from, fmt.Sprint(sseq)) }
	shown := func(sender uint32, sseq uint32, seq uint64) crashDelivery {
		return crashDelivery{Seq: seq, Sender: sender, SSeq: sseq, Sum: sum([]string{"ann", "bob", "cat"}[sender], sseq)}
	}
	return []crashMember{
		{ID: 0, Name: "ann", Throughout: true, Says: []crashSay{
			{SSeq: 1, Sum: sum("ann", 1), Outcome: sayAcked, Seq: 1},
			{SSeq: 2, Sum: sum("ann", 2), Outcome: sayAcked, Seq: 2},
		}},
		{ID: 1, Name: "bob", Throughout: true, Says: []crashSay{{SSeq: 1, Sum: sum("bob", 1), Outcome: sayUnknown}},
			Log: []crashDelivery{shown(0, 1, 1), shown(0, 2, 2)}},
		{ID: 2, Name: "cat", Throughout: true, Log: []crashDelivery{shown(0, 1, 1), shown(0, 2, 2)}},
	}
}

// TestCrashCheckerFindsEachViolation changes a correct room one way at a
// time and expects the violations that change makes, and nothing else.
func TestCrashCheckerFindsEachViolation(t *testing.T) {
	tests := []struct {
		name   string
		change func(m []crashMember)
		want   []string // violation kinds, sorted
		text   string   // in the first violation
	}{
		{"correct", func([]crashMember) {}, nil, ""},
		{"an acknowledged message missing at a member", func(m []crashMember) { m[2].Log = m[2].Log[:1] },
			[]string{violLost}, "room0 Seq 2 (ann #2, acknowledged) missing at 1 of 2 members: cat"},
		{"a message shown twice", func(m []crashMember) { m[1].Log = slices.Insert(m[1].Log, 1, m[1].Log[0]) },
			[]string{violTwice}, "bob in room0 was shown ann #1 twice"},
		{"a lower Seq after a higher one", func(m []crashMember) { slices.Reverse(m[2].Log) },
			[]string{violOrder}, "cat in room0 was shown Seq 1 (ann #1) after Seq 2"},
		{"one message at two Seqs", func(m []crashMember) { m[1].Log[1].Seq = 3 },
			[]string{violConflict}, "room0: ann #2 is at Seqs [2 3]"},
		{"a text other than sent", func(m []crashMember) { m[2].Log[1].Sum++ },
			[]string{violConflict}, "room0 Seq 2 carries ann #2 (the acknowledgement, bob) and ann #2 with a text or sender other than sent (cat)"},
		{"an unknown message shown to some but not all", func(m []crashMember) {
			m[2].Log = append(m[2].Log, crashDelivery{Seq: 3, Sender: 1, SSeq: 1, Sum: m[1].Says[0].Sum})
		}, []string{violPartial}, "room0: bob #1 (no reply before its connection ended) shown to 1 of 2 members; missing at ann"},
		{"two messages at one Seq", func(m []crashMember) {
			m[2].Log[1] = crashDelivery{Seq: 2, Sender: 1, SSeq: 1, Sum: m[1].Says[0].Sum}
		}, []string{violConflict, violLost, violPartial}, "room0 Seq 2 carries ann #2 (the acknowledgement, bob) and bob #1 (cat)"},
		{"a message nobody sent", func(m []crashMember) {
			m[2].Log = append(m[2].Log, crashDelivery{Seq: 3, Sender: 0, SSeq: 9})
		}, []string{violPartial, violPhantom}, "room0: ann #9 was shown, but its sender never sent it"},
		{"a member not back is owed nothing", func(m []crashMember) { m[2].Throughout, m[2].Log = false, nil },
			[]string{violAbsent}, "cat was not back in room0 at the end"},
		{"a message of another room", func(m []crashMember) { m[1].Misrouted = []string{"room9"} },
			[]string{violMisrouted}, "bob, in room0, was sent a message of room9"},
		{"a History count that disagrees", func(m []crashMember) { m[1].HistoryCounts = []string{"History after Seq 1 replied Count 2"} },
			[]string{violHistory}, "bob in room0: History after Seq 1"},
		{"a replay refused on resuming", func(m []crashMember) {
			m[2].Log, m[2].Unreplayed = nil, []seqGap{{From: 0, To: 2, Code: wire.ErrUnavailable}}
		}, []string{violReplay}, "cat in room0 missed 2 acknowledged messages (Seqs 1 to 2): its History after Seq 0 on resuming was refused with code 15"},
		{"a replay refused, and a message after it lost", func(m []crashMember) {
			m[2].Log, m[2].Unreplayed = nil, []seqGap{{From: 0, To: 1, Code: wire.ErrUnavailable}}
		}, []string{violLost, violReplay}, "room0 Seq 2 (ann #2, acknowledged) missing at 1 of 2 members: cat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := crashRoom()
			tt.change(m)
			v := checkCrash(m, func(r uint32) string { return fmt.Sprintf("room%d", r) })
			var kinds []string
			for _, x := range v.Violations {
				kinds = append(kinds, x.Kind)
			}
			slices.Sort(kinds)
			kinds = slices.Compact(kinds)
			if !slices.Equal(kinds, tt.want) {
				t.Fatalf("violations %v, want kinds %v", v.Violations, tt.want)
			}
			if tt.text != "" && !slices.ContainsFunc(v.Violations, func(x CrashViolation) bool { return strings.Contains(x.Text, tt.text) }) {
				t.Errorf("no violation says %q: %v", tt.text, v.Violations)
			}
		})
	}
}

// TestCrashCheckerCounts: an unknown message shown to every member is
// fine, and counted; a sender shown its own message (History replays it)
// is fine too.
func TestCrashCheckerCounts(t *testing.T) {
	m := crashRoom()
	bob1 := crashDelivery{Seq: 3, Sender: 1, SSeq: 1, Sum: m[1].Says[0].Sum}
	m[0].Log = append(m[0].Log, m[1].Log[0], bob1) // ann #1 replayed to ann
	m[1].Log = append(m[1].Log, bob1)
	m[2].Log = append(m[2].Log, bob1)
	v := checkCrash(m, func(uint32) string { return "room" })
	if len(v.Violations) != 0 {
		t.Fatalf("violations: %v", v.Violations)
	}
	if v.Acked != 2 || v.Unknown != 1 || v.Refused != 0 || v.UnsureShown != 1 || v.Delivered != 8 || v.Expected != 4 || v.Found != 4 {
		t.Errorf("counts %+v; want 2 acked, 1 unknown, shown; 8 delivered; 4 of 4 expected", v)
	}
}
