// Command benchreport runs the Go benchmarks and a short version of every
// loadgen profile against both pollers of chat-server, and the TLS runs
// against epoll, and writes the results, the machine and the exact
// commands to a Markdown file (docs/BENCHMARKS.md). `make bench` runs it
// after `make build`.
//
//	go run ./loadgen/cmd/benchreport -bin bin -out docs/BENCHMARKS.md
package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"chat/loadgen"
)

// run is one loadgen run of the report, done repeat times for each of
// its pollers (nil: both); a target on a noisy figure is judged on the
// median run.
type run struct {
	name, profile string
	args          []string
	repeat        int
	pollers       []string
}

// pollerList is the pollers r runs with.
func (r run) pollerList() []string {
	if r.pollers == nil {
		return pollers
	}
	return r.pollers
}

// epollOnly: the TLS runs, whose targets compare them with the epoll runs
// of the same report, run with epoll alone, which keeps `make bench` near
// its length before TLS.
var epollOnly = []string{"epoll"}

// tlsConnectRate is the TLS runs' ramp: about what the server's handshake
// gate gets through on two cores with loadgen beside it. At the plain
// runs' 2000 a second the queue behind the gate grows past the Hello
// deadline, and the server closes the sessions that waited longest.
const tlsConnectRate = "1000"

// runs are the short profiles, each run for both pollers. The sizes are
// those of the performance targets (writeTargets); the durations are short.
var runs = []run{
	{"idle", "idle", []string{"-sessions", "10000", "-duration", "4s"}, 1, nil},
	{"idle-19k", "idle", []string{"-sessions", "19000", "-duration", "4s"}, 1, nil},
	// Longer than the plain run: the server drops a quiet TLS connection's
	// ciphers after 2 s, and returns the ramp's garbage (a handshake's is
	// tens of KB) once it idles.
	{"idle-tls", "idle", []string{"-sessions", "10000", "-duration", "8s", "-tls", "-connect-rate", tlsConnectRate}, 1, epollOnly},
	// These three and the login storm sit near their targets with figures
	// that vary from run to run by a factor of two or more (DESIGN.md,
	// Performance): several runs each, judged on the median. The 50k rooms
	// run, whose median sits closest to its target, runs five times.
	{"rooms-10k", "rooms", []string{"-sessions", "10000", "-rate", "102", "-duration", "4s"}, 3, nil},
	{"rooms-10k-tls", "rooms", []string{"-sessions", "10000", "-rate", "102", "-duration", "4s", "-tls", "-connect-rate", tlsConnectRate}, 3, epollOnly},
	{"rooms-50k", "rooms", []string{"-sessions", "10000", "-rate", "506", "-duration", "4s"}, 5, nil},
	// No target compares it: one run.
	{"rooms-50k-tls", "rooms", []string{"-sessions", "10000", "-rate", "506", "-duration", "4s", "-tls", "-connect-rate", tlsConnectRate}, 1, epollOnly},
	{"bigroom", "bigroom", []string{"-sessions", "1000", "-rate", "501", "-duration", "3s"}, 3, nil},
	{"churn", "churn", []string{"-sessions", "2000", "-rate", "200", "-churn-rate", "50", "-duration", "3s"}, 1, nil},
	{"reconnect-storm", "reconnect-storm", []string{"-sessions", "5000", "-duration", "3s"}, 1, nil},
	{"reconnect-storm-tls", "reconnect-storm", []string{"-sessions", "5000", "-duration", "3s", "-tls", "-connect-rate", tlsConnectRate}, 1, epollOnly},
	// This offers one room of 1000 twice what it keeps up with
	// (DESIGN.md, Performance): its backlog grows for the whole run.
	{"overload", "overload", []string{"-sessions", "1000", "-rate", "2004", "-duration", "3s", "-drain", "6s"}, 1, nil},
	{"login-storm", "login-storm", []string{"-sessions", "200", "-login", "account", "-duration", "1s"}, 3, nil},
	// The same storm of connections without TLS, to tell the handshakes'
	// part of the probe's latency from the connections'.
	{"connect-storm", "handshake-storm", []string{"-sessions", "1000"}, 1, epollOnly},
	// Its probe's tail varies from run to run like the login storm's.
	{"handshake-storm", "handshake-storm", []string{"-sessions", "1000", "-tls"}, 3, epollOnly},
}

var pollers = []string{"poll", "epoll"}

type result struct {
	run    run
	poller string
	nth    int // which of the run's repeats, from 1
	cmd    string
	rep    *loadgen.Report
	status string // "" or what went wrong
}

