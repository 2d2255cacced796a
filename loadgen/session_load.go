package loadgen

import (
	"sync"
	"time"
)

// The crash, chaos and failover runs load their sessions alike once the
// ramp has them in their rooms: from t0 each session with messages in the
// schedule has a sender, a progress line a second says how the sessions
// are doing, and at the end the senders get the drain to send what was
// due before the sessions are closed. Each run does its own faults in
// between and words its own progress line.

// sessionLoad is the senders and the progress line of a run's sessions.
type sessionLoad struct {
	run          *sessionRun
	stop         chan struct{} // closed by end: the senders and the run's faults stop
	senders      sync.WaitGroup
	stopProgress func()
}

// startLoad starts a sender for each session that came up and has
// messages in the schedule from t0, and calls line with the sessions'
// counts once a second unless the run is quiet.
func (run *sessionRun) startLoad(t0 time.Time, line func(sessionCounts)) *sessionLoad {
	cfg := &run.cfg
	l := &sessionLoad{run: run, stop: make(chan struct{})}
	sched := newSchedule(t0, cfg.Duration, cfg.Rate, uint32(cfg.Sessions))
	for _, s := range run.sessions {
		if s.ready.Load() && sched.count(s.id) > 0 {
			l.senders.Add(1)
			go func() {
				defer l.senders.Done()
				pace(sched, s.id, realClock{}, l.stop, func(seq uint32, due time.Time) error { return s.say(seq, due, l.stop) })
			}()
		}
	}
	l.stopProgress = run.progressLines(line)
	return l
}

// drain gives the senders until the end of the drain to send what was due
// (open loop), and awaits the replies and the deliveries meanwhile.
func (l *sessionLoad) drain() {
	drainEnd := time.Now().Add(l.run.cfg.Drain)
	if !waitTimeout(&l.senders, time.Until(drainEnd)) {
		l.run.errs.add("senders still behind at the end of the drain")
	}
	l.run.drain(drainEnd)
}

// end stops the senders, closes the sessions and waits for both, then
// stops the progress line.
func (l *sessionLoad) end() {
	close(l.stop)
	l.run.close()
	l.senders.Wait()
	l.stopProgress()
}

// sessionCounts is what a run's progress line says of its sessions.
type sessionCounts struct {
	up         uint64 // in their rooms, not resuming
	resuming   uint64
	sent       uint64 // Says
	acked      uint64
	unanswered uint64 // Says pending when their connection ended
	shown      uint64 // messages from others
}

// counts sums the sessions' counts as they are now.
func (run *sessionRun) counts() sessionCounts {
	var n sessionCounts
	for _, s := range run.sessions {
		if s.ready.Load() && !s.resuming.Load() {
			n.up++
		}
		if s.resuming.Load() {
			n.resuming++
		}
		s.mu.Lock()
		n.sent += uint64(len(s.says))
		s.mu.Unlock()
		n.acked += s.acked.Load()
		n.shown += s.fromOthers.Load()
	}
	n.unanswered = run.unanswered()
	return n
}

// progressLines calls line with the sessions' counts once a second unless
// the run is quiet; the function it returns stops it, once a line under
// way is done.
func (run *sessionRun) progressLines(line func(sessionCounts)) (stop func()) {
	if run.cfg.Quiet {
		return func() {}
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		everySecond(quit, func() { line(run.counts()) })
	}()
	return func() {
		close(quit)
		<-finished
	}
}
