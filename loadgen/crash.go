package loadgen

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"chat/internal/wire"
)

// The crash profile is the acceptance test of the server's durable history:
// rooms traffic as the rooms profile's, while the server loadgen started is
// killed with SIGKILL and started again on the same state directory and
// address, -kills times, evenly over the run. Every session resumes as the
// chat client does (crash_session.go) and the checker (crash_check.go)
// judges what every session sent and was shown. The run stays in one
// process: the checker needs every session's record.

// crashRun is one crash run. The kill loop runs on the caller's goroutine;
// each session has its reader and its sender.
type crashRun struct {
	*sessionRun
	srv *SpawnedServer
}

// sessionRun is what the sessions of a crash, chaos or failover run
// share: the run's configuration, the servers they connect to, the
// sessions, and what went wrong. Each run embeds it; the sessions
// (crash_session.go), their load (session_load.go) and the checker
// (crash_check.go) are the same for all three.
type sessionRun struct {
	cfg Config
	// addrs are the servers; session i starts on addrs[(i/Rooms) %
	// len(addrs)], so that each room has members on every server, and
	// after a loss or a failed attempt moves to the next, as the chat
	// client fails over.
	addrs    []string
	tls      *tls.Config
	sessions []*crashSession
	// aside, if set, is shown what a session's reader gets beyond what
	// the session itself needs: notices, a Bye, replies to requests the
	// session did not make (the chaos run's probes). It runs on the
	// reader's goroutine and must not block.
	aside func(s *crashSession, f *wire.Frame)
	// passwordOnly makes every login the password's, with no resume
	// token: a server without a store makes a new token key at each
	// start, so every token of the one killed would be refused, and each
	// refusal counts as a wrong password from loadgen's one address,
	// which the server's throttle then holds back for up to half a minute.
	passwordOnly bool

	epoch   atomic.Int64 // crash: kills done (the process gone)
	closing atomic.Bool
	done    chan struct{} // closed when closing is set
	errs    errCounts     // what went wrong, by kind
	retries errCounts     // failed attempts to set up or resume, by kind
	losses  errCounts     // connections that ended, by how
	readers sync.WaitGroup
}

// newSessionRun is the shared part of a run against addrs.
func newSessionRun(cfg Config, addrs []string) (*sessionRun, error) {
	run := &sessionRun{cfg: cfg, addrs: addrs, done: make(chan struct{})}
	if cfg.TLS != nil {
		var err error
		if run.tls, err = cfg.TLS.clientConfig(cfg.Addr); err != nil {
			return nil, err
		}
	}
	return run, nil
}

// RunCrash runs the crash profile against srv, which it kills and restarts;
// cfg.Addr is srv's. stateDir is only reported. Progress lines go to
// progressW unless cfg.Quiet.
func RunCrash(cfg Config, srv *SpawnedServer, stateDir string, progressW io.Writer) (*CrashReport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	shared, err := newSessionRun(cfg, []string{cfg.Addr})
	if err != nil {
		return nil, err
	}
	run := &crashRun{sessionRun: shared, srv: srv}
	run.passwordOnly = stateDir == ""
	rep := &CrashReport{Addr: cfg.Addr, StateDir: stateDir, Login: cfg.Login, Sessions: cfg.Sessions, Rooms: cfg.Rooms,
		Rate: cfg.Rate, Duration: cfg.Duration.Seconds()}
	rep.Up = run.ramp()
	t0 := time.Now().Add(goMargin)
	load := run.startLoad(t0, run.progressLine(t0, progressW))
	kills, killErr := run.kills(t0)
	rep.Kills = kills
	if killErr == nil {
		time.Sleep(time.Until(t0.Add(cfg.Duration)))
		load.drain()
	}
	load.end()
	if killErr != nil {
		return nil, killErr
	}
	run.report(&rep.Deliveries)
	return rep, nil
}

// maxSettingUp bounds the sessions the ramp has setting up at once. An
// account's first login is a password check, tens of milliseconds of a
// core: the failover profile's fifteen thousand, opened at the ramp's
// rate, would queue on the servers past -timeout and give up. Bounded,
// the ramp takes as long as the checks take.
const maxSettingUp = 64

