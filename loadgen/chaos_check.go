package loadgen

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// What only several servers can get wrong, judged beside the crash
// checker (crash_check.go), which judges the messages of a chaos run as
// it judges a crash run's. Like it, these checks are pure: records in,
// violations out.
//
// - Names: an account is logged in on one server at a time. A takeover
//   probe (chaos_names.go) logs a session's account in on a second
//   server; once that login is acknowledged, the first session must not
//   answer any more (it gets Bye, takeover).
// - Presence: once everything is healed, every server's who of a room
//   lists the room's members, wherever they are connected, and no one
//   else.
// - Notices: a member is not told another was lost while that one was
//   back in the room (on another server, after failing over), as the
//   cleanup of a dead server must not say.

// Violation kinds of a chaos run, beside the crash checker's.
const (
	violHeldTwice = "name held twice" // one account answering on two servers at once
	violPresence  = "presence"        // a server's who of a room, healed, missing a member or listing a stranger
	violNotice    = "notice"          // a member told another was lost while that one was back
	violDied      = "died"            // a chat server that died, or did not restart, by itself
)

// probeOutcome is what a takeover probe saw.
type probeOutcome uint8

const (
	probeTookOver  probeOutcome = iota // the first session got Bye, or its connection closed, and stopped answering
	probeRefused                       // the login on the second server was refused
	probeHeldTwice                     // both sessions answered after the second login was acknowledged
	probeUnclear                       // a server went away, or neither answer nor Bye came in time
)

func (o probeOutcome) String() string {
	switch o {
	case probeTookOver:
		return "took over"
	case probeRefused:
		return "refused"
	case probeHeldTwice:
		return "held twice"
	}
	return "unclear"
}

// nameProbe is one takeover probe: a login of Name on To while its
// session was on From, At and until End since the start of the load.
type nameProbe struct {
	Name, From, To string
	At, End        time.Duration
	Outcome        probeOutcome
	Note           string
}

// checkNames finds the accounts a probe saw answering on two servers.
func checkNames(probes []nameProbe) []CrashViolation {
	var out []CrashViolation
	for _, p := range probes {
		if p.Outcome == probeHeldTwice {
			out = append(out, CrashViolation{Kind: violHeldTwice, Text: fmt.Sprintf(
				"%s was held on %s and %s at once at %.2fs: after the login on %s was acknowledged, both sessions answered a Ping (%s)",
				p.Name, p.From, p.To, p.At.Seconds(), p.To, p.Note)})
		}
	}
	return out
}

// presenceView is what one server's who of one room listed at the end.
type presenceView struct {
	Server, Room string
	Listed       []string
	Err          string // why it could not be asked
}

// checkPresence compares each view with the room's members (by room
// name): every member listed, and no one else.
func checkPresence(views []presenceView, members map[string][]string) []CrashViolation {
	var out []CrashViolation
	add := func(format string, args ...any) {
		out = append(out, CrashViolation{Kind: violPresence, Text: fmt.Sprintf(format, args...)})
	}
	for _, v := range views {
		if v.Err != "" {
			add("%s: who of %s could not be asked: %s", v.Server, v.Room, v.Err)
			continue
		}
		want := members[v.Room]
		var missing, strangers []string
		for _, m := range want {
			if !slices.Contains(v.Listed, m) {
				missing = append(missing, m)
			}
		}
		for _, l := range v.Listed {
			if !slices.Contains(want, l) {
				strangers = append(strangers, l)
			}
		}
		if len(missing) > 0 {
			add("%s's who of %s lists %d of its %d members: missing %s", v.Server, v.Room,
				len(want)-len(missing), len(want), nameList(missing, 8))
		}
		if len(strangers) > 0 {
			add("%s's who of %s lists %s, not in the room", v.Server, v.Room, nameList(strangers, 8))
		}
	}
	return out
}

// lostNotice is a Lost notice a session was shown: To was told About was
// lost from Room, At since the start of the load.
type lostNotice struct {
	To, About, Room string
	At              time.Duration
}

// span is a stretch of the run, since the start of the load; To is
// openEnd while it had not ended.
type span struct{ From, To time.Duration }

const openEnd = time.Duration(math.MaxInt64)

// noticeGrace is how long a member back in its room may still be
// reported lost: the news of its return crossing the cluster. probeShadow
// is how long after a takeover probe notices about its account are not
// judged: a probe's login may move the account's rooms and back.
const (
	noticeGrace = 2 * time.Second
	probeShadow = 5 * time.Second
)

// checkNotices finds the Lost notices about a member who had been back
// in its room (ups, by name) for longer than grace when the notice came,
// leaving out the accounts a probe had just logged in elsewhere (probed,
// by name).
func checkNotices(lost []lostNotice, ups, probed map[string][]span, grace time.Duration) []CrashViolation {
	var out []CrashViolation
	slices.SortStableFunc(lost, func(a, b lostNotice) int { return cmp.Compare(a.At, b.At) })
	for _, n := range lost {
		i := slices.IndexFunc(ups[n.About], func(s span) bool { return s.From+grace <= n.At && n.At < s.To })
		if i < 0 {
			continue
		}
		back := ups[n.About][i].From
		if slices.ContainsFunc(probed[n.About], func(p span) bool { return p.From <= n.At && n.At <= p.To+probeShadow }) {
			continue
		}
		out = append(out, CrashViolation{Kind: violNotice, Text: fmt.Sprintf(
			"%s in %s was told at %.2fs that %s was lost, but %s had been back in the room since %.2fs",
			n.To, n.Room, n.At.Seconds(), n.About, n.About, back.Seconds())})
	}
	return out
}

// probeCounts counts the probes by outcome.
func probeCounts(probes []nameProbe) ChaosProbes {
	c := ChaosProbes{Tried: len(probes)}
	for _, p := range probes {
		switch p.Outcome {
		case probeTookOver:
			c.TookOver++
		case probeRefused:
			c.Refused++
		case probeHeldTwice:
			c.HeldTwice++
		default:
			c.Unclear++
		}
	}
	return c
}

// probeSpans are the probes' stretches by account name.
func probeSpans(probes []nameProbe) map[string][]span {
	m := map[string][]span{}
	for _, p := range probes {
		m[p.Name] = append(m[p.Name], span{p.At, p.End})
	}
	return m
}

// sortedRooms are the room names of members, sorted.
func sortedRooms(members map[string][]string) []string { return slices.Sorted(maps.Keys(members)) }
