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

// The Cluster section measures the targets of several chat servers on one
// NATS cluster as one chat: sessions held over three servers, more than
// one server's descriptor limit allows; rooms spread over the three at ten
// thousand deliveries a second; and a server killed, its sessions back in
// their rooms on the others. Its chaos target is judged by the Cluster
// chaos section's ten-minute run, whose row it repeats.

// clusterHeading starts the section.
const clusterHeading = "\n## Cluster\n"

// clusterServers is how many chat servers each run starts on loadgen's
// NATS cluster of three.
const clusterServers = "3"

// clusterServerArgs are every cluster server's flags: no per-session
// message rate limit, as in the other loads, and epoll, as a deployment
// with thousands of sessions a server would run (the poll(2) loop's cost
// per descriptor is measured in the main table).
const clusterServerArgs = "-msg-rate -1 -poller epoll"

// The loads: 30,000 idle sessions, 10,000 on each server; rooms of 100,
// each with members on every server, at about 10,000 deliveries a second
// (102 msgs/s, each shown to 99 others); and the failover profile's
// 15,000 sessions in rooms of 100, 5,000 on the server it kills.
var (
	clusterIdleArgs     = []string{"-profile", "idle", "-servers", clusterServers, "-sessions", "30000", "-duration", "4s", "-connect-rate", clusterConnectRate}
	clusterRoomsArgs    = []string{"-profile", "rooms", "-servers", clusterServers, "-sessions", "10000", "-rate", "102", "-duration", "10s", "-connect-rate", clusterConnectRate}
	clusterFailoverArgs = []string{"-profile", "failover", "-servers", clusterServers, "-sessions", "15000", "-duration", "60s", "-quiet"}
)

// clusterConnectRate is the idle and rooms runs' ramp: each guest's name
// is claimed in the cluster's record of names, kept by NATS on all three
// nodes, which on these two cores fell behind loadgen's default 2,000 a
// second, and 500, and refused the claims it did not settle in time.
const clusterConnectRate = "200"

// clusterRoomsRepeats: the rooms run's tail varies from run to run like
// the single server's; its target is judged on the median of these.
const clusterRoomsRepeats = 3

// Targets.
const (
	clusterIdleSessions = 30000
	clusterRoomsP99MS   = 50
	clusterRoomsDeliv   = 10000
	clusterBackWithin   = 15 * time.Second
	clusterOnKilled     = 5000
)

type clusterResults struct {
	idle     result
	rooms    []result
	failover failoverResult
}

// failoverResult is the failover run.
type failoverResult = profileResult[loadgen.FailoverReport]

// clusterLoad runs loadgen with the chat-server of bin and args, as the
// report shows it.
func clusterLoad(bin string, args []string, name string, repeat, nth int) result {
	args = append([]string{"-spawn-server", filepath.Join(bin, "chat-server"), "-server-args", clusterServerArgs, "-quiet"}, args...)
	res := runLoadgen(bin, args, "bin/loadgen "+quoteArgs(args))
	res.run, res.nth, res.poller = run{name: name, repeat: repeat}, nth, "default"
	return res
}

// runCluster runs the section's loads.
func runCluster(bin string) clusterResults {
	var c clusterResults
	c.idle = clusterLoad(bin, clusterIdleArgs, "idle-30k", 1, 1)
	for n := 1; n <= clusterRoomsRepeats; n++ {
		c.rooms = append(c.rooms, clusterLoad(bin, clusterRoomsArgs, "rooms-100", clusterRoomsRepeats, n))
	}
	c.failover = runFailover(bin)
	return c
}

// runFailover runs the failover profile: its ramp alone is fifteen
// thousand password checks, minutes on two cores.
func runFailover(bin string) failoverResult {
	args := append([]string{"-spawn-server", filepath.Join(bin, "chat-server"), "-server-args", clusterServerArgs}, clusterFailoverArgs...)
	res, err := runProfile[loadgen.FailoverReport](bin, args, "failover", 30*time.Minute)
	if err != nil && res.rep != nil {
		res.status = fmt.Sprintf("exit: %v", err)
	}
	return res
}

