package loadgen

import (
	"time"
)

// stormProbeInterval is how often a storm's probe pings (login storm) or
// sends a message (handshake storm).
const stormProbeInterval = 10 * time.Millisecond

// probeSample is one probe: when it was sent and how long it took.
type probeSample struct {
	at   time.Time
	took time.Duration
}

// end is when the probe's answer came.
func (s probeSample) end() time.Time { return s.at.Add(s.took) }

// probeEvery runs probe every stormProbeInterval until stop is closed, and
// returns what it measured (and the error that ended it early, if any).
func probeEvery(probe func() (time.Duration, error), stop <-chan struct{}) ([]probeSample, error) {
	var samples []probeSample
	next := time.Now()
	for {
		select {
		case <-stop:
			return samples, nil
		default:
		}
		at := time.Now()
		took, err := probe()
		if err != nil {
			return samples, err
		}
		samples = append(samples, probeSample{at, took})
		next = next.Add(stormProbeInterval)
		if d := time.Until(next); d > 0 {
			select {
			case <-stop:
				return samples, nil
			case <-time.After(d):
			}
		} else {
			next = time.Now()
		}
	}
}

// during returns the samples whose probe overlapped [start, end].
func during(samples []probeSample, start, end time.Time) []probeSample {
	var in []probeSample
	for _, s := range samples {
		if !s.at.After(end) && !s.end().Before(start) {
			in = append(in, s)
		}
	}
	return in
}

// percentiles summarises the probes' times.
func percentiles(samples []probeSample) Percentiles {
	h := newHist()
	for _, s := range samples {
		h.RecordValue(micros(s.took))
	}
	return summarize(exportHist(h))
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
