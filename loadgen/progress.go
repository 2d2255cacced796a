package loadgen

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progressPrinter merges the workers' latest progress reports into one line
// a second on stderr, with rates since the previous line and the server's
// memory and CPU over the last second.
type progressPrinter struct {
	cfg    Config
	w      io.Writer
	srv    *serverStats
	latest []*progress
	phase  string // the parent's phase: ramp until the go command, then run

	prevAt              time.Time
	prevSent, prevDeliv uint64
	prevSrv             procSample
}

func newProgressPrinter(cfg Config, w io.Writer, srv *serverStats) *progressPrinter {
	return &progressPrinter{cfg: cfg, w: w, srv: srv, latest: make([]*progress, cfg.Procs), phase: "ramp", prevAt: time.Now()}
}

func (p *progressPrinter) update(i int, pr *progress) {
	if pr == nil || i < 0 || i >= len(p.latest) {
		return
	}
	// The largest latency is per interval: keep the largest not yet shown.
	if old := p.latest[i]; old != nil && old.MaxLatencyUS > pr.MaxLatencyUS {
		pr.MaxLatencyUS = old.MaxLatencyUS
	}
	p.latest[i] = pr
}

// run marks the start of the measured run.
func (p *progressPrinter) run() { p.phase = "run" }

func (p *progressPrinter) print(elapsed time.Duration) {
	var sum progress
	phase := p.phase
	for _, pr := range p.latest {
		if pr == nil {
			continue
		}
		if pr.Phase != "ramp" { // a worker's storm or drain says more than "run"
			phase = pr.Phase
		}
		sum.Up += pr.Up
		sum.Failed += pr.Failed
		sum.Sent += pr.Sent
		sum.Acked += pr.Acked
		sum.Deliveries += pr.Deliveries
		sum.Errors += pr.Errors
		sum.MaxLatencyUS = max(sum.MaxLatencyUS, pr.MaxLatencyUS)
		sum.StormBack += pr.StormBack
		sum.ChurnDone += pr.ChurnDone
		pr.MaxLatencyUS = 0
	}
	now := time.Now()
	secs := now.Sub(p.prevAt).Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "loadgen %6.1fs %-5s up %d/%d", max(elapsed, 0).Seconds(), phase, sum.Up, p.cfg.Sessions)
	if sum.Failed > 0 {
		fmt.Fprintf(&b, " (%d failed)", sum.Failed)
	}
	if sum.Sent > 0 || sum.Deliveries > 0 {
		fmt.Fprintf(&b, "  sent %d (%.0f/s)  deliveries %d (%.0f/s)  max latency %s",
			sum.Sent, float64(sum.Sent-min(p.prevSent, sum.Sent))/secs,
			sum.Deliveries, float64(sum.Deliveries-min(p.prevDeliv, sum.Deliveries))/secs,
			fmtMS(float64(sum.MaxLatencyUS)/1000))
	}
	if p.cfg.Profile == ProfileReconnect && phase != "ramp" {
		fmt.Fprintf(&b, "  back %d", sum.StormBack)
	}
	if p.cfg.Profile == ProfileChurn {
		fmt.Fprintf(&b, "  churned %d", sum.ChurnDone)
	}
	fmt.Fprintf(&b, "  errors %d", sum.Errors)
	if p.srv.ok {
		cur := p.srv.last
		if cur.At.IsZero() || cur.At.Before(p.srv.rampStart.At) {
			cur = p.srv.rampStart
		}
		if cur.At.After(p.prevSrv.At) && !p.prevSrv.At.IsZero() {
			fmt.Fprintf(&b, "  server %.1f MB %.0f%% cpu", mb(cur.RSSKB), cpuPercent(p.prevSrv, cur))
		} else {
			fmt.Fprintf(&b, "  server %.1f MB", mb(cur.RSSKB))
		}
		p.prevSrv = cur
	}
	p.prevAt, p.prevSent, p.prevDeliv = now, sum.Sent, sum.Deliveries
	if !p.cfg.Quiet {
		fmt.Fprintln(p.w, b.String())
	}
}

// everySecond calls f once a second until stop is closed.
func everySecond(stop <-chan struct{}, f func()) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		f()
	}
}

// progressLoop sends a progress report every second until stop.
func (w *worker) progressLoop(out func(report), stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	everySecond(stop, func() {
		p := &progress{
			Phase:        w.phase.Load().(string),
			Up:           int(w.up.Load()),
			Failed:       int(w.failed.Load()),
			Sent:         w.churnSent.Load(),
			Acked:        w.churnAcked.Load(),
			Deliveries:   w.churnDeliveries.Load(),
			Errors:       w.errs.total(),
			MaxLatencyUS: w.latency.takeMax(),
			StormBack:    int(w.stormBack.Load()),
			ChurnDone:    w.churnDone.Load(),
		}
		for _, s := range w.sessions {
			p.Sent += s.sent.Load()
			p.Acked += s.acked.Load()
			p.Deliveries += s.deliveries.Load()
		}
		out(report{Kind: "progress", Progress: p})
	})
}