// writeCluster writes the section; chaos is the Cluster chaos section of
// the same report, if there is one, whose verdict it repeats.
func writeCluster(b *bytes.Buffer, c clusterResults, chaos []byte, alone bool) {
	when := sectionStart(b, clusterHeading, "cluster", alone)
	fmt.Fprintf(b, "Several chat servers on one NATS cluster as one chat, %s.\n", when)
	fmt.Fprint(b, "loadgen runs a NATS cluster of three nodes in its own process (every message kept on all three,\n")
	fmt.Fprint(b, "`-replicas 3`) and spawns three chat servers on it (`-poller epoll`); each session connects to one of them, so\n")
	fmt.Fprint(b, "that every room has members on every server (loadgen -h, -servers). Every node of it, the\n")
	fmt.Fprint(b, "NATS nodes, the servers and loadgen, shares this machine's two cores: the figures are those\n")
	fmt.Fprint(b, "of a whole cluster on one small machine, not of one node of a real one. The server figures\n")
	fmt.Fprintf(b, "are the three servers' summed. The idle and rooms runs open %s sessions a second: each guest's\n", clusterConnectRate)
	fmt.Fprint(b, "name is claimed in the cluster's record of names (NATS, on all three nodes), which on these\n")
	fmt.Fprint(b, "cores falls behind a faster ramp.\n\n")
	fmt.Fprint(b, "| run | sessions up | offered deliv/s | deliv/s | p50 ms | p99 ms | p99.9 ms | max ms | lost/dup/reord | servers' RSS MB held (each) | CPU % srv/lg | notes |\n")
	fmt.Fprint(b, "|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range append([]result{c.idle}, c.rooms...) {
		writeClusterRow(b, r)
	}
	fmt.Fprint(b, "\n")
	writeFailover(b, c.failover)
	fmt.Fprintf(b, "Commands (each also given `-json FILE`; the rooms run's once):\n\n```\n%s\n%s\n%s\n```\n\n",
		c.idle.cmd, firstCmd(c.rooms), c.failover.cmd)
	writeClusterTargets(b, c, chaos)
}

// firstCmd is the command of the first of repeated runs.
func firstCmd(rs []result) string {
	if len(rs) == 0 {
		return ""
	}
	return rs[0].cmd
}

// writeClusterRow is a load's row.
func writeClusterRow(b *bytes.Buffer, r result) {
	rep := r.rep
	if rep == nil {
		fmt.Fprintf(b, "| %s | | | | | | | | | | | %s |\n", r.label(), r.status)
		return
	}
	notes := r.status
	if n := errCount(rep); n > 0 {
		notes = strings.TrimPrefix(fmt.Sprintf("%s; %d errors (%s)", notes, n, errKinds(rep)), "; ")
	}
	srv, cpu := "-", fmt.Sprintf("- / %.0f", rep.Loadgen.CPURun)
	if rep.Server != nil {
		var each []string
		for _, s := range rep.Servers {
			each = append(each, fmt.Sprintf("%.1f", s.RSSHeldMB))
		}
		srv = fmt.Sprintf("%.1f (%s)", rep.Server.RSSHeldMB, strings.Join(each, ", "))
		cpu = fmt.Sprintf("%.0f / %.0f", rep.Server.CPURun, rep.Loadgen.CPURun)
	}
	lat := rep.Latency
	fmt.Fprintf(b, "| %s | %d/%d | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %d/%d/%d | %s | %s | %s |\n",
		r.label(), rep.Up, rep.Sessions, rep.Offered, rep.DeliveriesPerSec, lat.P50, lat.P99, lat.P999, lat.Max,
		rep.Lost, rep.Duplicates, rep.OutOfOrder, srv, cpu, notes)
}

// writeFailover describes the failover run.
func writeFailover(b *bytes.Buffer, f failoverResult) {
	fmt.Fprint(b, "Failover (`loadgen -profile failover`): rooms of 100 over the three servers, account logins;\n")
	fmt.Fprint(b, "a third into the run loadgen kills the first server (SIGKILL) and leaves it dead. Each of its\n")
	fmt.Fprint(b, "sessions does what the chat client does: it connects to the next server of its list, logs in\n")
	fmt.Fprint(b, "again with the resume token its last login gave (no password check), re-enters its room and\n")
	fmt.Fprint(b, "asks History for what it missed. Its time back runs from the kill until that History reply;\n")
	fmt.Fprint(b, "the other servers give the dead one's names out once its lease (`-lease`, 10 s) ran out: a\n")
	fmt.Fprint(b, "login for one waits for that, the lease and a second at most, and is then refused with\n")
	fmt.Fprint(b, "ErrUnavailable (code 15), as it is when the servers' record of names (NATS) does not answer in\n")
	fmt.Fprint(b, "time; the session tries again after the client's backoff (20 ms doubling to 1 s), on the next\n")
	fmt.Fprint(b, "server. \"first\" is the first session back: the lease ran out a little before. Then every\n")
	fmt.Fprint(b, "acknowledged message is checked at every member.\n\n")
	r := f.rep
	if r == nil {
		fmt.Fprintf(b, "The run failed: %s.\n\n", f.status)
		return
	}
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	fmt.Fprintf(b, "| run | %d sessions in %d rooms, %.0f msgs/s for %.0f s, %d chat servers; %d up after a %.0f s ramp; took %v |\n",
		r.Sessions, r.Rooms, r.Rate, r.Duration, len(r.Servers), r.Up, r.RampSec, f.took.Round(time.Second))
	fmt.Fprintf(b, "| kill | %s at %.1f s: %d sessions on it, %d Says unanswered |\n", r.Killed, r.KillAt, r.OnKilled, r.Unanswered)
	fmt.Fprintf(b, "| back in their rooms | %d of %d, %d within %.0f s; first %.0f ms, p50 %.0f ms, p99 %.0f ms, max %.0f ms |\n",
		r.Back, r.OnKilled, r.Within, r.TargetS, r.FirstMS, r.P50MS, r.P99MS, r.MaxMS)
	fmt.Fprintf(b, "| says | %d sent, %d acknowledged, %d unknown, %d refused |\n", r.Sent, r.Acked, r.Unknown, r.Refused)
	fmt.Fprintf(b, "| deliveries | %d shown; acknowledged ones owed %d to the members throughout, %d made |\n", r.Delivered, r.Expected, r.Found)
	fmt.Fprintf(b, "| retries | %s |\n", countsOrNone(r.Retries))
	fmt.Fprintf(b, "| violations | %s |\n\n", violationCounts(r.Violations))
}