func main() {
	bin := flag.String("bin", "bin", "directory holding chat-server and loadgen")
	out := flag.String("out", "docs/BENCHMARKS.md", "Markdown file to write")
	benchtime := flag.String("benchtime", "300ms", "-benchtime of the Go benchmarks")
	only := flag.String("only", "", `"peers", "durable", "cluster" or "chaos": run only that section and replace it in -out, keeping the rest`)
	flag.Parse()
	abs, err := filepath.Abs(*bin)
	if err != nil {
		fail(err)
	}
	*bin = abs
	started := time.Now()
	switch *only {
	case "":
	case "peers":
		var b bytes.Buffer
		var others otherCPU
		rows := runPeers(*bin, &others)
		writePeers(&b, rows, others.summary(), true)
		old, _ := os.ReadFile(*out)
		if err := os.WriteFile(*out, spliceSection(old, peersHeading, b.Bytes()), 0o644); err != nil {
			fail(err)
		}
		logf("wrote the peers of %s in %v", *out, time.Since(started).Round(time.Second))
		return
	case "durable":
		var b bytes.Buffer
		writeDurable(&b, runDurable(*bin), true)
		old, _ := os.ReadFile(*out)
		if err := os.WriteFile(*out, spliceSection(old, durableHeading, b.Bytes()), 0o644); err != nil {
			fail(err)
		}
		logf("wrote the durable history of %s in %v", *out, time.Since(started).Round(time.Second))
		return
	case "cluster":
		var b bytes.Buffer
		c := runCluster(*bin)
		old, _ := os.ReadFile(*out)
		writeCluster(&b, c, sectionOf(old, chaosHeading), true)
		if err := os.WriteFile(*out, spliceSection(old, clusterHeading, b.Bytes()), 0o644); err != nil {
			fail(err)
		}
		logf("wrote the cluster section of %s in %v", *out, time.Since(started).Round(time.Second))
		return
	case "chaos":
		var b bytes.Buffer
		writeChaos(&b, runChaos(*bin), true)
		old, _ := os.ReadFile(*out)
		doc := replaceChaosRow(spliceSection(old, chaosHeading, b.Bytes()), b.Bytes())
		if err := os.WriteFile(*out, doc, 0o644); err != nil {
			fail(err)
		}
		logf("wrote the cluster chaos of %s in %v", *out, time.Since(started).Round(time.Second))
		return
	default:
		fail(fmt.Errorf(`-only %q: the sections that run alone are "peers", "durable", "cluster" and "chaos"`, *only))
	}

	goBench := []string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", *benchtime,
		"./internal/wire/", "./server/...", "./loadgen/", "./client/", "./internal/term/"}
	logf("go %s", strings.Join(goBench, " "))
	benchOut, err := command(10*time.Minute, "go", goBench...)
	if err != nil {
		fail(fmt.Errorf("go test -bench: %v\n%s", err, benchOut))
	}

	var results []result
	var others otherCPU
	for _, r := range runs {
		for _, p := range r.pollerList() {
			for n := 1; n <= max(r.repeat, 1); n++ {
				var res result
				others.measure(func() { res = loadRun(*bin, r, p) })
				res.nth = n
				results = append(results, res)
			}
		}
	}

	var peerOthers otherCPU
	peers := runPeers(*bin, &peerOthers)
	durable := runDurable(*bin)
	cluster := runCluster(*bin)
	chaos := runChaos(*bin)

	var b, chaosSection bytes.Buffer
	writeReport(&b, string(benchOut), goBench, results, others.summary(), time.Since(started))
	writePeers(&b, peers, peerOthers.summary(), false)
	writeDurable(&b, durable, false)
	writeChaos(&chaosSection, chaos, false)
	writeCluster(&b, cluster, chaosSection.Bytes(), false)
	b.Write(chaosSection.Bytes())
	b.Write(keptSection(*out))
	if err := os.WriteFile(*out, b.Bytes(), 0o644); err != nil {
		fail(err)
	}
	logf("wrote %s in %v", *out, time.Since(started).Round(time.Second))
}

func loadRun(bin string, r run, poller string) result {
	args := append([]string{"-spawn-server", filepath.Join(bin, "chat-server"),
		"-server-args", "-msg-rate -1 -poller " + poller, "-profile", r.profile, "-quiet"}, r.args...)
	res := runLoadgen(bin, args, "bin/loadgen "+quoteArgs(args))
	res.run, res.poller = r, poller
	return res
}

