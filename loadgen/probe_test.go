package loadgen

import (
	"testing"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestRecoveredAt(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		lat  []time.Duration
		want int
	}{
		{nil, 0},
		{[]time.Duration{ms, ms}, 0},
		{[]time.Duration{50 * ms, 20 * ms, 20 * ms, ms, ms, ms}, 1},
		// One slow probe among fast ones is noise, not a relapse.
		{[]time.Duration{ms, ms, 50 * ms, ms, ms, ms}, 0},
		// Nor is a slow last probe (the e2e test once failed on one).
		{[]time.Duration{ms, ms, ms, ms, ms, ms, 50 * ms}, 0},
		{[]time.Duration{ms, ms, 50 * ms}, 0},
		// Most of the last probes slow: not recovered.
		{[]time.Duration{ms, 50 * ms, 50 * ms}, 3},
		{[]time.Duration{ms, ms, ms, ms, ms, 50 * ms, 50 * ms, 50 * ms}, 8},
		{[]time.Duration{ms, 50 * ms, 50 * ms, 50 * ms, ms, ms}, 3},
	}
	for _, tt := range tests {
		if got := recoveredAt(tt.lat, 5*ms); got != tt.want {
			t.Errorf("recoveredAt(%v) = %d, want %d", tt.lat, got, tt.want)
		}
	}
}

func TestNormalLimitAndMedian(t *testing.T) {
	us := time.Microsecond
	if got := median([]time.Duration{3 * us, 1 * us, 2 * us}); got != 2*us {
		t.Errorf("median = %v", got)
	}
	if got := median(nil); got != 0 {
		t.Errorf("median(nil) = %v", got)
	}
	if got := normalLimit([]time.Duration{100 * us}); got != 5*time.Millisecond {
		t.Errorf("limit of a fast baseline = %v, want the 5 ms floor", got)
	}
	if got := normalLimit([]time.Duration{4 * time.Millisecond}); got != 12*time.Millisecond {
		t.Errorf("limit = %v, want 3× the median", got)
	}
}

func TestOverloadProbesFill(t *testing.T) {
	ms := time.Millisecond
	res := &overloadProbes{
		after:     []time.Duration{300 * ms, 40 * ms, 40 * ms, 40 * ms, ms, 2 * ms, ms, ms},
		afterAt:   []time.Duration{0, 100 * ms, 200 * ms, 300 * ms, 400 * ms, 500 * ms, 600 * ms, 700 * ms},
		peakKB:    100 * 1024,
		afterKB:   50 * 1024,
		sampledOK: true,
	}
	var o OverloadReport
	res.fill(&o, []time.Duration{ms / 2})
	if !o.Recovered() || o.RecoveredSec != 0.2 || o.Probes != 8 || o.ProbeMaxMS != 300 || o.RSSPeakMB != 100 || o.RSSAfterMB != 50 || o.ProbeLimitMS != 5 {
		t.Errorf("fill: %+v", o)
	}
	res.after[5], res.after[6], res.after[7] = 90*ms, 90*ms, 90*ms // slow again at the end
	o = OverloadReport{}
	res.fill(&o, []time.Duration{ms / 2})
	if o.Recovered() || o.RecoveredSec != -1 {
		t.Errorf("not recovered, yet: %+v", o)
	}
}

// TestOverloadLossSplit: losses at the sessions the server cut are reported
// apart from those at the sessions that stayed.
func TestOverloadLossSplit(t *testing.T) {
	cfg := Config{Profile: ProfileOverload, Sessions: 10, Rooms: 1, Rate: 10, Duration: time.Second}
	h := exportHist(hdrhistogram.New(1, 1000, 2))
	p := &part{Up: 8, Expected: 900, Unique: 880, CutSessions: 2, CutExpected: 180, CutUnique: 60,
		Connect: h, Login: h, Latency: h, SendLag: h, Reconnect: h}
	r := newReport(&cfg, p, time.Second, nil)
	if r.Overload == nil || r.Overload.CutSlow != 2 || r.Overload.LostCut != 120 || r.Lost != 0 || r.Expected != 720 {
		t.Errorf("report: lost %d expected %d overload %+v", r.Lost, r.Expected, r.Overload)
	}
}
