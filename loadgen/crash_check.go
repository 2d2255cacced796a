package loadgen

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strings"

	"chat/internal/wire"
)

// The crash checker judges a crash run from what its sessions recorded:
// every Say with what became of it, and every room message each session was
// shown, in order. It is pure: the sessions' records in, counts and
// violations out.
//
// What a server that keeps what it acknowledged must give, whatever kills
// it: every acknowledged message (its Say answered OK with Room and Seq)
// reaches every other member of its room that was a member throughout, once;
// no receiver is shown a message twice; every receiver is shown its room's
// messages in increasing Seq, and the same message at the same Seq as every
// other receiver and as the sender's acknowledgement. A message whose Say got
// no reply before the connection ended (unknown), or was refused, may be
// missing, but if anyone was shown it, every member throughout must be.

// sayOutcome is what became of one Say.
type sayOutcome uint8

const (
	sayUnknown sayOutcome = iota // no reply before its connection ended
	sayAcked                     // OK, with the room's Seq
	sayRefused                   // a reply with an error code
)

// crashSay is one Say a session sent.
type crashSay struct {
	SSeq    uint32 // the sender's own number of it, in its stamp
	Sum     uint64 // textSum of the sender's name and the text sent
	Outcome sayOutcome
	Seq     uint64    // the room's Seq, when acknowledged
	Code    wire.Code // the refusal, when refused
}

// crashDelivery is one room message a session was shown.
type crashDelivery struct {
	Seq    uint64 // the room's Seq in the Message frame
	Sender uint32 // from the stamp: the sending session
	SSeq   uint32
	Sum    uint64 // textSum of the frame's From and Text
}

// crashMember is one session's record.
type crashMember struct {
	ID   uint32
	Name string
	Room uint32
	// Throughout: in its room from the ramp to the end, every resume
	// done; only such members are owed every message.
	Throughout    bool
	Says          []crashSay
	Log           []crashDelivery
	Misrouted     []string // rooms of messages meant for another room
	HistoryCounts []string // History replies whose Count disagreed with what came
	// Unreplayed are the resumes whose History the server refused: what
	// was said in them was never replayed.
	Unreplayed []seqGap
}

// seqGap is a resume's range of a room's Seqs, after From up to To,
// whose replay History refused with Code.
type seqGap struct {
	From, To uint64
	Code     wire.Code
}

// Violation kinds.
const (
	violLost      = "lost"         // an acknowledged message missing at a member
	violPartial   = "partial"      // an unknown or refused message shown to some members but not all
	violTwice     = "twice"        // a receiver shown one message twice
	violOrder     = "order"        // a receiver shown a lower Seq after a higher one
	violConflict  = "conflict"     // two different messages at one Seq, or one message at two Seqs
	violPhantom   = "phantom"      // a message nobody sent, or sent from another room
	violMisrouted = "misrouted"    // a message of another room
	violHistory   = "history"      // History's Count disagrees with the replay
	violReplay    = "not replayed" // acknowledged messages missing at a member whose resume's History was refused
	violAbsent    = "not back"     // a session not back in its room at the end
	violFailed    = "setup"        // a session that never came up
)

// CrashViolation is one thing the server got wrong.
type CrashViolation struct {
	Kind string
	Text string
}

// crashVerdict is the checker's result.
type crashVerdict struct {
	Acked, Refused, Unknown uint64
	// UnsureShown counts unknown or refused messages shown to someone.
	UnsureShown uint64
	Delivered   uint64 // log entries, over all members
	// Expected is the deliveries acknowledged messages owe to members
	// throughout; Found, those of them that were made.
	Expected, Found uint64
	Violations      []CrashViolation
}

// msgKey names one message by its stamp.
type msgKey struct{ sender, sseq uint32 }

// claim is what one witness says is at a Seq: the message and its text.
type claim struct {
	key msgKey
	sum uint64
}

// roomCheck is one room's evidence.
type roomCheck struct {
	name    string
	members []*crashMember
	byID    map[uint32]*crashMember
	sent    map[msgKey]*crashSay
	got     map[msgKey]map[uint32]int // receiver → times shown
	atSeq   map[uint64]map[claim][]string
	seqsOf  map[msgKey][]uint64
}

