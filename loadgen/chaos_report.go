package loadgen

import (
	"fmt"
	"io"
	"strings"
)

// ChaosReport is the result of a chaos run.
type ChaosReport struct {
	Seed    uint64 // -seed gives the same faults at the same times again
	Faulted string // -faults: the kinds of fault carried out
	// ServerName: the servers were given -server-name (they take it).
	ServerName bool
	Servers    []ChaosServer
	NATS       []string // the cluster's client URLs, node n1 first
	Login      string
	Sessions   int
	Rooms      int
	Rate       float64
	Duration   float64 // seconds of sending
	Up         int     // sessions up after the ramp
	Faults     []ChaosFault
	Probes     ChaosProbes
	// Back of the Of sessions up in the ramp were in their rooms once
	// everything was healed, within the run's wait; AllBackSec is from the
	// healing until the last was (0: not all).
	Back, Of   int
	AllBackSec float64
	Deliveries
}

// ChaosServer is one chat server of the run.
type ChaosServer struct {
	Name string   // cN
	Addr string   // where it listened, across its restarts
	NATS []string // its -nats, its nearest node first
}

// ChaosProbes counts the takeover probes by what they saw.
type ChaosProbes struct {
	Tried, TookOver, Refused, HeldTwice, Unclear int
}

// WriteChaosReport prints the chaos run's report: the servers, the faults
// as they were carried out, the probes, the counts and the violations.
func WriteChaosReport(w io.Writer, r *ChaosReport) {
	named := "without -server-name (the server does not take it yet)"
	if r.ServerName {
		named = "with -server-name"
	}
	fmt.Fprintf(w, "chaos: %d sessions in %d rooms, %s login, %.0f msgs/s for %.1fs, seed %d, faults %s\n",
		r.Sessions, r.Rooms, r.Login, r.Rate, r.Duration, r.Seed, r.Faulted)
	fmt.Fprintf(w, "cluster: NATS nodes %s; chat servers %s:\n", strings.Join(r.NATS, ", "), named)
	for _, s := range r.Servers {
		fmt.Fprintf(w, "  %s %s -nats %s\n", s.Name, s.Addr, strings.Join(s.NATS, ","))
	}
	fmt.Fprintf(w, "sessions up: %d of %d\n", r.Up, r.Sessions)
	byKind := map[string]int{}
	for _, f := range r.Faults {
		byKind[f.Kind]++
		fmt.Fprintf(w, "fault %7.2fs %-9s %-3s for %5.2fs: %s\n", f.AtSec, f.Kind, f.Target, f.ForSec, f.Note)
	}
	fmt.Fprintf(w, "faults: %d (%d kills of a chat server, %d NATS nodes stopped, %d partitioned)\n",
		len(r.Faults), byKind[faultKill.String()], byKind[faultStop.String()], byKind[faultPartition.String()])
	p := r.Probes
	fmt.Fprintf(w, "takeover probes: %d: %d took over, %d refused, %d held twice, %d unclear\n",
		p.Tried, p.TookOver, p.Refused, p.HeldTwice, p.Unclear)
	back := fmt.Sprintf("all %d sessions back in their rooms %.2fs after the healing", r.Of, r.AllBackSec)
	if r.Back < r.Of {
		back = fmt.Sprintf("only %d of %d sessions back in their rooms after the healing", r.Back, r.Of)
	}
	fmt.Fprintln(w, back)
	writeDeliveries(w, &r.Deliveries)
}
