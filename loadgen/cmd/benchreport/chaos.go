package main

import (
	"bytes"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"chat/loadgen"
)

// The Cluster chaos section runs the chaos profile for ten minutes: three
// chat servers on a NATS cluster of three, the servers killed, the nodes
// stopped and cut off, accounts logged in on a second server, on a fixed
// seed so that one report's faults are the next one's; and judges the
// cluster on its violations.

// chaosHeading starts the section.
const chaosHeading = "\n## Cluster chaos\n"

// chaosArgs are the run's flags after -spawn-server: the profile's
// defaults (60 sessions in rooms of ten over three servers, 30 msgs/s)
// for ten minutes.
var chaosArgs = []string{"-profile", "chaos", "-duration", "10m", "-seed", "1", "-quiet"}

// chaosShown is how many violations of each kind the section lists; the
// run's -json has them all.
const chaosShown = 3

// chaosResult is the chaos run.
type chaosResult = profileResult[loadgen.ChaosReport]

// runChaos runs the chaos profile against the chat-server in bin.
func runChaos(bin string) chaosResult {
	args := append([]string{"-spawn-server", filepath.Join(bin, "chat-server")}, chaosArgs...)
	// loadgen exits 3 when the run found violations, which the report
	// lists: only a run without one failed.
	res, _ := runProfile[loadgen.ChaosReport](bin, args, "chaos", 20*time.Minute)
	return res
}

// writeChaos writes the section.
func writeChaos(b *bytes.Buffer, c chaosResult, alone bool) {
	when := sectionStart(b, chaosHeading, "chaos", alone)
	fmt.Fprintf(b, "Several chat servers on one NATS cluster as one chat, under faults, %s:\n", when)
	fmt.Fprint(b, "loadgen runs a NATS cluster of three nodes with a proxy on every route in its own process,\n")
	fmt.Fprint(b, "spawns the chat servers on it, and drives rooms with members on every server while it kills\n")
	fmt.Fprint(b, "servers (SIGKILL, restart), stops NATS nodes and cuts them off, and logs accounts in on a second\n")
	fmt.Fprint(b, "server; then it heals everything and checks every message, name and room (loadgen -h, chaos).\n\n")
	fmt.Fprintf(b, "```\n%s\n```\n\n", c.cmd)
	r := c.rep
	if r == nil {
		fmt.Fprintf(b, "The run failed: %s.\n\n", c.status)
		writeChaosTarget(b, c)
		return
	}
	kinds := map[string]int{}
	skipped := 0
	for _, f := range r.Faults {
		if strings.HasPrefix(f.Note, "skipped") {
			skipped++
			continue
		}
		kinds[f.Kind]++
	}
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	fmt.Fprintf(b, "| run | seed %d, %d sessions in %d rooms, %.0f msgs/s for %.0f s, %d chat servers%s; took %v |\n",
		r.Seed, r.Sessions, r.Rooms, r.Rate, r.Duration, len(r.Servers), serverNamed(r), c.took.Round(time.Second))
	fmt.Fprintf(b, "| faults | %d kills of a chat server, %d NATS nodes stopped, %d partitioned (%d skipped: the cluster not whole again in time) |\n",
		kinds["kill"], kinds["stop"], kinds["partition"], skipped)
	fmt.Fprintf(b, "| takeover probes | %d: %d took over, %d refused, %d held twice, %d unclear |\n",
		r.Probes.Tried, r.Probes.TookOver, r.Probes.Refused, r.Probes.HeldTwice, r.Probes.Unclear)
	fmt.Fprintf(b, "| sessions | %d of %d up; %d of %d back in their rooms after the healing |\n", r.Up, r.Sessions, r.Back, r.Of)
	fmt.Fprintf(b, "| says | %d sent, %d acknowledged, %d unknown, %d refused |\n", r.Sent, r.Acked, r.Unknown, r.Refused)
	fmt.Fprintf(b, "| deliveries | %d shown; acknowledged ones owed %d to the members throughout, %d made |\n", r.Delivered, r.Expected, r.Found)
	fmt.Fprintf(b, "| violations | %s |\n\n", violationCounts(r.Violations))
	byKind := map[string][]loadgen.CrashViolation{}
	for _, v := range r.Violations {
		byKind[v.Kind] = append(byKind[v.Kind], v)
	}
	for _, k := range slices.Sorted(maps.Keys(byKind)) {
		for _, v := range byKind[k][:min(len(byKind[k]), chaosShown)] {
			fmt.Fprintf(b, "- %s: %s\n", k, strings.ReplaceAll(v.Text, "\n", " "))
		}
	}
	if len(r.Violations) > 0 {
		fmt.Fprintf(b, "\n(at most %d of each kind; the run's -json lists them all)\n\n", chaosShown)
	}
	writeChaosTarget(b, c)
}

// serverNamed says whether the servers took -server-name.
func serverNamed(r *loadgen.ChaosReport) string {
	if r.ServerName {
		return " (-server-name cN)"
	}
	return " (without -server-name: the server did not take it)"
}

// violationCounts is "none", or the count of each kind.
func violationCounts(vs []loadgen.CrashViolation) string {
	if len(vs) == 0 {
		return "none"
	}
	n := map[string]int{}
	for _, v := range vs {
		n[v.Kind]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(n)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, n[k]))
	}
	return fmt.Sprintf("%d (%s)", len(vs), strings.Join(parts, ", "))
}

// writeChaosTarget judges the cluster's target on the run.
func writeChaosTarget(b *bytes.Buffer, c chaosResult) {
	fmt.Fprintf(b, "| target | verdict | figures |\n|---|---|---|\n")
	t := targetTable{b}
	const target = "cluster chaos, ten minutes: no violation (every acknowledged message once to every member, one order, one holder per name, every session back, who whole on every server)"
	if r := c.rep; r != nil {
		t.row(target, len(r.Violations) == 0 && r.Back == r.Of && r.Found == r.Expected,
			fmt.Sprintf("%d faults, %d probes, %d of %d owed deliveries made, violations: %s",
				len(r.Faults), r.Probes.Tried, r.Found, r.Expected, violationCounts(r.Violations)))
	} else {
		t.missing(target)
	}
	fmt.Fprintln(b)
}