// checkCrash judges members, whose rooms are named by roomName.
func checkCrash(members []crashMember, roomName func(uint32) string) crashVerdict {
	var v crashVerdict
	add := func(kind, format string, args ...any) {
		v.Violations = append(v.Violations, CrashViolation{Kind: kind, Text: fmt.Sprintf(format, args...)})
	}
	names := make(map[uint32]string, len(members))
	roomOf := make(map[uint32]uint32, len(members))
	rooms := map[uint32]*roomCheck{}
	for i := range members {
		m := &members[i]
		names[m.ID], roomOf[m.ID] = m.Name, m.Room
		rc := rooms[m.Room]
		if rc == nil {
			rc = &roomCheck{name: roomName(m.Room), byID: map[uint32]*crashMember{}, sent: map[msgKey]*crashSay{},
				got: map[msgKey]map[uint32]int{}, atSeq: map[uint64]map[claim][]string{}, seqsOf: map[msgKey][]uint64{}}
			rooms[m.Room] = rc
		}
		rc.members = append(rc.members, m)
		rc.byID[m.ID] = m
	}
	msgName := func(k msgKey) string {
		n, ok := names[k.sender]
		if !ok {
			n = fmt.Sprintf("session %d", k.sender)
		}
		return fmt.Sprintf("%s #%d", n, k.sseq)
	}
	for _, r := range slices.Sorted(maps.Keys(rooms)) {
		rc := rooms[r]
		rc.gather(&v, add, roomOf, msgName)
		rc.judgeSeqs(add, msgName)
		rc.judgeDeliveries(&v, add, msgName)
	}
	for i := range members {
		m := &members[i]
		for _, room := range m.Misrouted {
			add(violMisrouted, "%s, in %s, was sent a message of %s", m.Name, roomName(m.Room), room)
		}
		for _, h := range m.HistoryCounts {
			add(violHistory, "%s in %s: %s", m.Name, roomName(m.Room), h)
		}
	}
	return v
}

// witness records that who says key is at seq.
func (rc *roomCheck) witness(seq uint64, c claim, who string) {
	w := rc.atSeq[seq]
	if w == nil {
		w = map[claim][]string{}
		rc.atSeq[seq] = w
	}
	w[c] = append(w[c], who)
	if !slices.Contains(rc.seqsOf[c.key], seq) {
		rc.seqsOf[c.key] = append(rc.seqsOf[c.key], seq)
	}
}

// gather reads the room's Says and logs, and judges each receiver's log
// alone: the order of its Seqs, messages shown twice, messages from
// outside the room or from nobody.
func (rc *roomCheck) gather(v *crashVerdict, add func(string, string, ...any), roomOf map[uint32]uint32, msgName func(msgKey) string) {
	for _, m := range rc.members {
		for i := range m.Says {
			say := &m.Says[i]
			k := msgKey{m.ID, say.SSeq}
			rc.sent[k] = say
			switch say.Outcome {
			case sayAcked:
				v.Acked++
				rc.witness(say.Seq, claim{k, say.Sum}, "the acknowledgement")
			case sayRefused:
				v.Refused++
			default:
				v.Unknown++
			}
		}
	}
	for _, m := range rc.members {
		v.Delivered += uint64(len(m.Log))
		var prev uint64
		for i, d := range m.Log {
			k := msgKey{d.Sender, d.SSeq}
			if from, ok := roomOf[d.Sender]; ok && from != m.Room {
				add(violPhantom, "%s in %s was shown %s, a message of another room, at Seq %d", m.Name, rc.name, msgName(k), d.Seq)
				continue
			}
			got := rc.got[k]
			if got == nil {
				got = map[uint32]int{}
				rc.got[k] = got
			}
			got[m.ID]++
			rc.witness(d.Seq, claim{k, d.Sum}, m.Name)
			switch {
			case got[m.ID] == 2:
				add(violTwice, "%s in %s was shown %s twice (Seq %d the second time)", m.Name, rc.name, msgName(k), d.Seq)
			case got[m.ID] == 1 && i > 0 && d.Seq <= prev:
				add(violOrder, "%s in %s was shown Seq %d (%s) after Seq %d", m.Name, rc.name, d.Seq, msgName(k), prev)
			}
			prev = d.Seq
		}
	}
}

