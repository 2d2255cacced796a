package loadgen

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// The chaos profile's faults are planned before the run, from its seed
// alone, so that a run that found something can be replayed with the same
// faults at the same times (-seed). The plan is pure: it knows nothing of
// processes or clocks; chaos_faults.go carries it out.
//
// Two chains of faults run side by side, each one fault at a time with a
// pause between: the chat servers' (SIGKILL, and a restart once the
// fault's window is over) and the NATS nodes' (a node stopped, or cut off
// from the others by its route proxies, and then started or healed). So
// there is never more than one fault of a kind at once, and never more
// than one NATS node impaired: a cluster of three keeps its quorum of
// two through every fault. A cluster too small to lose a node without
// losing its quorum gets no NATS faults.

// faultKind is what a fault does.
type faultKind uint8

const (
	faultKill      faultKind = iota // SIGKILL a chat server; restart it when the window ends
	faultStop                       // stop a NATS node (a clean shutdown); start it again
	faultPartition                  // cut a NATS node's routes both ways; heal them
	numFaultKinds
)

func (k faultKind) String() string {
	switch k {
	case faultKill:
		return "kill"
	case faultStop:
		return "stop"
	case faultPartition:
		return "partition"
	}
	return fmt.Sprintf("fault(%d)", uint8(k))
}

// natsFault reports whether k impairs a NATS node.
func (k faultKind) natsFault() bool { return k == faultStop || k == faultPartition }

// fault is one planned fault: Kind done to Target (a chat server's index
// for a kill, a NATS node's otherwise) At after the run's start, and
// undone For later.
type fault struct {
	Kind   faultKind
	Target int
	At     time.Duration
	For    time.Duration
}

// End is when the fault is undone.
func (f fault) End() time.Duration { return f.At + f.For }

// faultPlan is what the plan is made for.
type faultPlan struct {
	Duration       time.Duration // of the run; every fault is undone Settle before its end
	Servers, Nodes int           // chat servers, NATS nodes
	// Off are the kinds left out (-faults).
	Off [numFaultKinds]bool
	// Lead is the longest quiet at the start, before a chain's first
	// fault: the rooms fill first.
	Lead time.Duration
	// Window bounds how long a fault lasts; Gap, the pause between the
	// end of one fault and the start of the next of its chain, in which
	// the sessions fail back over and the NATS cluster catches up.
	Window, Gap [2]time.Duration
	Settle      time.Duration
}

// newFaultPlan scales the windows to the run: a short run (the 25 s
// spec) still gets a fault of each kind, a ten-minute run a few dozen
// in each chain, each lasting up to 10 s.
func newFaultPlan(d time.Duration, servers, nodes int) faultPlan {
	clamp := func(v, lo, hi time.Duration) time.Duration { return min(max(v, lo), hi) }
	minWindow := clamp(d/25, time.Second, 3*time.Second)
	return faultPlan{
		Duration: d, Servers: servers, Nodes: nodes,
		Lead:   clamp(d/10, time.Second, 10*time.Second),
		Window: [2]time.Duration{minWindow, clamp(d/10, minWindow, 10*time.Second)},
		Gap:    [2]time.Duration{minWindow, clamp(d/10, minWindow, 30*time.Second)},
		Settle: clamp(d/10, time.Second, 15*time.Second),
	}
}

// probeKind is -faults' name of the takeover probes (chaos_names.go),
// which are no fault of the cluster but are left out the same way.
const probeKind = "takeover"

// parseFaults reads -faults: a comma-separated list of kinds, or "none".
// It returns the kinds left out, and whether the takeover probes run.
func parseFaults(list string) (off [numFaultKinds]bool, probes bool, err error) {
	for k := range numFaultKinds {
		off[k] = true
	}
	for _, name := range strings.Split(list, ",") {
		switch name = strings.TrimSpace(name); name {
		case "none", "":
		case probeKind:
			probes = true
		default:
			k := slices.IndexFunc([]faultKind{faultKill, faultStop, faultPartition}, func(k faultKind) bool { return k.String() == name })
			if k < 0 {
				return off, false, fmt.Errorf("unknown fault %q in -faults: use kill, stop, partition and %s, or none", name, probeKind)
			}
			off[k] = false
		}
	}
	return off, probes, nil
}

// quorumSpare is how many of n NATS nodes may be impaired at once with a
// majority left.
func quorumSpare(n int) int { return n - (n/2 + 1) }

// schedule plans the faults from seed, sorted by their start.
func (p faultPlan) schedule(seed uint64) []fault {
	rng := rand.New(rand.NewPCG(seed, 0x6368616f73)) // "chaos"
	var out []fault
	if p.Servers > 0 && !p.Off[faultKill] {
		out = append(out, p.chain(rng, func(int) faultKind { return faultKill }, p.Servers)...)
	}
	var first []faultKind
	for _, k := range []faultKind{faultStop, faultPartition} {
		if !p.Off[k] {
			first = append(first, k)
		}
	}
	if p.Nodes > 0 && quorumSpare(p.Nodes) >= 1 && len(first) > 0 {
		// The first are one of each, in an order the seed picks, so that
		// a short run has both; then either.
		if rng.IntN(2) == 1 {
			slices.Reverse(first)
		}
		kind := func(i int) faultKind {
			if i < len(first) {
				return first[i]
			}
			return first[rng.IntN(len(first))]
		}
		out = append(out, p.chain(rng, kind, p.Nodes)...)
	}
	slices.SortStableFunc(out, func(a, b fault) int { return cmp.Compare(a.At, b.At) })
	return out
}

// chain plans one chain: faults of kind(i) to random targets of n, one at
// a time, from a random lead on, every one undone by Duration - Settle.
func (p faultPlan) chain(rng *rand.Rand, kind func(i int) faultKind, n int) []fault {
	between := func(r [2]time.Duration) time.Duration {
		if r[1] <= r[0] {
			return r[0]
		}
		return r[0] + time.Duration(rng.Int64N(int64(r[1]-r[0])+1))
	}
	var out []fault
	t := between([2]time.Duration{p.Lead / 2, p.Lead})
	for i := 0; ; i++ {
		f := fault{Kind: kind(i), Target: rng.IntN(n), At: t, For: between(p.Window)}
		if f.End() > p.Duration-p.Settle {
			return out
		}
		out = append(out, f)
		t = f.End() + between(p.Gap)
	}
}
