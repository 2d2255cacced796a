package loadgen

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// goMargin is how far ahead of now the parent sets the common start time,
// so every worker has the go command before it.
const goMargin = 100 * time.Millisecond

// Run runs cfg with cfg.Procs workers (child processes of exe when more
// than one) and returns the merged report. Progress lines go to progressW
// once a second unless cfg.Quiet.
func Run(cfg Config, exe string, progressW io.Writer) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &coordinator{cfg: cfg, reports: make(chan tagged, 16*cfg.Procs)}
	defer c.close()
	// Probe sessions are in before the load.
	if cfg.Profile == ProfileOverload || cfg.Profile == ProfileLogin {
		var err error
		if c.pp, err = dialProbePair(&c.cfg, cfg.probeName(0), cfg.probeName(1)); err != nil {
			return nil, err
		}
	}
	if cfg.Profile == ProfileLogin {
		c.startPinger()
	}
	if err := c.startWorkers(exe); err != nil {
		return nil, err
	}
	c.srv = &serverStats{pid: cfg.ServerPID}
	c.srv.sample(func(s procSample) { c.srv.rampStart = s })
	c.pr = newProgressPrinter(cfg, progressW, c.srv)
	c.tick = time.NewTicker(time.Second)

	rampStart := time.Now()
	down, rampCPU, err := c.awaitReady(rampStart)
	if err != nil {
		return nil, err
	}
	ramp := time.Since(rampStart)
	storm := c.stopPinger(ramp)
	var baseline []time.Duration
	if cfg.Profile == ProfileOverload {
		if baseline, err = c.probeBaseline(); err != nil {
			return nil, err
		}
	}
	total, probed, err := c.runWorkers(down)
	if err != nil {
		return nil, err
	}
	r := newReport(&c.cfg, total, ramp, c.srv)
	if storm != nil {
		storm.Logins = r.Up
		if storm.Seconds > 0 {
			storm.LoginsPerSec = float64(r.Up) / storm.Seconds
		}
		r.LoginStorm = storm
	}
	if r.Overload != nil {
		res := <-probed
		r.Overload.RSSBeforeMB = mb(c.srv.runStart.RSSKB)
		res.fill(r.Overload, baseline)
	}
	r.Loadgen.CPURamp = 100 * float64(rampCPU) / float64(ramp)
	return r, nil
}

// coordinator is the parent's side of one run: its workers, the probes and
// the server's samples. Run's goroutine owns it; the pinger only reads pp.a.
type coordinator struct {
	cfg     Config
	reports chan tagged
	handles []*workerHandle
	live    int // workers that have not reported their exit
	pp      *probePair
	srv     *serverStats
	pr      *progressPrinter
	tick    *time.Ticker // progress lines and server samples

	stopPing chan struct{} // nil unless the pinger runs
	pingDone chan pingResult
}

// pingResult is what the login storm's pinger measured.
type pingResult struct {
	rtts []time.Duration
	err  error
}

// close stops the pinger and every worker still running and collects them,
// so no child outlives the run, whatever Run returns.
func (c *coordinator) close() {
	if c.tick != nil {
		c.tick.Stop()
	}
	for _, h := range c.handles {
		if h != nil {
			h.stop()
		}
	}
	for c.live > 0 {
		if t := <-c.reports; t.r.Kind == "exit" {
			c.live--
		}
	}
	if c.stopPing != nil {
		close(c.stopPing)
	}
	if c.pp != nil {
		c.pp.close()
	}
}

// startPinger pings the server from a probe during the login storm.
func (c *coordinator) startPinger() {
	c.stopPing = make(chan struct{})
	c.pingDone = make(chan pingResult, 1)
	go func() {
		rtts, err := pinger(c.pp.a, c.cfg.Timeout, c.stopPing)
		c.pingDone <- pingResult{rtts, err}
	}()
}

// stopPinger ends the pinger, if it runs, and reports what it measured
// over the ramp.
func (c *coordinator) stopPinger(ramp time.Duration) *LoginStormReport {
	if c.stopPing == nil {
		return nil
	}
	close(c.stopPing)
	c.stopPing = nil
	pr := <-c.pingDone
	storm := &LoginStormReport{Pings: len(pr.rtts), Seconds: ramp.Seconds()}
	h := newHist()
	for _, d := range pr.rtts {
		h.RecordValue(micros(d))
	}
	storm.Ping = summarize(exportHist(h))
	if pr.err != nil {
		storm.ProbeError = pr.err.Error()
	}
	return storm
}

// startWorkers starts cfg.Procs workers: in this process when there is
// one, child processes of exe otherwise.
func (c *coordinator) startWorkers(exe string) error {
	c.handles = make([]*workerHandle, c.cfg.Procs)
	for i := range c.cfg.Procs {
		sh := share{Index: i, Of: c.cfg.Procs}
		if c.cfg.Procs == 1 {
			c.handles[i] = startInProcess(c.cfg, sh, c.reports)
		} else {
			h, err := startChild(exe, c.cfg, sh, c.reports)
			if err != nil {
				return err
			}
			c.handles[i] = h
		}
		c.live++
	}
	return nil
}