// runLoadgen runs bin/loadgen with args (and -json), shown as shown in the
// report, and returns its report or what went wrong.
func runLoadgen(bin string, args []string, shown string) result {
	tmp, err := os.CreateTemp("", "benchreport-*.json")
	if err != nil {
		fail(err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	args = append(slices.Clip(args), "-json", tmp.Name())
	logf("%s", shown)
	res := result{cmd: shown}
	outb, err := command(3*time.Minute, filepath.Join(bin, "loadgen"), args...)
	if err != nil {
		res.status = fmt.Sprintf("exit: %v", err)
		if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
			res.status = "problems found (exit 3)"
		}
	}
	data, rerr := os.ReadFile(tmp.Name())
	if rerr == nil && len(data) > 0 {
		var rep loadgen.Report
		if err := json.Unmarshal(data, &rep); err == nil {
			res.rep = &rep
		}
	}
	if res.rep == nil {
		res.status += "; no report: " + lastLine(string(outb))
	}
	return res
}

// profileResult is a run of a profile whose report is its own (R): the
// chaos and the failover profiles'.
type profileResult[R any] struct {
	rep    *R
	cmd    string
	status string // what went wrong, if anything
	took   time.Duration
}

// runProfile runs bin/loadgen with args and -json, for at most timeout,
// and returns its report, or what went wrong, and how loadgen exited.
// name names its temporary files.
func runProfile[R any](bin string, args []string, name string, timeout time.Duration) (res profileResult[R], exit error) {
	dir := tempDir("benchreport-" + name + "-")
	defer os.RemoveAll(dir)
	jsonFile := filepath.Join(dir, name+".json")
	res.cmd = "bin/loadgen " + quoteArgs(args)
	logf("%s", res.cmd)
	start := time.Now()
	out, err := command(timeout, filepath.Join(bin, "loadgen"), append(args, "-json", jsonFile)...)
	res.took = time.Since(start)
	var rep R
	data, rerr := os.ReadFile(jsonFile)
	if rerr != nil || json.Unmarshal(data, &rep) != nil {
		res.status = fmt.Sprintf("no report (%v): %s", err, lastLine(string(out)))
		return res, err
	}
	res.rep = &rep
	return res, err
}

// writeReport writes BENCHMARKS.md: the machine, the Go benchmarks, the
// load runs and the targets judged on them.
func writeReport(b *bytes.Buffer, bench string, goBench []string, results []result, others string, took time.Duration) {
	fmt.Fprintf(b, "# Benchmarks\n\n")
	fmt.Fprintf(b, "Generated by `make bench` (`go run ./loadgen/cmd/benchreport`) on %s in %v. ",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), took.Round(time.Second))
	fmt.Fprintf(b, "Do not edit: run `make bench` again.\n\n")
	fmt.Fprintf(b, "The server and loadgen run on the same machine and share its cores, so both processes' CPU\n")
	fmt.Fprintf(b, "is reported (%% of one core). The loadgen runs are short versions of the profiles\n")
	fmt.Fprintf(b, "(seconds, not minutes): their figures are indicative, not a soak test.\n\n")

	writeMachine(b)
	writeGoBenchmarks(b, bench, goBench)
	writeLoadRuns(b, results, others)
	writeTargets(b, results)
}

// writeMachine describes the machine the figures come from.
func writeMachine(b *bytes.Buffer) {
	fmt.Fprintf(b, "## Machine\n\n")
	fmt.Fprintf(b, "| | |\n|---|---|\n")
	fmt.Fprintf(b, "| CPU | %s |\n", cpuModel())
	fmt.Fprintf(b, "| cores (nproc) | %d |\n", runtime.NumCPU())
	fmt.Fprintf(b, "| memory | %s |\n", memTotal())
	fmt.Fprintf(b, "| kernel | %s |\n", readTrim("/proc/sys/kernel/osrelease"))
	fmt.Fprintf(b, "| Go | %s |\n", goVersion())
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil {
		fmt.Fprintf(b, "| descriptor limit | %d per process |\n", rl.Cur)
	}
	fmt.Fprintf(b, "\n")
}

// writeGoBenchmarks lists the Go benchmarks' results, the file relay's apart.
func writeGoBenchmarks(b *bytes.Buffer, bench string, goBench []string) {
	fmt.Fprintf(b, "## Go benchmarks\n\n```\ngo %s\n```\n\n```\n", strings.Join(goBench, " "))
	for _, l := range strings.Split(bench, "\n") {
		if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "ok") || strings.HasPrefix(l, "pkg:") {
			fmt.Fprintln(b, l)
		}
	}
	fmt.Fprintf(b, "```\n\n")
	fmt.Fprintf(b, "File relay (server/relay_test.go):\n\n")
	for _, name := range []string{"BenchmarkRelay-", "BenchmarkRelayTen-", "BenchmarkChatDuringRelay/"} {
		for _, l := range strings.Split(bench, "\n") {
			if strings.HasPrefix(l, name) {
				fmt.Fprintf(b, "- `%s`\n", strings.Join(strings.Fields(l), " "))
			}
		}
	}
	fmt.Fprintf(b, "\n")
}

