package loadgen

import (
	"slices"
	"testing"
	"time"
)

// TestChaosScheduleKeepsItsRules plans many seeds' schedules for runs of
// several shapes and checks every rule of the plan on each: bounded in
// time and targets, never two faults of a kind at once, never more NATS
// nodes impaired than the quorum spares, and every kind present when the
// run is long enough and the cluster can spare a node.
func TestChaosScheduleKeepsItsRules(t *testing.T) {
	tests := []struct {
		name           string
		d              time.Duration
		servers, nodes int
		allKinds       bool // a fault of every kind, whatever the seed
		natsFaults     bool // any NATS fault at all
	}{
		{"the e2e spec's 25 s", 25 * time.Second, 3, 3, true, true},
		{"the default minute", time.Minute, 3, 3, true, true},
		{"the bench's ten minutes", 10 * time.Minute, 3, 3, true, true},
		{"five servers", time.Minute, 5, 3, true, true},
		{"two servers, shortest", 20 * time.Second, 2, 3, true, true},
		{"five nodes: still one at a time", time.Minute, 3, 5, true, true},
		{"two nodes cannot spare one", time.Minute, 3, 2, false, false},
		{"one node cannot spare one", time.Minute, 3, 1, false, false},
		{"too short for anything", 2 * time.Second, 3, 3, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFaultPlan(tt.d, tt.servers, tt.nodes)
			for seed := uint64(1); seed <= 300; seed++ {
				s := p.schedule(seed)
				if err := checkSchedule(p, s); err != "" {
					t.Fatalf("seed %d: %s\n%v", seed, err, s)
				}
				kinds := map[faultKind]int{}
				for _, f := range s {
					kinds[f.Kind]++
				}
				if tt.allKinds && len(kinds) != int(numFaultKinds) {
					t.Fatalf("seed %d: faults by kind %v, want every kind\n%v", seed, kinds, s)
				}
				if got := kinds[faultStop]+kinds[faultPartition] > 0; got != tt.natsFaults {
					t.Fatalf("seed %d: NATS faults %v, want %v\n%v", seed, got, tt.natsFaults, s)
				}
			}
		})
	}
}

// checkSchedule says which rule s breaks, if any.
func checkSchedule(p faultPlan, s []fault) string {
	if !slices.IsSortedFunc(s, func(a, b fault) int { return int(a.At - b.At) }) {
		return "not sorted by start"
	}
	type event struct {
		at    time.Duration
		delta int // +1 at a start, -1 at an end
	}
	var nats []event
	lastEnd := map[bool]time.Duration{} // by natsFault: the chain's last end
	started := map[bool]bool{}
	for _, f := range s {
		switch {
		case f.Kind >= numFaultKinds:
			return "an unknown kind"
		case f.At < 0 || f.End() > p.Duration-p.Settle:
			return "a fault outside the run, or not undone Settle before its end"
		case f.For < p.Window[0] || f.For > p.Window[1]:
			return "a fault's window out of bounds"
		case f.Kind == faultKill && (f.Target < 0 || f.Target >= p.Servers):
			return "a kill of a server that is not there"
		case f.Kind.natsFault() && (f.Target < 0 || f.Target >= p.Nodes):
			return "a NATS fault of a node that is not there"
		}
		chain := f.Kind.natsFault()
		if started[chain] && f.At < lastEnd[chain]+p.Gap[0] {
			return "two faults of one chain at once, or without the gap between"
		}
		started[chain], lastEnd[chain] = true, f.End()
		if chain {
			nats = append(nats, event{f.At, +1}, event{f.End(), -1})
		}
	}
	// Ends before starts at one instant: a node undone is no longer
	// impaired.
	slices.SortFunc(nats, func(a, b event) int {
		if a.at != b.at {
			return int(a.at - b.at)
		}
		return a.delta - b.delta
	})
	impaired := 0
	for _, e := range nats {
		impaired += e.delta
		if impaired > quorumSpare(p.Nodes) {
			return "more NATS nodes impaired at once than the quorum spares"
		}
	}
	return ""
}

// TestChaosScheduleFollowsItsSeed: the seed alone decides the schedule,
// so a run can be replayed; another seed makes another.
func TestChaosScheduleFollowsItsSeed(t *testing.T) {
	p := newFaultPlan(time.Minute, 3, 3)
	a, b := p.schedule(42), p.schedule(42)
	if !slices.Equal(a, b) {
		t.Fatalf("seed 42 twice:\n%v\n%v", a, b)
	}
	if c := p.schedule(43); slices.Equal(a, c) {
		t.Fatalf("seeds 42 and 43 planned the same: %v", a)
	}
}

// TestChaosCheckScheduleFindsEachBreak proves the rules checked above can
// fail: a correct schedule changed one way at a time.
func TestChaosCheckScheduleFindsEachBreak(t *testing.T) {
	p := newFaultPlan(time.Minute, 3, 3)
	sec := func(n float64) time.Duration { return time.Duration(n * float64(time.Second)) }
	good := []fault{
		{faultKill, 0, sec(3), sec(3)},
		{faultStop, 1, sec(4), sec(4)},
		{faultKill, 2, sec(12), sec(3)},
		{faultPartition, 2, sec(14), sec(4)},
	}
	if err := checkSchedule(p, good); err != "" {
		t.Fatalf("the correct schedule: %s", err)
	}
	tests := []struct {
		name   string
		change func(s []fault)
	}{
		{"two kills at once", func(s []fault) { s[2].At = sec(5) }},
		{"a stop and a partition at once", func(s []fault) { s[3].At, s[3].Target = sec(7.5), 0 }},
		{"a fault past the settle", func(s []fault) { s[3].For = sec(50) }},
		{"a window too long", func(s []fault) { s[0].For = sec(11) }},
		{"a node not there", func(s []fault) { s[1].Target = 3 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := slices.Clone(good)
			tt.change(s)
			slices.SortStableFunc(s, func(a, b fault) int { return int(a.At - b.At) })
			if err := checkSchedule(p, s); err == "" {
				t.Errorf("passed: %v", s)
			}
		})
	}
}