// judgeSeqs finds Seqs that carry different messages (or one message with
// different texts), messages at more than one Seq, and messages nobody
// sent.
func (rc *roomCheck) judgeSeqs(add func(string, string, ...any), msgName func(msgKey) string) {
	for _, seq := range slices.Sorted(maps.Keys(rc.atSeq)) {
		w := rc.atSeq[seq]
		if len(w) < 2 {
			continue
		}
		claims := slices.SortedFunc(maps.Keys(w), func(a, b claim) int {
			return cmp.Or(cmp.Compare(a.key.sender, b.key.sender), cmp.Compare(a.key.sseq, b.key.sseq), cmp.Compare(a.sum, b.sum))
		})
		var parts []string
		for _, c := range claims {
			what := msgName(c.key)
			if say := rc.sent[c.key]; say != nil && say.Sum != c.sum {
				what += " with a text or sender other than sent"
			}
			parts = append(parts, fmt.Sprintf("%s (%s)", what, nameList(w[c], 4)))
		}
		add(violConflict, "%s Seq %d carries %s", rc.name, seq, strings.Join(parts, " and "))
	}
	for _, k := range slices.SortedFunc(maps.Keys(rc.seqsOf), compareKeys) {
		if seqs := rc.seqsOf[k]; len(seqs) > 1 {
			slices.Sort(seqs)
			add(violConflict, "%s: %s is at Seqs %v", rc.name, msgName(k), seqs)
		}
		if _, ok := rc.sent[k]; !ok {
			add(violPhantom, "%s: %s was shown, but its sender never sent it", rc.name, msgName(k))
		}
	}
}

// judgeDeliveries finds the members throughout that miss an acknowledged
// message, or an unknown one that others were shown.
func (rc *roomCheck) judgeDeliveries(v *crashVerdict, add func(string, string, ...any), msgName func(msgKey) string) {
	keys := slices.Collect(maps.Keys(rc.sent))
	for k := range rc.got {
		if _, ok := rc.sent[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, compareKeys)
	// unreplayed counts, by member and gap, the acknowledged messages
	// missing at a member because its History was refused: one violation
	// each, rather than one lost message each.
	unreplayed := map[*crashMember]map[int][]uint64{}
	for _, k := range keys {
		say, got := rc.sent[k], rc.got[k]
		acked := say != nil && say.Outcome == sayAcked
		if !acked && len(got) == 0 {
			continue // unknown and nowhere: allowed
		}
		if !acked && say != nil {
			v.UnsureShown++
		}
		var missing []string
		owed, notFound := 0, 0
		for _, m := range rc.members {
			if !m.Throughout || m.ID == k.sender {
				continue
			}
			owed++
			if got[m.ID] != 0 {
				continue
			}
			notFound++
			if g := gapOf(m, say); acked && g >= 0 {
				if unreplayed[m] == nil {
					unreplayed[m] = map[int][]uint64{}
				}
				unreplayed[m][g] = append(unreplayed[m][g], say.Seq)
				continue
			}
			missing = append(missing, m.Name)
		}
		if acked {
			v.Expected += uint64(owed)
			v.Found += uint64(owed - notFound)
		}
		if len(missing) == 0 {
			continue
		}
		if acked {
			add(violLost, "%s Seq %d (%s, acknowledged) missing at %d of %d members: %s",
				rc.name, say.Seq, msgName(k), len(missing), owed, nameList(missing, 8))
		} else {
			add(violPartial, "%s: %s (%s) shown to %d of %d members; missing at %s",
				rc.name, msgName(k), unsureWhy(say), owed-len(missing), owed, nameList(missing, 8))
		}
	}
	for _, m := range rc.members {
		for _, g := range slices.Sorted(maps.Keys(unreplayed[m])) {
			seqs := unreplayed[m][g]
			gap := m.Unreplayed[g]
			slices.Sort(seqs)
			add(violReplay, "%s in %s missed %d acknowledged messages (Seqs %d to %d): its History after Seq %d on resuming was refused with code %d",
				m.Name, rc.name, len(seqs), seqs[0], seqs[len(seqs)-1], gap.From, gap.Code)
		}
		if !m.Throughout {
			add(violAbsent, "%s was not back in %s at the end (so it is owed no message)", m.Name, rc.name)
		}
	}
}

// gapOf is the index of m's unreplayed gap that holds say's Seq, or -1.
func gapOf(m *crashMember, say *crashSay) int {
	return slices.IndexFunc(m.Unreplayed, func(g seqGap) bool { return say.Seq > g.From && say.Seq <= g.To })
}

// unsureWhy says why a message shown to some was not owed to all.
func unsureWhy(say *crashSay) string {
	switch {
	case say == nil:
		return "never sent"
	case say.Outcome == sayRefused:
		return fmt.Sprintf("refused with code %d", say.Code)
	}
	return "no reply before its connection ended"
}

func compareKeys(a, b msgKey) int {
	return cmp.Or(cmp.Compare(a.sender, b.sender), cmp.Compare(a.sseq, b.sseq))
}

// nameList is names, the first n of them and how many more.
func nameList(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

// textSum identifies a message's sender and text for the checker, which
// compares what was sent with what every receiver got.
func textSum(from, text string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(from))
	h.Write([]byte{0})
	h.Write([]byte(text))
	return h.Sum64()
}