// writeLoadRuns is the table of the loadgen runs, what else ran on the
// machine meanwhile, and the commands that made them.
func writeLoadRuns(b *bytes.Buffer, results []result, others string) {
	fmt.Fprintf(b, "## Load (loadgen)\n\n")
	fmt.Fprintf(b, "Latency is from each message's intended send time (open loop) to its delivery. ")
	fmt.Fprint(b, "RSS: after the ramp / holding the sessions / peak. CPU: during the run (server / loadgen).\n")
	fmt.Fprint(b, "What holding the sessions costs is the RSS near the end of the run, before any session closes\n")
	fmt.Fprint(b, "(the server returns the ramp's garbage once it idles, within about two seconds); the RSS after\n")
	fmt.Fprint(b, "the ramp still holds that garbage. The server's figures include its child processes, the\n")
	fmt.Fprint(b, "password workers (argon2id takes 19 MiB for each check they do).\n\n")
	fmt.Fprint(b, "Runs named `-tls` are the same loads over TLS (`loadgen -tls`: the server serves a self-signed\n")
	fmt.Fprint(b, "certificate made for the run, every session verifies it), with epoll only, opening 1000\n")
	fmt.Fprint(b, "sessions a second: the server's handshake gate gets through about that many on these cores with\n")
	fmt.Fprint(b, "loadgen beside it, and a session left waiting behind it past the Hello deadline is closed. Each\n")
	fmt.Fprint(b, "loadgen process shares one TLS session cache, so after the first handshakes most resume (the\n")
	fmt.Fprint(b, "notes count them). `connect-storm` and `handshake-storm` open 1000 sessions at once (Hello\n")
	fmt.Fprint(b, "and a guest name, no room) while two probe sessions, in before it, send each other a room\n")
	fmt.Fprint(b, "message every 10 ms; over TLS each is a full handshake (no resumption), as from new clients.\n")
	fmt.Fprint(b, "Their latency columns are those probe messages' during the storm.\n\n")
	fmt.Fprintf(b, "| run | poller | sessions up | offered deliv/s | deliv/s | p50 ms | p99 ms | p99.9 ms | max ms | lost/dup/reord | server RSS MB | CPU %% srv/lg | notes |\n")
	fmt.Fprintf(b, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		rep := r.rep
		if rep == nil {
			fmt.Fprintf(b, "| %s | %s | | | | | | | | | | | %s |\n", r.label(), r.poller, r.status)
			continue
		}
		notes := r.status
		if rep.Storm != nil {
			notes = strings.TrimPrefix(fmt.Sprintf("%s; %d cut, %d back, all back in %.2fs", notes,
				rep.Storm.Cut, rep.Storm.Back, rep.Storm.AllBackSec), "; ")
			if rep.TLS != nil {
				notes += fmt.Sprintf(", %d of them resumed", rep.Storm.Resumed)
			}
		}
		if h := rep.HandshakeStorm; h != nil {
			notes = strings.TrimPrefix(fmt.Sprintf("%s; %d connected in %.2fs (%.0f/s); probe %.2f ms before", notes,
				h.Connections, h.Seconds, h.PerSec, h.ProbeBeforeMS), "; ")
			if h.ProbeError != "" {
				notes += "; probe error: " + h.ProbeError
			}
		}
		if t := rep.TLS; t != nil {
			notes = strings.TrimPrefix(fmt.Sprintf("%s; TLS: %d handshakes, %d resumed", notes, t.Handshakes, t.Resumed), "; ")
		}
		if rep.ChurnStarted > 0 {
			notes = strings.TrimPrefix(fmt.Sprintf("%s; churn %d started, %d done", notes, rep.ChurnStarted, rep.ChurnDone), "; ")
		}
		if n := errCount(rep); n > 0 {
			notes = strings.TrimPrefix(fmt.Sprintf("%s; %d errors (%s)", notes, n, errKinds(rep)), "; ")
		}
		srv := "-"
		cpu := fmt.Sprintf("- / %.0f", rep.Loadgen.CPURun)
		if rep.Server != nil {
			srv = fmt.Sprintf("%.1f / %.1f / %.1f", rep.Server.RSSStartMB, rep.Server.RSSHeldMB, rep.Server.RSSPeakMB)
			cpu = fmt.Sprintf("%.0f / %.0f", rep.Server.CPURun, rep.Loadgen.CPURun)
		}
		lat := rep.Latency
		if h := rep.HandshakeStorm; h != nil {
			lat = h.Probe
		}
		fmt.Fprintf(b, "| %s | %s | %d/%d | %.0f | %.0f | %.2f | %.2f | %.2f | %.2f | %d/%d/%d | %s | %s | %s |\n",
			r.label(), r.poller, rep.Up, rep.Sessions, rep.Offered, rep.DeliveriesPerSec,
			lat.P50, lat.P99, lat.P999, lat.Max,
			rep.Lost, rep.Duplicates, rep.OutOfOrder, srv, cpu, notes)
	}
	if others != "" {
		fmt.Fprintf(b, "\n%s They run at the same priority as the server and loadgen, so their bursts\n", others)
		fmt.Fprint(b, "show in the latency tails.")
		fmt.Fprint(b, " docs/DESIGN.md (Performance) tells what one of them, the kernel's memory\n")
		fmt.Fprint(b, "monitor kdamond, did to the rooms runs.\n")
	}
	fmt.Fprintf(b, "\nCommands (each also given `-json FILE`; those of repeated runs once):\n\n```\n")
	for _, r := range results {
		if r.nth <= 1 {
			fmt.Fprintln(b, r.cmd)
		}
	}
	fmt.Fprintf(b, "```\n\n")
}

