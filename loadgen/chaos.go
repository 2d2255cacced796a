package loadgen

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"chat/harness"
)

// The chaos profile is the acceptance test of several chat servers on one
// NATS cluster being one chat. In its own process loadgen starts a NATS
// cluster of three nodes with a proxy on every route (harness.NATSCluster),
// spawns -servers chat servers on it, and runs rooms traffic whose rooms
// each have members on every server, while faults planned from -seed
// (chaos_schedule.go) kill servers, stop nodes and cut nodes off
// (chaos_faults.go). The sessions are the crash profile's
// (crash_session.go): each fails over to the next server when its own
// dies, logs in again, re-enters its room and asks History for what it
// missed. A takeover probe logs accounts in on a second server now and
// then (chaos_names.go). At the end everything is healed and the checker
// (crash_check.go, and chaos_check.go for what only a cluster can get
// wrong) judges what every session sent and was shown.

// natsNodes is the size of the chaos profile's NATS cluster: the
// smallest that keeps its quorum with a node down.
const natsNodes = 3

// chaosRun is one chaos run. Each fault chain, the prober and the
// progress line have a goroutine; each session, its reader and sender.
type chaosRun struct {
	*sessionRun
	cluster  *harness.NATSCluster
	servers  []*chaosServer
	plan     faultPlan
	probes   bool // the takeover probes run
	seed     uint64
	t0       time.Time
	progress io.Writer // fault lines as they happen; nil when quiet

	names *nameWatch

	mu         sync.Mutex
	faults     []ChaosFault
	lost       []lostNotice // Lost notices the sessions were shown
	violations []CrashViolation
}

// chaosServer is one chat server of the run.
type chaosServer struct {
	name string // cN, its -server-name
	nats []string
	srv  *SpawnedServer

	mu      sync.Mutex
	down    bool // killed, not restarted yet
	stopped bool // stopped at the end
}

// isDown reports whether the server is killed and not yet back.
func (cs *chaosServer) isDown() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.down
}

func (cs *chaosServer) setDown(down bool) {
	cs.mu.Lock()
	cs.down = down
	cs.mu.Unlock()
}

// stop stops the server unless it is stopped already, and says whether it
// was down then (killed, not restarted), when its stop fails as a matter
// of course. err is nil if it was stopped already.
func (cs *chaosServer) stop() (down bool, err error) {
	cs.mu.Lock()
	stopped, down := cs.stopped, cs.down
	cs.stopped = true
	cs.mu.Unlock()
	if stopped {
		return down, nil
	}
	return down, cs.srv.Stop()
}

// runChaos runs the chaos profile. What it starts it registers with
// stops, so that an interrupted run stops it; it stops it itself at the
// end. Progress and fault lines go to progressW unless cfg.Quiet.
func runChaos(cfg Config, sp clusterSpawn, progressW io.Writer, stops *stoppers) (rep *ChaosReport, err error) {
	if cfg.Seed == 0 {
		cfg.Seed = rand.Uint64()>>11 + 1 // short enough to type back in
	}
	sp.proxies = true // for the partitions
	cl, err := startChatCluster(cfg.Servers, sp, stops)
	if err != nil {
		return nil, err
	}
	defer cl.nats.Close()
	cluster, named := cl.nats, cl.named
	run := &chaosRun{cluster: cluster, servers: cl.servers, seed: cfg.Seed, plan: newFaultPlan(cfg.Duration, cfg.Servers, natsNodes)}
	defer run.stopServers()
	if run.plan.Off, run.probes, err = parseFaults(cfg.Faults); err != nil {
		return nil, err
	}
	if !cfg.Quiet {
		run.progress = progressW
	}
	addrs := cl.addrs()
	cfg.Addr = addrs[0]
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if run.sessionRun, err = newSessionRun(cfg, addrs); err != nil {
		return nil, err
	}
	run.names = newNameWatch()
	run.aside = run.watch
	rep = &ChaosReport{Seed: cfg.Seed, Faulted: cfg.Faults, ServerName: named, Login: cfg.Login, Sessions: cfg.Sessions, Rooms: cfg.Rooms,
		Rate: cfg.Rate, Duration: cfg.Duration.Seconds(), NATS: cluster.ClientURLs()}
	rep.Servers = cl.reported()
	run.logf("seed %d: %d chat servers on a NATS cluster of %d", cfg.Seed, cfg.Servers, natsNodes)
	rep.Up = run.ramp()
	run.loop(rep)
	return rep, nil
}

// stopServers stops the chat servers, once; one that had died by itself
// is a violation.
func (run *chaosRun) stopServers() {
	for _, cs := range run.servers {
		if down, err := cs.stop(); err != nil && !down {
			why, _, _ := strings.Cut(err.Error(), ": ")
			run.violate(violDied, "%s at the end: %s (%s)", cs.name, why, failure(cs.srv))
		}
	}
}