// countsOrNone lists counts by kind, or says none.
func countsOrNone(m map[string]uint64) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// writeClusterTargets judges the section's targets, one row each.
func writeClusterTargets(b *bytes.Buffer, c clusterResults, chaos []byte) {
	fmt.Fprintf(b, "| target | verdict | figures |\n|---|---|---|\n")
	t := targetTable{b}

	const idleTarget = "30,000 idle sessions over three chat servers, more than one server's descriptor limit allows"
	if r := c.idle.rep; r != nil {
		var each []string
		for _, s := range r.Servers {
			each = append(each, fmt.Sprintf("%s %.1f MB", s.Name, s.RSSHeldMB))
		}
		t.row(idleTarget, r.Up >= clusterIdleSessions && r.Failed == 0,
			fmt.Sprintf("%d of %d up, %d failed, about %d a server; RSS holding them %s", r.Up, r.Sessions, r.Failed,
				r.Up/max(len(r.Servers), 1), strings.Join(each, ", ")))
	} else {
		t.missing(idleTarget)
	}

	const roomsTarget = "rooms of 100 spread over three servers at 10,000 deliveries/s: p99 ≤ 50 ms"
	if m, all := median(c.rooms, "rooms-100", "default", p99); m != nil {
		t.row(roomsTarget, m.Latency.P99 <= clusterRoomsP99MS && m.DeliveriesPerSec >= 0.95*clusterRoomsDeliv && m.Lost == 0,
			fmt.Sprintf("p99 %.2f ms at %.0f deliveries/s%s, %d lost", m.Latency.P99, m.DeliveriesPerSec, all, m.Lost))
	} else {
		t.missing(roomsTarget)
	}

	const failoverTarget = "a chat server killed: every one of its 5,000 sessions back in its room on another within 15 s, 0 messages lost"
	if r := c.failover.rep; r != nil {
		lost := r.Expected - min(r.Found, r.Expected)
		t.row(failoverTarget, r.OnKilled >= clusterOnKilled && r.Met() && r.TargetS == clusterBackWithin.Seconds() && len(r.Violations) == 0,
			fmt.Sprintf("%d sessions on %s: %d back, %d within %.0f s, max %.1f s (p50 %.1f s, p99 %.1f s); %d of %d owed deliveries missing, violations: %s",
				r.OnKilled, r.Killed, r.Back, r.Within, r.TargetS, r.MaxMS/1000, r.P50MS/1000, r.P99MS/1000, lost, r.Expected, violationCounts(r.Violations)))
	} else {
		t.missing(failoverTarget)
	}

	fmt.Fprintln(b, chaosRow(chaos))
	fmt.Fprintln(b)
}

// chaosTargetName begins the chaos target's row in the Cluster chaos
// section (writeChaosTarget) and in this one.
const chaosTargetName = "| cluster chaos, ten minutes"

// chaosRow is the section's chaos row: the Cluster chaos section's verdict
// and figures, which it names as their source, or not measured.
func chaosRow(chaos []byte) string {
	const target = "chaos for ten minutes (Cluster chaos, below): 0 violations"
	for _, l := range strings.Split(string(chaos), "\n") {
		if !strings.HasPrefix(l, chaosTargetName) {
			continue
		}
		cells := strings.Split(strings.Trim(l, "| "), " | ")
		if len(cells) == 3 {
			return fmt.Sprintf("| %s | %s | %s (the Cluster chaos section's run) |", target, cells[1], cells[2])
		}
	}
	return fmt.Sprintf("| %s | not measured | no Cluster chaos section: `make bench BENCH_ONLY=chaos` runs it |", target)
}

// sectionOf returns the section of doc that heading starts, up to the
// next, or nil.
func sectionOf(doc []byte, heading string) []byte {
	i := bytes.Index(doc, []byte(heading))
	if i < 0 {
		return nil
	}
	s := doc[i+1:]
	if j := bytes.Index(s, []byte("\n## ")); j >= 0 {
		s = s[:j+1]
	}
	return s
}

// replaceChaosRow puts the chaos row of a new Cluster chaos section into
// the Cluster section of doc, if it has one, so that the two agree after
// `-only chaos`.
func replaceChaosRow(doc, chaos []byte) []byte {
	section := sectionOf(doc, clusterHeading)
	if section == nil {
		return doc
	}
	lines := strings.Split(string(section), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "| chaos for ten minutes") {
			lines[i] = chaosRow(chaos)
		}
	}
	return spliceSection(doc, clusterHeading, []byte(strings.Join(lines, "\n")))
}