// label names a result in the table: its run, and which repeat.
func (r result) label() string {
	if r.run.repeat > 1 {
		return fmt.Sprintf("%s (%d/%d)", r.run.name, r.nth, r.run.repeat)
	}
	return r.run.name
}

// median returns the report of the median run of name with poller by
// key, and every run's key in run order; nil if any run failed.
func median(results []result, name, poller string, key func(*loadgen.Report) float64) (*loadgen.Report, string) {
	var reps []*loadgen.Report
	var vals []string
	for _, r := range results {
		if r.run.name != name || r.poller != poller {
			continue
		}
		if r.rep == nil {
			return nil, ""
		}
		reps = append(reps, r.rep)
		vals = append(vals, fmt.Sprintf("%.2f", key(r.rep)))
	}
	if len(reps) == 0 {
		return nil, ""
	}
	sorted := slices.Clone(reps)
	slices.SortFunc(sorted, func(a, b *loadgen.Report) int { return cmp.Compare(key(a), key(b)) })
	if len(reps) == 1 {
		return sorted[0], ""
	}
	return sorted[len(sorted)/2], fmt.Sprintf(" (median of %d runs: %s ms)", len(reps), strings.Join(vals, ", "))
}

func find(results []result, name, poller string) *loadgen.Report {
	for _, r := range results {
		if r.run.name == name && r.poller == poller {
			return r.rep
		}
	}
	return nil
}

// writeTargets judges the runs against the targets, one row each.
func writeTargets(b *bytes.Buffer, results []result) {
	fmt.Fprintf(b, "## Targets\n\n")
	fmt.Fprintf(b, "Judged on the runs above (short runs: a target met here should be confirmed by a longer run);\n")
	fmt.Fprintf(b, "a figure that varies much from run to run is judged on the median of several runs, all listed.\n\n")
	fmt.Fprintf(b, "| target | verdict | figures |\n|---|---|---|\n")
	t := targetTable{b}
	idleTargets(t, results)
	roomsTargets(t, results)
	bigroomTarget(t, results)
	overloadTarget(t, results)
	stormTarget(t, results)
	loginTarget(t, results)
	tlsTargets(t, results)
}

// targetTable writes the rows of the targets' table.
type targetTable struct{ b *bytes.Buffer }

func (t targetTable) row(target string, ok bool, figs string) {
	verdict := "**not met**"
	if ok {
		verdict = "met"
	}
	fmt.Fprintf(t.b, "| %s | %s | %s |\n", target, verdict, figs)
}

func (t targetTable) missing(target string) {
	fmt.Fprintf(t.b, "| %s | not measured | the run failed |\n", target)
}

// eachPoller judges a target on each poller's run: judge returns whether
// the run met it and its figures, found false when there is no report. The
// target is met when every poller's run met it.
func eachPoller(judge func(poller string) (met bool, figs string, found bool)) (ok bool, figs string) {
	ok = true
	var all []string
	for _, p := range pollers {
		met, fig, found := judge(p)
		if !found {
			fig = p + ": no report"
		}
		ok = ok && found && met
		all = append(all, fig)
	}
	return ok, strings.Join(all, "; ")
}

// p99 is the key the latency targets are judged by.
func p99(r *loadgen.Report) float64 { return r.Latency.P99 }