// nextReport returns the next report that is neither progress nor a
// worker's error, which ends the run. Meanwhile it prints progress (time
// since since) and samples the server on each tick, and at heldAt the
// server's held memory. It fails with late when guard fires first.
func (c *coordinator) nextReport(since time.Time, guard *time.Timer, heldAt <-chan time.Time, late string) (tagged, error) {
	for {
		select {
		case t := <-c.reports:
			switch t.r.Kind {
			case "progress":
				c.pr.update(t.index, t.r.Progress)
			case "error":
				return t, fmt.Errorf("worker %d: %s", t.index, t.r.Error)
			default:
				return t, nil
			}
		case <-c.tick.C:
			c.srv.sample(func(s procSample) { c.srv.last = s })
			c.pr.print(time.Since(since))
		case <-heldAt:
			c.srv.sample(func(s procSample) { c.srv.held, c.srv.last = s, s })
		case <-guard.C:
			return tagged{}, errors.New(late)
		}
	}
}

// awaitReady waits for every worker to report its sessions set up and
// returns the sessions that are down and the CPU the workers used.
func (c *coordinator) awaitReady(rampStart time.Time) (down []uint32, cpu time.Duration, err error) {
	guard := time.NewTimer(c.cfg.Ramp + 10*c.cfg.Timeout + 10*time.Second)
	defer guard.Stop()
	for ready := 0; ready < c.cfg.Procs; {
		t, err := c.nextReport(rampStart, guard, nil, "the ramp did not finish in time")
		if err != nil {
			return nil, 0, err
		}
		switch t.r.Kind {
		case "ready":
			if t.r.Ready == nil {
				return nil, 0, fmt.Errorf("worker %d sent a bad ready report", t.index)
			}
			ready++
			down = append(down, t.r.Ready.Down...)
			cpu += t.r.Ready.CPU
			c.pr.update(t.index, &progress{Phase: "ramp", Up: t.r.Ready.Up, Failed: t.r.Ready.Failed})
		case "exit":
			c.live--
			return nil, 0, fmt.Errorf("worker %d ended during the ramp: %s", t.index, t.r.Error)
		}
	}
	return down, cpu, nil
}

// probeBaseline is the probe's message latency before the overload.
func (c *coordinator) probeBaseline() ([]time.Duration, error) {
	var baseline []time.Duration
	for range 20 {
		lat, err := c.pp.message(c.cfg.Timeout)
		if err != nil {
			return nil, err
		}
		baseline = append(baseline, lat)
	}
	return baseline, nil
}

// runWorkers starts the run at a common time and merges the workers'
// results. For the overload profile, the probes measure the recovery
// meanwhile; their result comes on the channel.
func (c *coordinator) runWorkers(down []uint32) (*part, <-chan *overloadProbes, error) {
	cfg := &c.cfg
	t0 := time.Now().Add(goMargin)
	end := t0.Add(cfg.Duration)
	c.srv.sample(func(s procSample) { c.srv.runStart, c.srv.last = s, s })
	for i, h := range c.handles {
		if err := h.send(command{Kind: "go", T0: t0, End: end, Down: down}); err != nil {
			return nil, nil, fmt.Errorf("start worker %d: %w", i, err)
		}
	}
	c.pr.run()
	probed := make(chan *overloadProbes, 1)
	if cfg.Profile == ProfileOverload {
		until := end.Add(cfg.Drain - 500*time.Millisecond)
		go func() { probed <- probeOverload(c.pp, cfg.ServerPID, end, until, cfg.Timeout) }()
	}

	// What holding the sessions costs: the server's RSS near the end of
	// the run, after the ramp's garbage had time to go and before the
	// workers close anything.
	heldAt := time.NewTimer(time.Until(end.Add(-min(cfg.Duration/10, 200*time.Millisecond))))
	defer heldAt.Stop()
	guard := time.NewTimer(time.Until(end) + cfg.Drain + 12*cfg.Timeout + 10*time.Second)
	defer guard.Stop()
	var total part
	done := make([]bool, cfg.Procs)
	for results := 0; results < cfg.Procs; {
		t, err := c.nextReport(t0, guard, heldAt.C, "the workers did not finish in time")
		if err != nil {
			return nil, nil, err
		}
		switch t.r.Kind {
		case "result":
			if t.r.Result == nil || done[t.index] {
				return nil, nil, fmt.Errorf("worker %d sent a bad result", t.index)
			}
			results++
			done[t.index] = true
			total.merge(t.r.Result)
		case "exit":
			c.live--
			if !done[t.index] {
				return nil, nil, fmt.Errorf("worker %d ended without a result: %s", t.index, t.r.Error)
			}
		}
	}
	c.srv.sample(func(s procSample) { c.srv.last = s })
	return &total, probed, nil
}

// sample reads the server's /proc stats, if there is a server pid, and
// hands them to set; it keeps the peak RSS.
func (s *serverStats) sample(set func(procSample)) {
	if s.pid == 0 {
		return
	}
	p, err := readProcTree("/proc", s.pid)
	if err != nil {
		s.ok = false
		return
	}
	s.ok = true
	s.peakKB = max(s.peakKB, p.RSSKB, p.HWMKB)
	set(p)
}
