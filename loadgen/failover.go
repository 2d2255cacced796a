package loadgen

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The failover profile measures what a user of a chat cluster sees when
// their server dies: rooms traffic over -servers chat servers on a NATS
// cluster (cluster.go), each room with members on every server, and
// -kill-after into the run one server is killed with SIGKILL and left
// dead. Its sessions are the crash profile's (crash_session.go): each
// moves to the next server of its list, logs in again, re-enters its
// room and asks History for what it missed, as the chat client does.
// For each of them the run measures the time from the kill until it is
// back in its room, resumed; the checker (crash_check.go) then judges
// that no acknowledged message was lost.

// failoverTarget is the bound on a session's time back.
const failoverTarget = 15 * time.Second

// failoverVictim is the index of the server the run kills: the first,
// whose sessions fail over to each of the others in turn.
const failoverVictim = 0

// FailoverReport is the result of a failover run.
type FailoverReport struct {
	Login    string
	Sessions int
	Rooms    int
	Rate     float64
	Duration float64 // seconds of sending
	Servers  []ChaosServer
	NATS     []string // the NATS cluster's client URLs
	Up       int      // sessions up after the ramp
	RampSec  float64
	Killed   string  // the server killed
	KillAt   float64 // seconds after the start of the run
	// Unanswered counts the Says pending on the killed server's sessions
	// when it died: unknown, judged everywhere or nowhere.
	Unanswered uint64
	FailoverTiming
	Deliveries
}

// FailoverTiming is how long the sessions of the killed server took to
// be back in their rooms on another: from the kill until each had logged
// in, entered and resumed.
type FailoverTiming struct {
	OnKilled int     // sessions that were on the killed server, up
	Back     int     // of them, back by the end of the run's wait
	Within   int     // of them, back within TargetSec
	TargetS  float64 `json:"TargetSec"`
	FirstMS  float64 // the first back: about when the lease ran out
	P50MS    float64
	P99MS    float64
	MaxMS    float64
}

// failoverTiming summarizes the times back of the sessions that were on
// the killed server: back holds the time of each that came back, and of
// how many there were. Percentiles are of those back (nearest rank).
func failoverTiming(back []time.Duration, of int, target time.Duration) FailoverTiming {
	t := FailoverTiming{OnKilled: of, Back: len(back), TargetS: target.Seconds()}
	if len(back) == 0 {
		return t
	}
	sorted := slices.Sorted(slices.Values(back))
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(sorted))+0.999999) - 1
		return sorted[min(max(i, 0), len(sorted)-1)]
	}
	for _, d := range sorted {
		if d <= target {
			t.Within++
		}
	}
	t.FirstMS, t.P50MS, t.P99MS, t.MaxMS = ms(sorted[0]), ms(rank(0.50)), ms(rank(0.99)), ms(sorted[len(sorted)-1])
	return t
}

// Met reports whether every session of the killed server was back within
// the target.
func (t FailoverTiming) Met() bool { return t.OnKilled > 0 && t.Within == t.OnKilled }

// Problems reports whether the run found the cluster at fault: a lost
// message, or a session of the killed server not back at all.
func (r *FailoverReport) Problems() bool {
	return r.Deliveries.Problems() || r.Back < r.OnKilled
}

// failoverRun is one failover run: the shared sessions, and the cluster.
// The kill runs on the caller's goroutine; each session has its reader
// and its sender.
type failoverRun struct {
	*sessionRun
	cl *chatCluster
}

// RunFailover runs the failover profile on cl, whose first server it
// kills. Progress lines go to progressW unless cfg.Quiet.
func RunFailover(cfg Config, cl *chatCluster, progressW io.Writer) (*FailoverReport, error) {
	addrs := cl.addrs()
	cfg.Addr = addrs[0]
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	shared, err := newSessionRun(cfg, addrs)
	if err != nil {
		return nil, err
	}
	run := &failoverRun{sessionRun: shared, cl: cl}
	rep := &FailoverReport{Login: cfg.Login, Sessions: cfg.Sessions, Rooms: cfg.Rooms, Rate: cfg.Rate,
		Duration: cfg.Duration.Seconds(), NATS: cl.nats.ClientURLs()}
	rep.Servers = cl.reported()
	rampStart := time.Now()
	rep.Up = run.ramp()
	rep.RampSec = time.Since(rampStart).Seconds()
	t0 := time.Now().Add(goMargin)
	load := run.startLoad(t0, run.progressLine(t0, progressW))
	time.Sleep(time.Until(t0.Add(cfg.KillAfter)))
	victims, killedAt, killErr := run.kill(failoverVictim)
	if killErr == nil {
		rep.Killed, rep.KillAt = cl.servers[failoverVictim].name, killedAt.Sub(t0).Seconds()
		time.Sleep(time.Until(t0.Add(cfg.Duration)))
		waitBackAll(victims, time.Now().Add(run.backWait()))
		load.drain()
	}
	load.end()
	if killErr != nil {
		return nil, killErr
	}
	var back []time.Duration
	for _, s := range victims {
		rep.Unanswered += s.unanswered.Load()
		if d, ok := backAfter(s.ups, killedAt); ok {
			back = append(back, d)
		}
	}
	rep.FailoverTiming = failoverTiming(back, len(victims), failoverTarget)
	run.report(&rep.Deliveries)
	return rep, nil
}

