package loadgen

import (
	"crypto/tls"
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
	if cfg.TLS != nil {
		var err error
		if c.tls, err = cfg.TLS.clientConfig(cfg.Addr); err != nil {
			return nil, err
		}
	}
	// Probe sessions are in before the load.
	var before []time.Duration
	if cfg.hasProbes() {
		var err error
		if c.pp, err = dialProbePair(&c.cfg, c.tls, cfg.probeName(0), cfg.probeName(1)); err != nil {
			return nil, err
		}
		if cfg.Profile == ProfileHandshake {
			if before, err = c.probeBaseline(); err != nil {
				return nil, err
			}
		}
	}
	switch cfg.Profile {
	case ProfileLogin:
		c.startStormProbe(func() (time.Duration, error) { return c.pp.a.ping(cfg.Timeout) })
	case ProfileHandshake:
		c.startStormProbe(func() (time.Duration, error) { return c.pp.message(cfg.Timeout) })
	}
	// The server's sample before the ramp is taken before the workers
	// start: an in-process worker dials at once.
	c.srv = &serverStats{pid: cfg.ServerPID, pids: cfg.ServerPIDs}
	c.srv.sample(func(s procSample) { c.srv.rampStart = s })
	if err := c.startWorkers(exe); err != nil {
		return nil, err
	}
	c.pr = newProgressPrinter(cfg, progressW, c.srv)
	c.tick = time.NewTicker(time.Second)

	rampStart := time.Now()
	rd, err := c.awaitReady(rampStart)
	if err != nil {
		return nil, err
	}
	ramp := time.Since(rampStart)
	probes, probeErr := c.stopStormProbe()
	var baseline []time.Duration
	if cfg.Profile == ProfileOverload {
		if baseline, err = c.probeBaseline(); err != nil {
			return nil, err
		}
	}
	total, probed, err := c.runWorkers(rd.down)
	if err != nil {
		return nil, err
	}
	r := newReport(&c.cfg, total, ramp, c.srv)
	switch cfg.Profile {
	case ProfileLogin:
		r.LoginStorm = loginStorm(probes, probeErr, r.Up, ramp)
	case ProfileHandshake:
		r.HandshakeStorm = handshakeStorm(probes, probeErr, before, r.Up, rd.start, rd.end)
	}
	if r.Overload != nil {
		res := <-probed
		r.Overload.RSSBeforeMB = mb(c.srv.runStart.RSSKB)
		res.fill(r.Overload, baseline)
	}
	r.Loadgen.CPURamp = 100 * float64(rd.cpu) / float64(ramp)
	return r, nil
}

// loginStorm reports the login storm: the logins are the ramp, and the
// probe pinged throughout it.
func loginStorm(pings []probeSample, probeErr error, up int, ramp time.Duration) *LoginStormReport {
	l := &LoginStormReport{Logins: up, Seconds: ramp.Seconds(), Pings: len(pings), Ping: percentiles(pings)}
	if l.Seconds > 0 {
		l.LoginsPerSec = float64(up) / l.Seconds
	}
	if probeErr != nil {
		l.ProbeError = probeErr.Error()
	}
	return l
}

// handshakeStorm reports the handshake storm: the workers' ramps, from
// start to end, are the storm, and the probe messages that overlapped it
// are what the server's loop did meanwhile; before are the probe messages
// before it.
func handshakeStorm(probes []probeSample, probeErr error, before []time.Duration, up int, start, end time.Time) *HandshakeStormReport {
	in := during(probes, start, end)
	h := &HandshakeStormReport{Connections: up, Seconds: end.Sub(start).Seconds(),
		ProbeBeforeMS: ms(median(before)), Probes: len(in), Probe: percentiles(in)}
	if h.Seconds > 0 {
		h.PerSec = float64(up) / h.Seconds
	}
	if probeErr != nil {
		h.ProbeError = probeErr.Error()
	}
	return h
}

// coordinator is the parent's side of one run: its workers, the probes and
// the server's samples. Run's goroutine owns it; a storm's probe goroutine
// uses pp until stopStormProbe returns.
type coordinator struct {
	cfg     Config
	tls     *tls.Config // the process's TLS client configuration; nil for plain TCP
	reports chan tagged
	handles []*workerHandle
	live    int // workers that have not reported their exit
	pp      *probePair
	srv     *serverStats
	pr      *progressPrinter
	tick    *time.Ticker // progress lines and server samples

	stopProbe chan struct{} // nil unless a storm's probe runs
	probeDone chan stormProbes
}

