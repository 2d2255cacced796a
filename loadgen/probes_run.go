package loadgen

import (
	"time"
)

// pingInterval is how often the login storm's probe pings.
const pingInterval = 10 * time.Millisecond

// pinger pings with p every pingInterval until stop is closed, and returns
// the round trips (and the error that ended it early, if any).
func pinger(p *probeConn, timeout time.Duration, stop <-chan struct{}) ([]time.Duration, error) {
	var rtts []time.Duration
	next := time.Now()
	for {
		select {
		case <-stop:
			return rtts, nil
		default:
		}
		rtt, err := p.ping(timeout)
		if err != nil {
			return rtts, err
		}
		rtts = append(rtts, rtt)
		next = next.Add(pingInterval)
		if d := time.Until(next); d > 0 {
			select {
			case <-stop:
				return rtts, nil
			case <-time.After(d):
			}
		} else {
			next = time.Now()
		}
	}
}

// overloadProbes is what the overload profile's probe goroutine found.
type overloadProbes struct {
	after     []time.Duration // probe latencies, from the end of the load on
	afterAt   []time.Duration // when each was sent, after the end of the load
	peakKB    uint64          // the server's largest sampled RSS
	afterKB   uint64          // its RSS after the probes
	err       error
	sampledOK bool
}

// probeInterval is how often the overload profile probes after the load.
const probeInterval = 20 * time.Millisecond

// probeOverload samples the server's RSS (pid, if not 0) every
// probeInterval from now to until, and from end on also sends a probe
// message each time.
func probeOverload(pp *probePair, pid int, end, until time.Time, timeout time.Duration) *overloadProbes {
	res := &overloadProbes{}
	sample := func() {
		if pid == 0 {
			return
		}
		if s, err := readProcTree("/proc", pid); err == nil {
			res.sampledOK = true
			res.peakKB = max(res.peakKB, s.RSSKB)
			res.afterKB = s.RSSKB
		}
	}
	for time.Now().Before(until) {
		sample()
		if now := time.Now(); !now.Before(end) && res.err == nil {
			lat, err := pp.message(timeout)
			if err != nil {
				res.err = err
			} else {
				res.after = append(res.after, lat)
				res.afterAt = append(res.afterAt, now.Sub(end))
			}
		}
		time.Sleep(probeInterval)
	}
	sample()
	return res
}

// fill completes the overload report from the probes.
func (res *overloadProbes) fill(o *OverloadReport, baseline []time.Duration) {
	limit := normalLimit(baseline)
	o.ProbeBeforeMS = ms(median(baseline))
	o.ProbeLimitMS = ms(limit)
	o.Probes = len(res.after)
	if res.err != nil {
		o.ProbeError = res.err.Error()
	}
	if res.sampledOK {
		o.RSSPeakMB = max(o.RSSPeakMB, mb(res.peakKB))
		o.RSSAfterMB = mb(res.afterKB)
	}
	o.RecoveredSec = -1
	if len(res.after) == 0 {
		return
	}
	for _, l := range res.after {
		o.ProbeMaxMS = max(o.ProbeMaxMS, ms(l))
	}
	o.ProbeAfterMS = ms(median(res.after[len(res.after)-min(len(res.after), 10):]))
	if i := recoveredAt(res.after, limit); i < len(res.after) {
		o.RecoveredSec = res.afterAt[i].Seconds()
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
