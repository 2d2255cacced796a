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
	// Probe sessions are in before the load.
	var pp *probePair
	if cfg.Profile == ProfileOverload || cfg.Profile == ProfileLogin {
		var err error
		if pp, err = dialProbePair(&cfg, cfg.probeName(0), cfg.probeName(1)); err != nil {
			return nil, err
		}
		defer pp.close()
	}
	var stopPing chan struct{}
	type pingResult struct {
		rtts []time.Duration
		err  error
	}
	pingDone := make(chan pingResult, 1)
	if cfg.Profile == ProfileLogin {
		stopPing = make(chan struct{})
		go func() {
			rtts, err := pinger(pp.a, cfg.Timeout, stopPing)
			pingDone <- pingResult{rtts, err}
		}()
		defer func() {
			if stopPing != nil {
				close(stopPing)
			}
		}()
	}
	reports := make(chan tagged, 16*cfg.Procs)
	handles := make([]*workerHandle, cfg.Procs)
	live := 0
	// On any return, tell the workers still running to stop and collect
	// them, so no child outlives the run.
	defer func() {
		for _, h := range handles {
			if h != nil {
				h.stop()
			}
		}
		for live > 0 {
			if t := <-reports; t.r.Kind == "exit" {
				live--
			}
		}
	}()
	for i := range cfg.Procs {
		sh := share{Index: i, Of: cfg.Procs}
		if cfg.Procs == 1 {
			handles[i] = startInProcess(cfg, sh, reports)
		} else {
			h, err := startChild(exe, cfg, sh, reports)
			if err != nil {
				return nil, err
			}
			handles[i] = h
		}
		live++
	}

	srv := &serverStats{pid: cfg.ServerPID}
	srv.sample(func(s procSample) { srv.rampStart = s })
	pr := newProgressPrinter(cfg, progressW, srv)
	rampStart := time.Now()

	// Ramp: wait for every worker to report ready.
	var down []uint32
	var rampCPU time.Duration
	ready := 0
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	guard := time.NewTimer(cfg.Ramp + 10*cfg.Timeout + 10*time.Second)
	defer guard.Stop()
	for ready < cfg.Procs {
		select {
		case t := <-reports:
			switch t.r.Kind {
			case "progress":
				pr.update(t.index, t.r.Progress)
			case "ready":
				if t.r.Ready == nil {
					return nil, fmt.Errorf("worker %d sent a bad ready report", t.index)
				}
				ready++
				down = append(down, t.r.Ready.Down...)
				rampCPU += t.r.Ready.CPU
				pr.update(t.index, &progress{Phase: "ramp", Up: t.r.Ready.Up, Failed: t.r.Ready.Failed})
			case "exit":
				live--
				return nil, fmt.Errorf("worker %d ended during the ramp: %s", t.index, t.r.Error)
			case "error":
				return nil, fmt.Errorf("worker %d: %s", t.index, t.r.Error)
			}
		case <-tick.C:
			srv.sample(func(s procSample) { srv.last = s })
			pr.print(time.Since(rampStart))
		case <-guard.C:
			return nil, errors.New("the ramp did not finish in time")
		}
	}
	ramp := time.Since(rampStart)
	var storm *LoginStormReport
	if stopPing != nil {
		close(stopPing)
		stopPing = nil
		pr := <-pingDone
		storm = &LoginStormReport{Pings: len(pr.rtts), Seconds: ramp.Seconds()}
		h := newHist()
		for _, d := range pr.rtts {
			h.RecordValue(micros(d))
		}
		storm.Ping = summarize(exportHist(h))
		if pr.err != nil {
			storm.ProbeError = pr.err.Error()
		}
	}
	var baseline []time.Duration
	if cfg.Profile == ProfileOverload {
		for range 20 {
			lat, err := pp.message(cfg.Timeout)
			if err != nil {
				return nil, err
			}
			baseline = append(baseline, lat)
		}
	}

	t0 := time.Now().Add(goMargin)
	end := t0.Add(cfg.Duration)
	srv.sample(func(s procSample) { srv.runStart, srv.last = s, s })
	for i, h := range handles {
		if err := h.send(command{Kind: "go", T0: t0, End: end, Down: down}); err != nil {
			return nil, fmt.Errorf("start worker %d: %w", i, err)
		}
	}
	pr.run()
	probed := make(chan *overloadProbes, 1)
	if cfg.Profile == ProfileOverload {
		until := end.Add(cfg.Drain - 500*time.Millisecond)
		go func() { probed <- probeOverload(pp, cfg.ServerPID, end, until, cfg.Timeout) }()
	}

	// What holding the sessions costs: the server's RSS near the end of
	// the run, after the ramp's garbage had time to go and before the
	// workers close anything.
	heldAt := time.NewTimer(time.Until(end.Add(-min(cfg.Duration/10, 200*time.Millisecond))))
	defer heldAt.Stop()
	var total part
	results := 0
	done := make([]bool, cfg.Procs)
	guard.Reset(time.Until(end) + cfg.Drain + 12*cfg.Timeout + 10*time.Second)
	for results < cfg.Procs {
		select {
		case t := <-reports:
			switch t.r.Kind {
			case "progress":
				pr.update(t.index, t.r.Progress)
			case "result":
				if t.r.Result == nil || done[t.index] {
					return nil, fmt.Errorf("worker %d sent a bad result", t.index)
				}
				results++
				done[t.index] = true
				total.merge(t.r.Result)
			case "exit":
				live--
				if !done[t.index] {
					return nil, fmt.Errorf("worker %d ended without a result: %s", t.index, t.r.Error)
				}
			case "error":
				return nil, fmt.Errorf("worker %d: %s", t.index, t.r.Error)
			}
		case <-tick.C:
			srv.sample(func(s procSample) { srv.last = s })
			pr.print(time.Since(t0))
		case <-heldAt.C:
			srv.sample(func(s procSample) { srv.held, srv.last = s, s })
		case <-guard.C:
			return nil, errors.New("the workers did not finish in time")
		}
	}
	srv.sample(func(s procSample) { srv.last = s })
	r := newReport(&cfg, &total, ramp, srv)
	if storm != nil {
		storm.Logins = r.Up
		if storm.Seconds > 0 {
			storm.LoginsPerSec = float64(r.Up) / storm.Seconds
		}
		r.LoginStorm = storm
	}
	if r.Overload != nil {
		res := <-probed
		r.Overload.RSSBeforeMB = mb(srv.runStart.RSSKB)
		res.fill(r.Overload, baseline)
	}
	r.Loadgen.CPURamp = 100 * float64(rampCPU) / float64(ramp)
	return r, nil
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