// stormProbes is what a storm's probe measured.
type stormProbes struct {
	samples []probeSample
	err     error
}

// close stops the storm's probe and every worker still running and collects them,
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
	if c.stopProbe != nil {
		close(c.stopProbe)
	}
	if c.pp != nil {
		c.pp.close()
	}
}

// startStormProbe runs probe (on the probe pair) every
// stormProbeInterval while the storm lasts.
func (c *coordinator) startStormProbe(probe func() (time.Duration, error)) {
	c.stopProbe = make(chan struct{})
	c.probeDone = make(chan stormProbes, 1)
	go func() {
		samples, err := probeEvery(probe, c.stopProbe)
		c.probeDone <- stormProbes{samples, err}
	}()
}

// stopStormProbe ends the storm's probe, if it runs, and returns what it
// measured.
func (c *coordinator) stopStormProbe() ([]probeSample, error) {
	if c.stopProbe == nil {
		return nil, nil
	}
	close(c.stopProbe)
	c.stopProbe = nil
	res := <-c.probeDone
	return res.samples, res.err
}

// startWorkers starts cfg.Procs workers: in this process when there is
// one, child processes of exe otherwise. The handshake storm's workers are
// always children: its client handshakes are CPU work that would queue the
// probe's goroutines behind a thousand others in this process's scheduler,
// and the probe would measure loadgen rather than the server.
func (c *coordinator) startWorkers(exe string) error {
	c.handles = make([]*workerHandle, c.cfg.Procs)
	inProcess := c.cfg.Procs == 1 && c.cfg.Profile != ProfileHandshake
	for i := range c.cfg.Procs {
		sh := share{Index: i, Of: c.cfg.Procs}
		if inProcess {
			c.handles[i] = startInProcess(c.cfg, sh, c.tls, c.reports)
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
			c.srv.heldEach = c.srv.each
		case <-guard.C:
			return tagged{}, errors.New(late)
		}
	}
}

// rampDone is what the workers said when their ramps were done: the
// sessions that are down, the CPU they used, and the span from the first
// worker's first dial to the last worker's last session up.
type rampDone struct {
	down       []uint32
	cpu        time.Duration
	start, end time.Time
}

// awaitReady waits for every worker to report its sessions set up.
func (c *coordinator) awaitReady(rampStart time.Time) (rampDone, error) {
	guard := time.NewTimer(c.cfg.Ramp + 10*c.cfg.Timeout + 10*time.Second)
	defer guard.Stop()
	var rd rampDone
	for ready := 0; ready < c.cfg.Procs; {
		t, err := c.nextReport(rampStart, guard, nil, "the ramp did not finish in time")
		if err != nil {
			return rd, err
		}
		switch t.r.Kind {
		case "ready":
			r := t.r.Ready
			if r == nil {
				return rd, fmt.Errorf("worker %d sent a bad ready report", t.index)
			}
			ready++
			rd.down = append(rd.down, r.Down...)
			rd.cpu += r.CPU
			if rd.start.IsZero() || r.RampStart.Before(rd.start) {
				rd.start = r.RampStart
			}
			if r.RampEnd.After(rd.end) {
				rd.end = r.RampEnd
			}
			c.pr.update(t.index, &progress{Phase: "ramp", Up: r.Up, Failed: r.Failed})
		case "exit":
			c.live--
			return rd, fmt.Errorf("worker %d ended during the ramp: %s", t.index, t.r.Error)
		}
	}
	return rd, nil
}

// probeBaseline is the probe's message latency before the overload or the
// handshake storm.
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
	if s.pid == 0 && len(s.pids) == 0 {
		return
	}
	p, err := readProcTree("/proc", s.pid)
	if len(s.pids) > 0 {
		p, s.each, err = readProcTrees("/proc", s.pids)
	}
	if err != nil {
		s.ok = false
		return
	}
	s.ok = true
	s.peakKB = max(s.peakKB, p.RSSKB, p.HWMKB)
	set(p)
}
