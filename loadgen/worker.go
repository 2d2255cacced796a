package loadgen

import (
	"crypto/tls"
	"errors"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// A worker runs one process's share of a run: the stable sessions whose
// index modulo Of is Index, and the same share of the churn sessions. The
// parent drives its workers (in process, or in child processes) through the
// same messages: the worker ramps up and reports ready, the parent answers
// with a go command carrying the common start and end times, and the worker
// reports its part of the result.

// share says which sessions a worker owns.
type share struct {
	Index, Of int
}

// command is the parent's word to a worker after the ramp.
type command struct {
	Kind string    // "go", or "abort" to end without running
	T0   time.Time // start of the measured run, the same for every worker
	End  time.Time // end of sending
	// Down lists the stable sessions of the whole run that did not come up:
	// they send nothing and expect nothing.
	Down []uint32
}

// report is a worker's word to the parent.
type report struct {
	Kind     string     `json:"kind"` // progress, ready, result or error
	Progress *progress  `json:",omitempty"`
	Ready    *readyInfo `json:",omitempty"`
	Result   *part      `json:",omitempty"`
	Error    string     `json:",omitempty"`
}

// progress is a worker's running totals, sent every second.
type progress struct {
	Phase        string
	Up, Failed   int
	Sent, Acked  uint64
	Deliveries   uint64
	Errors       uint64
	MaxLatencyUS int64 // largest latency since the previous report
	StormBack    int
	ChurnDone    uint64
}

type readyInfo struct {
	Up, Failed int
	Down       []uint32
	CPU        time.Duration // this process's CPU during the ramp
	// The ramp from its first dial to its last session up or failed:
	// the storm itself, without the process's start.
	RampStart, RampEnd time.Time
}

// Stripes of the latency and send-lag histograms, and of the rarely used
// ones (connect, login, reconnect: once per session).
const (
	hotStripes  = 64
	coldStripes = 8
)

// maxChurnInFlight bounds the churn sessions alive at once in one worker, so
// a server that stops answering cannot make loadgen open sockets without end.
const maxChurnInFlight = 1000

// quietPeriod is how long the drain waits with no new delivery before it
// decides the rest is not coming.
const quietPeriod = 200 * time.Millisecond

type worker struct {
	cfg      Config
	sh       share
	tls      *tls.Config // nil for plain TCP; shared by all the process's connections
	proto    protocol    // what the stable sessions speak
	sessions []*session
	// setupSlots holds a token for each session being set up, when
	// cfg.SetupInFlight bounds them; nil otherwise.
	setupSlots chan struct{}

	connectHist, loginHist, latency, sendLag, reconnectHist *stripedHist
	errs                                                    errCounts
	retries                                                 errCounts // refusals that were retried

	phase     atomic.Value // string, for progress lines
	up        atomic.Int64
	failed    atomic.Int64
	closing   atomic.Bool
	misrouted atomic.Uint64
	readers   sync.WaitGroup

	expected uint64 // from stable senders to this worker's stable sessions
	stormCut int

	stormAt      atomic.Int64 // Unix ns of the cut
	stormBack    atomic.Int64
	stormLost    atomic.Int64 // cut sessions that did not come back
	stormResumed atomic.Int64 // those back whose TLS handshake resumed a session

	handshakes, resumed atomic.Uint64 // TLS handshakes done, and those that resumed

	churnStarted, churnDone                      atomic.Uint64
	churnSent, churnAcked, churnDeliveries       atomic.Uint64
	churnExpected, churnDuplicates, churnReorder atomic.Uint64
}

// newWorker makes the worker of share sh; tlsCfg is the process's TLS
// client configuration, nil for plain TCP.
func newWorker(cfg Config, sh share, tlsCfg *tls.Config) *worker {
	w := &worker{
		cfg:           cfg,
		sh:            sh,
		tls:           tlsCfg,
		proto:         protocolFor(cfg.Proto),
		connectHist:   newStripedHist(coldStripes),
		loginHist:     newStripedHist(coldStripes),
		reconnectHist: newStripedHist(coldStripes),
		latency:       newStripedHist(hotStripes),
		sendLag:       newStripedHist(hotStripes),
	}
	w.phase.Store("ramp")
	if cfg.SetupInFlight > 0 {
		w.setupSlots = make(chan struct{}, cfg.SetupInFlight)
	}
	for i := sh.Index; i < cfg.Sessions; i += sh.Of {
		w.sessions = append(w.sessions, newSession(w, uint32(i), true))
	}
	return w
}

// run is the worker's whole life. It returns after sending its result (or
// an error report).
func (w *worker) run(cmds <-chan command, out func(report)) {
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go w.progressLoop(out, stopProgress, progressDone)
	defer func() {
		close(stopProgress)
		<-progressDone
	}()

	before, errBefore := readProc("/proc", os.Getpid())
	rampStart := time.Now()
	w.ramp()
	rampEnd := time.Now()
	// The ramp's garbage (a TLS handshake leaves tens of KB) and the
	// stacks its handshakes grew would otherwise stay in this process's
	// RSS for the whole run, the sessions being too quiet to bring a
	// collection about; collect once, before the measured run.
	debug.FreeOSMemory()
	ready := &readyInfo{Up: int(w.up.Load()), Failed: int(w.failed.Load()), RampStart: rampStart, RampEnd: rampEnd}
	if after, err := readProc("/proc", os.Getpid()); err == nil && errBefore == nil {
		ready.CPU = after.CPU - before.CPU
	}
	for _, s := range w.sessions {
		if !s.up.Load() {
			ready.Down = append(ready.Down, s.id)
		}
	}
	out(report{Kind: "ready", Ready: ready})

	cmd, ok := <-cmds
	if !ok || cmd.Kind != "go" {
		w.shutdown()
		out(report{Kind: "error", Error: "aborted before the run"})
		return
	}
	out(report{Kind: "result", Result: w.measure(cmd)})
}

// ramp opens the worker's sessions at their places in the run's ramp and
// waits until each is in its room or has failed.
func (w *worker) ramp() {
	var setup sync.WaitGroup
	interval := w.cfg.Ramp / time.Duration(w.cfg.Sessions)
	start := time.Now()
	for _, s := range w.sessions {
		// Sleep only when it is worth a timer; otherwise start at once and
		// let the absolute due times catch up.
		if d := time.Until(start.Add(interval * time.Duration(s.id))); d > time.Millisecond {
			time.Sleep(d)
		}
		setup.Add(1)
		w.readers.Add(1)
		go s.life(&setup)
	}
	setup.Wait()
}

// life is a stable session's goroutine: set up, then read until the run
// ends, reconnecting once if the storm cut it.
func (s *session) life(setup *sync.WaitGroup) {
	w := s.w
	defer w.readers.Done()
	if err := w.setup(s); err != nil {
		w.failed.Add(1)
		w.errs.add("setup: " + errKind(err))
		s.closeConn()
		setup.Done()
		return
	}
	s.up.Store(true)
	w.up.Add(1)
	setup.Done()
	for {
		err := w.proto.readLoop(s)
		if w.closing.Load() {
			return
		}
		if s.reconnect.CompareAndSwap(true, false) {
			if err := w.setup(s); err != nil {
				w.stormLost.Add(1)
				if !w.closing.Load() {
					w.errs.add("reconnect: " + errKind(err))
				}
				s.lost()
				return
			}
			w.reconnectHist.record(s.id, time.Since(time.Unix(0, w.stormAt.Load())))
			if _, resumed := tlsState(s.conn()); resumed {
				w.stormResumed.Add(1)
			}
			w.stormBack.Add(1)
			continue
		}
		if !errors.Is(err, errBye) { // a Bye was counted with its reason
			w.errs.add("connection lost: " + errKind(err))
		}
		s.lost()
		return
	}
}

// setup sets s up in the run's protocol, waiting first for a slot when
// the sessions being set up at once are bounded.
func (w *worker) setup(s *session) error {
	if w.setupSlots != nil {
		w.setupSlots <- struct{}{}
		defer func() { <-w.setupSlots }()
	}
	return w.proto.setup(s)
}

func (s *session) lost() {
	s.up.Store(false)
	s.w.up.Add(-1)
	s.closeConn()
}

// measure runs the profile from cmd.T0, drains, and returns the part.
func (w *worker) measure(cmd command) *part {
	cfg := &w.cfg
	sched := newSchedule(cmd.T0, cmd.End.Sub(cmd.T0), cfg.Rate, uint32(cfg.Sessions))
	down := make(map[uint32]bool, len(cmd.Down))
	for _, id := range cmd.Down {
		down[id] = true
	}
	upMembers := make([]uint64, cfg.Rooms)
	roomSent := make([]uint64, cfg.Rooms)
	for i := range uint32(cfg.Sessions) {
		if !down[i] {
			upMembers[i%uint32(cfg.Rooms)]++
			roomSent[i%uint32(cfg.Rooms)] += sched.count(i)
		}
	}
	var expected uint64 // from stable senders to this worker's stable receivers
	for _, s := range w.sessions {
		if !down[s.id] {
			s.expected = roomSent[s.room] - sched.count(s.id)
			expected += s.expected
		}
	}

	w.expected = expected

	// The senders start before the run and wait for their first message's
	// time: started at T0, creating thousands of goroutines and their
	// stacks would make the run's first messages late. Only sessions with
	// a message to send get one: at a low rate most send none in a short
	// run.
	stop := make(chan struct{})
	var senders, churners sync.WaitGroup
	for _, s := range w.sessions {
		if s.up.Load() && sched.count(s.id) > 0 {
			senders.Add(1)
			go w.send(s, sched, stop, &senders)
		}
	}

	time.Sleep(time.Until(cmd.T0))
	w.phase.Store("run")
	self, selfErr := readProc("/proc", os.Getpid())
	runStart := time.Now()
	if cfg.Profile == ProfileChurn {
		churners.Add(1)
		go w.churn(cmd.T0, upMembers, stop, &churners)
	}
	if cfg.Profile == ProfileReconnect {
		w.storm(cmd.T0, cmd.End)
	}
	time.Sleep(time.Until(cmd.End))
	if cfg.Profile == ProfileOverload {
		return w.overloadEnd(cmd.End, stop, &senders, runStart, self, selfErr)
	}

	w.phase.Store("drain")
	// From now rather than from End: a reconnect storm may outlast the
	// run, and its drain still follows it.
	drainEnd := time.Now().Add(cfg.Drain)
	w.waitBehind(drainEnd, &senders, &churners)
	w.drain(expected, drainEnd)
	close(stop)
	w.shutdown()
	senders.Wait() // the closed connections end blocked writes
	churners.Wait()
	return w.runPart(runStart, self, selfErr)
}

// runPart is this worker's part of a run that began at runStart, when the
// worker's own /proc sample was self (selfErr if it could not be read).
func (w *worker) runPart(runStart time.Time, self procSample, selfErr error) *part {
	p := w.part()
	p.RunStart, p.RunEnd = runStart, time.Now()
	if end, err := readProc("/proc", os.Getpid()); err == nil && selfErr == nil {
		p.CPU = end.CPU - self.CPU
		p.RSSKB, p.HWMKB = end.RSSKB, end.HWMKB
	}
	return p
}

// overloadEnd ends an overload run: no message is due after end, so the
// load stops there; a sender that fell behind still sends what was due (the
// deliveries expected count every message, and a loaded loadgen is a few
// messages late), and the sessions stay until the drain's end, while the
// parent probes the server's recovery.
func (w *worker) overloadEnd(end time.Time, stop chan struct{}, senders *sync.WaitGroup, runStart time.Time, self procSample, selfErr error) *part {
	w.phase.Store("drain")
	drainEnd := end.Add(w.cfg.Drain)
	w.waitBehind(drainEnd, senders)
	close(stop)
	senders.Wait()
	time.Sleep(time.Until(drainEnd))
	w.shutdown()
	return w.runPart(runStart, self, selfErr)
}

// waitBehind waits until deadline for the goroutines of groups: a sender
// that fell behind still sends what was due (open loop), within the drain.
// One still sending at the deadline is counted as an error; the caller
// then stops it.
func (w *worker) waitBehind(deadline time.Time, groups ...*sync.WaitGroup) {
	behind := false
	for _, g := range groups {
		if !waitTimeout(g, time.Until(deadline)) {
			behind = true
		}
	}
	if behind {
		w.errs.add("senders still behind at the end of the drain")
	}
}

// send is a stable session's sender goroutine.
func (w *worker) send(s *session, sched schedule, stop <-chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	var buf []byte
	_, err := pace(sched, s.id, realClock{}, stop, func(seq uint32, due time.Time) error {
		var err error
		buf, err = s.say(seq, due, buf)
		return err
	})
	if err != nil && !w.closing.Load() {
		w.errs.add("send: " + errKind(err))
	}
}

// drain waits until this worker's stable sessions have every delivery from
// stable senders, then for the deliveries to go quiet (churn messages have
// no count to wait for), or until deadline.
func (w *worker) drain(expected uint64, deadline time.Time) {
	var last uint64
	quietSince := time.Now()
	for time.Now().Before(deadline) {
		var unique, all uint64
		for _, s := range w.sessions {
			unique += s.unique.Load()
			all += s.deliveries.Load()
		}
		all += w.churnDeliveries.Load()
		if all != last {
			last, quietSince = all, time.Now()
		}
		if unique >= expected && time.Since(quietSince) >= quietPeriod {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// shutdown closes every connection and waits for the readers.
func (w *worker) shutdown() {
	w.closing.Store(true)
	for _, s := range w.sessions {
		s.closeConn()
	}
	w.readers.Wait()
}

// part collects the worker's result once its readers are done.
func (w *worker) part() *part {
	p := &part{
		Up:        int(w.up.Load()),
		Failed:    int(w.failed.Load()),
		Connect:   exportHist(w.connectHist.merged()),
		Login:     exportHist(w.loginHist.merged()),
		Latency:   exportHist(w.latency.merged()),
		SendLag:   exportHist(w.sendLag.merged()),
		Reconnect: exportHist(w.reconnectHist.merged()),
		Misrouted: w.misrouted.Load(),
		Errors:    w.errs.snapshot(),
		Retries:   w.retries.snapshot(),

		Sent:         w.churnSent.Load(),
		Acked:        w.churnAcked.Load(),
		Deliveries:   w.churnDeliveries.Load(),
		Expected:     w.churnExpected.Load(),
		Duplicates:   w.churnDuplicates.Load(),
		OutOfOrder:   w.churnReorder.Load(),
		ChurnStarted: w.churnStarted.Load(),
		ChurnDone:    w.churnDone.Load(),
		StormCut:     w.stormCut,
		StormBack:    int(w.stormBack.Load()),
		StormResumed: int(w.stormResumed.Load()),
		Handshakes:   w.handshakes.Load(),
		Resumed:      w.resumed.Load(),
	}
	for _, s := range w.sessions {
		p.Sent += s.sent.Load()
		p.Acked += s.acked.Load()
		p.Deliveries += s.deliveries.Load()
		p.Unique += s.unique.Load() + s.uniqueChurn.Load()
		p.Duplicates += s.chk.duplicates
		p.OutOfOrder += s.chk.outOfOrder
		if s.cut.Load() {
			p.CutSessions++
			p.CutExpected += s.expected
			p.CutUnique += s.unique.Load()
		}
	}
	p.Expected += w.expected
	return p
}

// waitTimeout waits for wg at most d and reports whether it finished.
func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}