// idleTargets: what holding the sessions costs is the RSS near the end of
// the run; after the ramp it still holds the ramp's garbage.
func idleTargets(t targetTable, results []result) {
	for _, run := range []struct {
		name string
		n    int
	}{{"idle", 10000}, {"idle-19k", 19000}} {
		ok, figs := eachPoller(func(p string) (bool, string, bool) {
			rep := find(results, run.name, p)
			if rep == nil || rep.Server == nil {
				return false, "", false
			}
			held := rep.Up >= run.n && rep.Failed == 0
			return held && rep.Server.RSSHeldMB > 0 && rep.Server.RSSHeldMB <= 30,
				fmt.Sprintf("%s: %d held, server RSS %.1f MB holding them (%.1f MB right after the ramp, peak %.1f MB)",
					p, rep.Up, rep.Server.RSSHeldMB, rep.Server.RSSStartMB, rep.Server.RSSPeakMB), true
		})
		target := "idle: 10,000 sessions held, server RSS ≤ 30 MB"
		if run.n != 10000 {
			target = "idle: 19,000 sessions held (loadgen in other processes), server RSS ≤ 30 MB"
		}
		t.row(target, ok, figs)
	}
}

func roomsTargets(t targetTable, results []result) {
	e, eRuns := median(results, "rooms-10k", "epoll", p99)
	p, pRuns := median(results, "rooms-10k", "poll", p99)
	if e != nil && p != nil {
		t.row("rooms of 100, 10,000 sessions, 10k deliveries/s: epoll p99 ≤ 10 ms", e.Latency.P99 <= 10 && e.Lost == 0,
			fmt.Sprintf("epoll p99 %.2f ms%s at %.0f deliveries/s, lost %d", e.Latency.P99, eRuns, e.DeliveriesPerSec, e.Lost))
		t.row("rooms of 100, 10,000 sessions, 10k deliveries/s: poll p99 ≤ 50 ms", p.Latency.P99 <= 50 && p.Lost == 0,
			fmt.Sprintf("poll p99 %.2f ms%s at %.0f deliveries/s, lost %d", p.Latency.P99, pRuns, p.DeliveriesPerSec, p.Lost))
	} else {
		t.missing("rooms of 100, 10,000 sessions, 10k deliveries/s")
	}
	if e, runs := median(results, "rooms-50k", "epoll", p99); e != nil {
		t.row("rooms of 100, 10,000 sessions, 50k deliveries/s: epoll p99 ≤ 25 ms, no loss", e.Latency.P99 <= 25 && e.Lost == 0 && e.Duplicates == 0 && e.OutOfOrder == 0,
			fmt.Sprintf("epoll p99 %.2f ms%s at %.0f deliveries/s, lost %d", e.Latency.P99, runs, e.DeliveriesPerSec, e.Lost))
	} else {
		t.missing("rooms of 100, 10,000 sessions, 50k deliveries/s")
	}
}

// bigroomTarget is met when either poller's run meets it.
func bigroomTarget(t targetTable, results []result) {
	best := ""
	ok := false
	for _, p := range pollers {
		if r, runs := median(results, "bigroom", p, p99); r != nil {
			m := r.DeliveriesPerSec >= 500000*0.99 && r.Latency.P99 <= 50 && r.Lost == 0
			ok = ok || m
			best += fmt.Sprintf("%s: %.0f deliveries/s (offered %.0f), p99 %.2f ms%s, lost %d; ", p, r.DeliveriesPerSec, r.Offered, r.Latency.P99, runs, r.Lost)
		}
	}
	t.row("one room of 1000: ≥ 500k deliveries/s with p99 ≤ 50 ms", ok, strings.TrimSuffix(best, "; "))
}

func overloadTarget(t targetTable, results []result) {
	ok, figs := eachPoller(func(p string) (bool, string, bool) {
		r := find(results, "overload", p)
		if r == nil || r.Overload == nil {
			return false, "", false
		}
		o := r.Overload
		met := overloadBounded(r) && o.Recovered() && r.Lost == 0 && r.Duplicates == 0 && r.OutOfOrder == 0
		rec := "not recovered"
		if o.Recovered() {
			rec = fmt.Sprintf("recovered %.2f s after the load stopped", o.RecoveredSec)
		}
		cut := fmt.Sprintf("%d sessions cut (Bye slow)", o.CutSlow)
		if o.CutSlow == 0 {
			cut = "no session cut (none had 1 MiB queued; the cut is tested by TestServerSlowReaderIsCut)"
		}
		return met, fmt.Sprintf("%s: %.0f deliveries/s offered for %.0f s (%.0f/s delivered, latency p99 %.0f ms); %s, %d stayed; lost %d at the cut sessions, %d at those that stayed; server RSS %.1f MB before, peak %.1f MB, %.1f MB after (bound: %d sessions × 1 MiB output cap); probe message %.2f ms before, %.2f ms after (worst %.2f ms), %s",
			p, r.Offered, r.Duration, r.DeliveriesPerSec, r.Latency.P99, cut, o.Stayed, o.LostCut, r.Lost, o.RSSBeforeMB, o.RSSPeakMB, o.RSSAfterMB, r.Sessions, o.ProbeBeforeMS, o.ProbeAfterMS, o.ProbeMaxMS, rec), true
	})
	t.row("2× overload: memory bounded, slow consumers cut off, recovery", ok, figs)
}