// ramp opens the sessions over cfg.Ramp, at most maxSettingUp setting up
// at once, waits until each is in its room or has given up, and returns
// how many are in their rooms.
func (run *sessionRun) ramp() (up int) {
	cfg := &run.cfg
	var ramp sync.WaitGroup
	settingUp := make(chan struct{}, maxSettingUp)
	interval := cfg.Ramp / time.Duration(cfg.Sessions)
	start := time.Now()
	for i := range uint32(cfg.Sessions) {
		s := newCrashSession(run, i)
		run.sessions = append(run.sessions, s)
		if d := time.Until(start.Add(interval * time.Duration(i))); d > time.Millisecond {
			time.Sleep(d)
		}
		settingUp <- struct{}{}
		ramp.Add(1)
		run.readers.Add(1)
		go s.life(func() {
			<-settingUp
			ramp.Done()
		})
	}
	ramp.Wait()
	for _, s := range run.sessions {
		if s.ready.Load() {
			up++
		}
	}
	return up
}

// kills kills the server cfg.Kills times, at t0 + k·Duration/(Kills+1),
// and starts it again at once; a quarter of the interval before each kill
// it sends -away of the sessions away. The kills keep their times whatever
// the sessions do: one still resuming from the last kill is cut again,
// which the resume protocol must survive too. It returns what each kill
// did, and an error if the server did not come back.
func (run *crashRun) kills(t0 time.Time) ([]CrashKill, error) {
	cfg := &run.cfg
	every := cfg.Duration / time.Duration(cfg.Kills+1)
	var out []CrashKill
	for k := 1; k <= cfg.Kills; k++ {
		at := t0.Add(time.Duration(k) * every)
		time.Sleep(time.Until(at.Add(-every / 4)))
		away := run.sendAway(k)
		time.Sleep(time.Until(at))
		unanswered := run.unanswered()
		killedAt := time.Now()
		if err := run.srv.Kill(); err != nil {
			return out, err
		}
		run.epoch.Store(int64(k))
		if err := run.srv.Restart(); err != nil {
			return out, fmt.Errorf("after kill %d: %w", k, err)
		}
		kill := CrashKill{N: k, AtSec: killedAt.Sub(t0).Seconds(), RestartMS: ms(time.Since(killedAt)), Away: away}
		// Wait for the sessions until the next kill's cut, or after the
		// last kill as long as the run allows them.
		until := at.Add(every - every/4)
		if k == cfg.Kills {
			until = killedAt.Add(run.backWait())
		}
		kill.Back, kill.Of = run.waitBack(int64(k), until)
		if kill.Back == kill.Of {
			kill.AllBackSec = time.Since(killedAt).Seconds()
		}
		// The Says the kill left without a reply become unknown as each
		// session notices the kill, at once.
		kill.Unanswered = run.unanswered() - unanswered
		out = append(out, kill)
	}
	return out, nil
}

// sendAway cuts the connections of cfg.Away of the sessions before kill k,
// a different run of consecutive sessions (so of every room) each time;
// they come back only once the server has been killed and restarted, and
// what was said meanwhile can reach them only from the history the server
// kept. It returns how many it cut.
func (run *crashRun) sendAway(k int) int {
	n := int(math.Round(run.cfg.Away * float64(len(run.sessions))))
	cut := 0
	for i := range n {
		s := run.sessions[((k-1)*n+i)%len(run.sessions)]
		if !s.ready.Load() || s.awayUntil.Load() >= int64(k) {
			continue
		}
		s.awayUntil.Store(int64(k))
		s.closeConn()
		cut++
	}
	return cut
}

// backWait bounds the wait for the sessions to come back after the last
// kill: every session logs in again, and password checks take tens of
// milliseconds each on the server.
func (run *sessionRun) backWait() time.Duration { return 2 * run.cfg.Timeout }