// kill kills server i with SIGKILL, for good, and returns the sessions
// that were up on it, and when it was gone. The run's epoch becomes 1
// just before the kill, since a session sees its connection end as soon
// as the process is gone and may start its next one at once: a session
// is back once it is up on a connection made after that.
func (run *failoverRun) kill(i int) (victims []*crashSession, at time.Time, err error) {
	for _, s := range run.sessions {
		s.mu.Lock()
		on := s.up && s.server == i
		s.mu.Unlock()
		if on {
			victims = append(victims, s)
		}
	}
	cs := run.cl.servers[i]
	cs.setDown(true)
	run.epoch.Store(1)
	if err := cs.srv.Kill(); err != nil {
		return nil, at, fmt.Errorf("kill chat server %s: %w", cs.name, err)
	}
	return victims, time.Now(), nil
}

// waitBackAll waits until every one of sessions is back in its room on a
// connection made after the kill, or until deadline.
func waitBackAll(sessions []*crashSession, deadline time.Time) {
	for time.Now().Before(deadline) {
		back := 0
		for _, s := range sessions {
			if !s.resuming.Load() && s.backEpoch.Load() >= 1 {
				back++
			}
		}
		if back == len(sessions) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// backAfter is how long after t a session's first stretch in its room
// that began after t began: when it was back, resumed. ok is false if it
// never was.
func backAfter(ups []upSpan, t time.Time) (d time.Duration, ok bool) {
	for _, u := range ups {
		if u.from.After(t) {
			return u.from.Sub(t), true
		}
	}
	return 0, false
}

// progressLine is the failover run's line a second on w.
func (run *failoverRun) progressLine(t0 time.Time, w io.Writer) func(sessionCounts) {
	return func(n sessionCounts) {
		fmt.Fprintf(w, "loadgen %6.1fs failover  killed %d  up %d/%d  resuming %d  acknowledged %d  shown %d\n",
			max(time.Since(t0), 0).Seconds(), run.epoch.Load(), n.up, run.cfg.Sessions, n.resuming, n.acked, n.shown)
	}
}

// WriteFailoverReport prints the failover run's report: the kill, the
// times back, and what the checker found.
func WriteFailoverReport(w io.Writer, r *FailoverReport) {
	var names []string
	for _, s := range r.Servers {
		names = append(names, s.Name+" "+s.Addr)
	}
	fmt.Fprintf(w, "failover: %d sessions in %d rooms, %s login, %.0f msgs/s for %.1fs, chat servers %s on NATS %s\n",
		r.Sessions, r.Rooms, r.Login, r.Rate, r.Duration, strings.Join(names, ", "), strings.Join(r.NATS, ","))
	fmt.Fprintf(w, "sessions up: %d of %d, ramp %.1fs\n", r.Up, r.Sessions, r.RampSec)
	fmt.Fprintf(w, "kill: %s at %.2fs (SIGKILL, not restarted): %d sessions were on it, %d Says unanswered\n",
		r.Killed, r.KillAt, r.OnKilled, r.Unanswered)
	fmt.Fprintf(w, "back in their rooms on another server: %d of %d, %d within %.0fs; first %.0f ms, p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
		r.Back, r.OnKilled, r.Within, r.TargetS, r.FirstMS, r.P50MS, r.P99MS, r.MaxMS)
	writeDeliveries(w, &r.Deliveries)
}

// errFailoverNeedsSpawn refuses a failover run against a server loadgen
// did not start: it starts the cluster and kills one of its servers.
var errFailoverNeedsSpawn = errors.New("the failover profile starts its chat servers on a NATS cluster of its own and kills one, so it needs -spawn-server PATH, not -addr")

// failover is Main for the failover profile: it starts the cluster, runs,
// and prints the report.
func (m *mainFlags) failover(stdout, stderr io.Writer, spawned *stoppers) int {
	if m.spawn == "" || m.cfg.Addr != "" {
		return exitStatus(stderr, usageError{errFailoverNeedsSpawn})
	}
	if err := m.checkClusterArgs(); err != nil {
		return exitStatus(stderr, usageError{err})
	}
	if err := m.validateUnstarted(); err != nil {
		return exitStatus(stderr, err)
	}
	cl, err := startChatCluster(m.cfg.Servers, m.clusterSpawn(), spawned)
	if err != nil {
		return exitStatus(stderr, err)
	}
	defer cl.close(stderr)
	rep, err := RunFailover(m.cfg, cl, stderr)
	if err != nil {
		return exitStatus(stderr, err)
	}
	WriteFailoverReport(stdout, rep)
	return m.finish(stderr, rep)
}

// validateFailover checks what the failover profile needs.
func (c *Config) validateFailover(bad func(string, ...any)) {
	c.validateOverServers(bad, "the killed server's sessions go to another",
		", as chaos does: a login elsewhere takes a session over, a guest's claim of a name another node holds is refused")
	if c.KillAfter <= 0 || c.KillAfter >= c.Duration {
		bad("-kill-after must be within -duration (%v), not %v", c.Duration, c.KillAfter)
	}
	if c.Procs != 1 {
		bad("%s runs in one process (-procs 1), whose checker sees every session: use fewer sessions than its descriptor limit", ProfileFailover)
	}
}