func stormTarget(t targetTable, results []result) {
	ok, figs := eachPoller(func(p string) (bool, string, bool) {
		r := find(results, "reconnect-storm", p)
		if r == nil || r.Storm == nil {
			return false, "", false
		}
		met := r.Storm.Cut >= 5000 && r.Storm.Back == r.Storm.Cut && r.Storm.AllBackSec > 0 && r.Storm.AllBackSec <= 15
		return met, fmt.Sprintf("%s: %d cut, %d back, all back in %.2f s", p, r.Storm.Cut, r.Storm.Back, r.Storm.AllBackSec), true
	})
	t.row("reconnect storm: 5,000 sessions cut at once all back within 15 s", ok, figs)
}

func loginTarget(t targetTable, results []result) {
	pingMax := func(r *loadgen.Report) float64 {
		if r.LoginStorm == nil {
			return math.Inf(1)
		}
		return r.LoginStorm.Ping.Max
	}
	ok, figs := eachPoller(func(p string) (bool, string, bool) {
		r, runs := median(results, "login-storm", p, pingMax)
		if r == nil || r.LoginStorm == nil {
			return false, "", false
		}
		l := r.LoginStorm
		return loginStormMet(r), fmt.Sprintf("%s: %d password logins in %.2f s = %.0f logins/s (login time p50 %.0f ms, p99 %.0f ms, %d failed); %d pings during the storm: round trip p50 %.2f ms, p99 %.2f ms, max %.2f ms%s",
			p, l.Logins, l.Seconds, l.LoginsPerSec, r.LoginTime.P50, r.LoginTime.P99, r.Failed, l.Pings, l.Ping.P50, l.Ping.P99, l.Ping.Max, runs), true
	})
	t.row("login: logins/s with real hashing, pings answered within 10 ms during a login storm", ok, figs)
}

// overloadBounded: the server's memory during the overload stayed within
// what its output cap allows (1 MiB queued per session before it is cut,
// plus 64 MB for everything else): it does not grow with the offered load.
func overloadBounded(r *loadgen.Report) bool {
	o := r.Overload
	return o.RSSPeakMB > 0 && o.RSSPeakMB-o.RSSBeforeMB <= float64(r.Sessions)+64
}

// loginStormMet: every session logged in, and every ping during the storm
// was answered within 10 ms.
func loginStormMet(r *loadgen.Report) bool {
	l := r.LoginStorm
	return l.ProbeError == "" && l.Pings > 0 && l.Ping.Max <= 10 && r.Failed == 0 && l.Logins == r.Sessions
}

// errKinds lists a report's errors by kind, the commonest first, for the
// notes: what went wrong, not only how often.
func errKinds(r *loadgen.Report) string {
	kinds := slices.Collect(maps.Keys(r.Errors))
	slices.SortFunc(kinds, func(a, b string) int {
		return cmp.Or(cmp.Compare(r.Errors[b], r.Errors[a]), cmp.Compare(a, b))
	})
	var parts []string
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s ×%d", strings.ReplaceAll(k, "|", "/"), r.Errors[k]))
	}
	return strings.Join(parts, ", ")
}

func errCount(r *loadgen.Report) uint64 {
	var n uint64
	for _, v := range r.Errors {
		n += v
	}
	return n
}

func command(timeout time.Duration, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

var needsQuote = regexp.MustCompile(`[^A-Za-z0-9_./:=-]`)

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || needsQuote.MatchString(a) {
			a = `"` + a + `"`
		}
		q[i] = a
	}
	s := strings.Join(q, " ")
	if wd, err := os.Getwd(); err == nil {
		s = strings.ReplaceAll(s, wd+"/", "")
	}
	return s
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "model name") {
			if _, v, ok := strings.Cut(l, ":"); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}

func memTotal() string {
	data, _ := os.ReadFile("/proc/meminfo")
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(l, "MemTotal:") {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(l, "MemTotal:")), "%d", &kb)
			return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
		}
	}
	return "unknown"
}

func goVersion() string {
	out, err := exec.Command("go", "version").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func readTrim(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(data))
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchreport: "+format+"\n", args...)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
	os.Exit(1)
}