// waitBack waits until every session that came up in the ramp is back in
// its room on a connection made after epoch kills, or until deadline; it
// returns how many are, of how many.
func (run *sessionRun) waitBack(epoch int64, deadline time.Time) (back, of int) {
	for {
		back, of = 0, 0
		for _, s := range run.sessions {
			if !s.ready.Load() {
				continue
			}
			of++
			if !s.resuming.Load() && s.backEpoch.Load() >= epoch {
				back++
			}
		}
		if back == of || !time.Now().Before(deadline) {
			return back, of
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// unanswered is how many Says were pending when their connection ended.
func (run *sessionRun) unanswered() uint64 {
	var n uint64
	for _, s := range run.sessions {
		n += s.unanswered.Load()
	}
	return n
}

// drain waits until deadline for every Say's reply and for every session
// to have as many messages from others as its room's other members had
// acknowledged, then for the deliveries to go quiet.
func (run *sessionRun) drain(deadline time.Time) {
	var last uint64
	quietSince := time.Now()
	for time.Now().Before(deadline) {
		acked := make([]uint64, run.cfg.Rooms)
		for _, s := range run.sessions {
			acked[s.room] += s.acked.Load()
		}
		done := true
		var all uint64
		for _, s := range run.sessions {
			if !s.ready.Load() {
				continue
			}
			got := s.fromOthers.Load()
			all += got
			if s.pendingSays() > 0 || s.resuming.Load() || got < acked[s.room]-s.acked.Load() {
				done = false
			}
		}
		if all != last {
			last, quietSince = all, time.Now()
		}
		if done && time.Since(quietSince) >= quietPeriod {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// close ends the sessions and waits for their readers.
func (run *sessionRun) close() {
	run.closing.Store(true)
	close(run.done)
	for _, s := range run.sessions {
		s.closeConn()
	}
	run.readers.Wait()
}

// sleep waits d, or less if the run closes; it reports false then.
func (run *sessionRun) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-run.done:
		return false
	}
}

// progressLine is the crash run's line a second on w.
func (run *crashRun) progressLine(t0 time.Time, w io.Writer) func(sessionCounts) {
	return func(n sessionCounts) {
		fmt.Fprintf(w, "loadgen %6.1fs crash  kills %d/%d  up %d/%d  sent %d  acknowledged %d  unanswered %d  shown %d\n",
			max(time.Since(t0), 0).Seconds(), run.epoch.Load(), run.cfg.Kills, n.up, run.cfg.Sessions,
			n.sent, n.acked, n.unanswered, n.shown)
	}
}

// report fills rep from the sessions' records, once their goroutines are
// done, with the checker's verdict.
func (run *sessionRun) report(rep *Deliveries) {
	var members []crashMember
	for _, s := range run.sessions {
		if !s.ready.Load() {
			rep.Violations = append(rep.Violations, CrashViolation{Kind: violFailed,
				Text: fmt.Sprintf("%s never came up in %s", s.name, s.roomName)})
			continue
		}
		members = append(members, s.member())
		rep.Sent += uint64(len(s.says))
		rep.Recreated += s.recreated.Load()
	}
	v := checkCrash(members, func(r uint32) string { return run.cfg.roomName(r) })
	rep.Acked, rep.Refused, rep.Unknown, rep.UnsureShown = v.Acked, v.Refused, v.Unknown, v.UnsureShown
	rep.Delivered, rep.Expected, rep.Found = v.Delivered, v.Expected, v.Found
	rep.Violations = append(rep.Violations, v.Violations...)
	rep.Errors, rep.Retries, rep.Losses = run.errs.snapshot(), run.retries.snapshot(), run.losses.snapshot()
}

// errNeedsSpawn refuses a crash run against a server loadgen did not
// start: it cannot kill and restart it.
var errNeedsSpawn = errors.New("the crash profile kills and restarts the server, so it needs -spawn-server PATH, not -addr")

// crash is Main for the crash profile: it starts the server on its state
// directory, runs, and prints the report.
func (m *mainFlags) crash(stdout, stderr io.Writer, spawned *stoppers) int {
	if m.spawn == "" {
		return exitStatus(stderr, usageError{errNeedsSpawn})
	}
	for _, a := range strings.Fields(m.serverArgs) {
		if a == "-state" || strings.HasPrefix(a, "-state=") || a == "--state" || strings.HasPrefix(a, "--state=") {
			return exitStatus(stderr, usageError{errors.New("give the crash profile's state directory with loadgen's -state, not in -server-args")})
		}
	}
	if err := m.validateUnstarted(); err != nil {
		return exitStatus(stderr, err)
	}
	stateDir, temporary := m.stateDir, false
	switch stateDir {
	case "":
		dir, err := os.MkdirTemp("", "loadgen-state-")
		if err != nil {
			return exitStatus(stderr, fmt.Errorf("make the server's state directory: %w", err))
		}
		defer os.RemoveAll(dir)
		stateDir, temporary = dir, true
	case "none":
		stateDir = ""
	}
	args := spawnArgs(&m.cfg, m.serverArgs)
	if stateDir != "" {
		args = append([]string{"-state", stateDir}, args...)
	}
	// A restart recovers the state directory first: it may take longer.
	srv, stop, err := m.startSpawned(args, max(10*time.Second, m.cfg.Timeout), spawned, stderr)
	if err != nil {
		return exitStatus(stderr, err)
	}
	defer stop()
	rep, err := RunCrash(m.cfg, srv, stateDir, stderr)
	if err != nil {
		return exitStatus(stderr, err)
	}
	rep.StateTemporary = temporary
	WriteCrashReport(stdout, rep)
	return m.finish(stderr, rep)
}