// loop is the run from the start of the load to the report: the load, the
// faults and the probes for Duration, then the healing, the wait for the
// sessions, the drain and the checks.
func (run *chaosRun) loop(rep *ChaosReport) {
	cfg := &run.cfg
	run.t0 = time.Now().Add(goMargin)
	load := run.startLoad(run.t0, run.progressLine)
	var chaos sync.WaitGroup
	planned := run.plan.schedule(run.seed)
	for _, chain := range [][]fault{kills(planned), natsFaults(planned)} {
		chaos.Add(1)
		go func() {
			defer chaos.Done()
			run.runChain(chain, load.stop)
		}()
	}
	probes := newProber(run)
	if run.probes {
		chaos.Add(1)
		go func() {
			defer chaos.Done()
			probes.loop(run.t0.Add(cfg.Duration-run.plan.Settle), load.stop)
		}()
	}
	time.Sleep(time.Until(run.t0.Add(cfg.Duration)))
	// The chains are done by Settle before the end; a restart that took
	// long may still be finishing.
	chaos.Wait()
	healedAt := time.Now()
	run.healAll()
	rep.Back, rep.Of = run.waitBack(0, time.Now().Add(run.backWait()))
	if rep.Back == rep.Of {
		rep.AllBackSec = time.Since(healedAt).Seconds()
	}
	run.logf("healed: %d of %d sessions back in their rooms", rep.Back, rep.Of)
	load.drain()
	views := run.observe()
	load.end()
	run.stopServers()

	run.report(&rep.Deliveries)
	run.mu.Lock()
	rep.Faults = slices.SortedStableFunc(slices.Values(run.faults), func(a, b ChaosFault) int { return cmp.Compare(a.AtSec, b.AtSec) })
	rep.Violations = append(rep.Violations, run.violations...)
	lost := run.lost
	run.mu.Unlock()
	rep.Probes = probeCounts(probes.done)
	rep.Violations = append(rep.Violations, checkNames(probes.done)...)
	rep.Violations = append(rep.Violations, checkPresence(views, run.roomMembers())...)
	rep.Violations = append(rep.Violations, checkNotices(lost, run.upSpans(), probeSpans(probes.done), noticeGrace)...)
}

// kills and natsFaults split a schedule into its two chains.
func kills(s []fault) []fault {
	var out []fault
	for _, f := range s {
		if f.Kind == faultKill {
			out = append(out, f)
		}
	}
	return out
}

func natsFaults(s []fault) []fault {
	var out []fault
	for _, f := range s {
		if f.Kind.natsFault() {
			out = append(out, f)
		}
	}
	return out
}

// roomMembers are the names of each room's sessions that came up, by
// room name.
func (run *chaosRun) roomMembers() map[string][]string {
	m := map[string][]string{}
	for _, s := range run.sessions {
		if s.ready.Load() {
			m[s.roomName] = append(m[s.roomName], s.name)
		}
	}
	return m
}

// upSpans are the stretches each session was in its room, by name; read
// once the readers are done.
func (run *chaosRun) upSpans() map[string][]span {
	m := map[string][]span{}
	for _, s := range run.sessions {
		for _, u := range s.ups {
			sp := span{From: u.from.Sub(run.t0), To: openEnd}
			if !u.to.IsZero() {
				sp.To = u.to.Sub(run.t0)
			}
			m[s.name] = append(m[s.name], sp)
		}
	}
	return m
}

// violate records a violation found during the run.
func (run *chaosRun) violate(kind, format string, args ...any) {
	run.mu.Lock()
	run.violations = append(run.violations, CrashViolation{Kind: kind, Text: fmt.Sprintf(format, args...)})
	run.mu.Unlock()
}

// since is how long after the start of the load t is, in seconds.
func (run *chaosRun) since(t time.Time) float64 {
	if run.t0.IsZero() {
		return 0
	}
	return t.Sub(run.t0).Seconds()
}

// logf prints a line of the run as it happens, unless it is quiet.
func (run *chaosRun) logf(format string, args ...any) {
	if run.progress == nil {
		return
	}
	fmt.Fprintf(run.progress, "loadgen %6.2fs chaos  %s\n", max(run.since(time.Now()), 0), fmt.Sprintf(format, args...))
}

// progressLine is the chaos run's line a second, with the faults so far.
func (run *chaosRun) progressLine(n sessionCounts) {
	run.mu.Lock()
	faults := len(run.faults)
	run.mu.Unlock()
	run.logf("up %d/%d  sent %d  acknowledged %d  unanswered %d  shown %d  faults %d",
		n.up, run.cfg.Sessions, n.sent, n.acked, n.unanswered, n.shown, faults)
}

// serverTakes reports whether the chat server at path has flag, from its
// usage: the servers get -server-name only once they take it.
func serverTakes(path, flag string) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "-h").CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return false, fmt.Errorf("run %s -h: %w", path, err)
	}
	return regexp.MustCompile(`(?m)^\s+-` + regexp.QuoteMeta(flag) + `\b`).Match(out), nil
}

// errChaosNeedsSpawn refuses a chaos run against a server loadgen did not
// start: it starts several on a NATS cluster of its own.
var errChaosNeedsSpawn = errors.New("the chaos profile starts its chat servers on a NATS cluster of its own, so it needs -spawn-server PATH, not -addr")

// chaos is Main for the chaos profile: it runs and prints the report.
func (m *mainFlags) chaos(stdout, stderr io.Writer, spawned *stoppers) int {
	if m.spawn == "" || m.cfg.Addr != "" {
		return exitStatus(stderr, usageError{errChaosNeedsSpawn})
	}
	for _, a := range strings.Fields(m.serverArgs) {
		name := strings.TrimLeft(strings.SplitN(a, "=", 2)[0], "-")
		if name == "nats" || name == "state" || name == "server-name" || name == "addr" {
			return exitStatus(stderr, usageError{fmt.Errorf("the chaos profile gives each server its -%s: leave it out of -server-args", name)})
		}
	}
	if err := m.validateUnstarted(); err != nil {
		return exitStatus(stderr, err)
	}
	sp := clusterSpawn{path: m.spawn, args: spawnArgs(&m.cfg, m.serverArgs), usersFile: m.usersFile,
		timeout: max(30*time.Second, m.cfg.Timeout)}
	rep, err := runChaos(m.cfg, sp, stderr, spawned)
	if err != nil {
		return exitStatus(stderr, err)
	}
	WriteChaosReport(stdout, rep)
	return m.finish(stderr, rep)
}