// keptHeading starts the part of the report that people write, kept as it
// is when the report is generated again: comparisons of runs made in one
// sitting (before and after a change), which one run cannot produce.
const keptHeading = "\n## Comparisons\n"

// keptSection returns the kept part of the report at path, if any.
func keptSection(path string) []byte {
	old, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	if i := bytes.Index(old, []byte(keptHeading)); i >= 0 {
		return old[i:]
	}
	return nil
}

// tlsTargets judge the TLS runs (epoll), most against the plain runs of
// the same report.
func tlsTargets(t targetTable, results []result) {
	const idleTarget = "idle over TLS: 10,000 sessions held, server RSS ≤ 2× the plain figure of the same run (epoll)"
	if tr, pr := find(results, "idle-tls", "epoll"), find(results, "idle", "epoll"); tr != nil && pr != nil && tr.Server != nil && pr.Server != nil {
		ratio := tr.Server.RSSHeldMB / pr.Server.RSSHeldMB
		t.row(idleTarget, tr.Up >= 10000 && tr.Failed == 0 && tr.Server.RSSHeldMB > 0 && ratio <= 2,
			fmt.Sprintf("epoll: %d held over TLS, server RSS %.1f MB holding them (%.1f MB right after the ramp, peak %.1f MB); plain %.1f MB: %.2f×",
				tr.Up, tr.Server.RSSHeldMB, tr.Server.RSSStartMB, tr.Server.RSSPeakMB, pr.Server.RSSHeldMB, ratio))
	} else {
		t.missing(idleTarget)
	}

	const roomsTarget = "rooms of 100, 10,000 sessions, 10k deliveries/s over TLS: p99 ≤ 1.5× plain in the same run (epoll)"
	tr, tRuns := median(results, "rooms-10k-tls", "epoll", p99)
	pr, pRuns := median(results, "rooms-10k", "epoll", p99)
	if tr != nil && pr != nil {
		ratio := tr.Latency.P99 / pr.Latency.P99
		t.row(roomsTarget, ratio <= 1.5 && tr.Lost == 0 && tr.Failed == 0,
			fmt.Sprintf("epoll: TLS p99 %.2f ms%s, plain %.2f ms%s: %.2f×; TLS at %.0f deliveries/s, lost %d",
				tr.Latency.P99, tRuns, pr.Latency.P99, pRuns, ratio, tr.DeliveriesPerSec, tr.Lost))
	} else {
		t.missing(roomsTarget)
	}

	const stormTarget = "storm of 1,000 TLS handshakes: the probe pair's p99 ≤ 10 ms (epoll)"
	probeP99 := func(r *loadgen.Report) float64 {
		if r.HandshakeStorm == nil {
			return math.Inf(1)
		}
		return r.HandshakeStorm.Probe.P99
	}
	if r, runs := median(results, "handshake-storm", "epoll", probeP99); r != nil && r.HandshakeStorm != nil {
		h := r.HandshakeStorm
		figs := fmt.Sprintf("epoll: %d full handshakes at once, all in by %.2f s (%.0f/s); %d probe messages during the storm: p50 %.2f ms, p99 %.2f ms%s, max %.2f ms (%.2f ms before it)",
			h.Connections, h.Seconds, h.PerSec, h.Probes, h.Probe.P50, h.Probe.P99, runs, h.Probe.Max, h.ProbeBeforeMS)
		if c := find(results, "connect-storm", "epoll"); c != nil && c.HandshakeStorm != nil {
			figs += fmt.Sprintf("; the same storm without TLS: all in by %.2f s, probe p99 %.2f ms", c.HandshakeStorm.Seconds, c.HandshakeStorm.Probe.P99)
		}
		t.row(stormTarget, h.ProbeError == "" && h.Probes > 0 && h.Probe.P99 <= 10 && h.Connections == r.Sessions, figs)
	} else {
		t.missing(stormTarget)
	}

	const resumeTarget = "reconnect storm over TLS: 5,000 sessions cut at once all back, resuming their sessions, within 15 s (epoll)"
	if r := find(results, "reconnect-storm-tls", "epoll"); r != nil && r.Storm != nil {
		s := r.Storm
		t.row(resumeTarget, s.Cut >= 5000 && s.Back == s.Cut && s.Resumed == s.Back && s.AllBackSec > 0 && s.AllBackSec <= 15,
			fmt.Sprintf("epoll: %d cut, %d back, %d of them resumed, all back in %.2f s (reconnect p50 %.0f ms, p99 %.0f ms)",
				s.Cut, s.Back, s.Resumed, s.AllBackSec, s.Reconnect.P50, s.Reconnect.P99))
	} else {
		t.missing(resumeTarget)
	}
}
