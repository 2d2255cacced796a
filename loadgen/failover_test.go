package loadgen

import (
	"testing"
	"time"
)

func TestFailoverTiming(t *testing.T) {
	t.Parallel()
	s := time.Second
	tests := []struct {
		name string
		back []time.Duration
		of   int
		want FailoverTiming
		met  bool
	}{
		{"none on the killed server", nil, 0, FailoverTiming{TargetS: 15}, false},
		{"none back", nil, 3, FailoverTiming{OnKilled: 3, TargetS: 15}, false},
		{"one back", []time.Duration{2 * s}, 1,
			FailoverTiming{OnKilled: 1, Back: 1, Within: 1, TargetS: 15, FirstMS: 2000, P50MS: 2000, P99MS: 2000, MaxMS: 2000}, true},
		{"unsorted, all within", []time.Duration{3 * s, 1 * s, 2 * s, 4 * s}, 4,
			FailoverTiming{OnKilled: 4, Back: 4, Within: 4, TargetS: 15, FirstMS: 1000, P50MS: 2000, P99MS: 4000, MaxMS: 4000}, true},
		{"the target itself is within", []time.Duration{15 * s}, 1,
			FailoverTiming{OnKilled: 1, Back: 1, Within: 1, TargetS: 15, FirstMS: 15000, P50MS: 15000, P99MS: 15000, MaxMS: 15000}, true},
		{"one late", []time.Duration{1 * s, 16 * s}, 2,
			FailoverTiming{OnKilled: 2, Back: 2, Within: 1, TargetS: 15, FirstMS: 1000, P50MS: 1000, P99MS: 16000, MaxMS: 16000}, false},
		{"one never back", []time.Duration{1 * s}, 2,
			FailoverTiming{OnKilled: 2, Back: 1, Within: 1, TargetS: 15, FirstMS: 1000, P50MS: 1000, P99MS: 1000, MaxMS: 1000}, false},
	}
	for _, tt := range tests {
		got := failoverTiming(tt.back, tt.of, failoverTarget)
		if got != tt.want || got.Met() != tt.met {
			t.Errorf("%s: %+v (met %v), want %+v (met %v)", tt.name, got, got.Met(), tt.want, tt.met)
		}
	}
}

func TestFailoverTimingPercentilesOfAHundred(t *testing.T) {
	t.Parallel()
	var back []time.Duration
	for i := 100; i >= 1; i-- {
		back = append(back, time.Duration(i)*time.Millisecond)
	}
	got := failoverTiming(back, 100, failoverTarget)
	if got.FirstMS != 1 || got.P50MS != 50 || got.P99MS != 99 || got.MaxMS != 100 || got.Within != 100 {
		t.Errorf("%+v, want first 1 ms, p50 50 ms, p99 99 ms, max 100 ms, 100 within", got)
	}
}

func TestBackAfter(t *testing.T) {
	t.Parallel()
	kill := time.Unix(100, 0)
	at := func(s float64) time.Time { return kill.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name   string
		ups    []upSpan
		want   time.Duration
		wantOK bool
	}{
		{"never up again", []upSpan{{from: at(-10), to: at(0)}}, 0, false},
		{"back after the kill", []upSpan{{from: at(-10), to: at(0)}, {from: at(2.5)}}, 2500 * time.Millisecond, true},
		{"the first stretch after counts", []upSpan{{from: at(-10), to: at(0)}, {from: at(1), to: at(2)}, {from: at(3)}}, time.Second, true},
		{"nothing at all", nil, 0, false},
	}
	for _, tt := range tests {
		got, ok := backAfter(tt.ups, kill)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s: %v %v, want %v %v", tt.name, got, ok, tt.want, tt.wantOK)
		}
	}
}

// TestFailoverOverThreeServers runs the failover profile through loadgen's
// command line on three chat servers with a short lease: the first server
// is killed, and every session that was on it is back in its room on
// another with nothing lost.
func TestFailoverOverThreeServers(t *testing.T) {
	t.Parallel()
	var rep FailoverReport
	runMain(t, []string{"-spawn-server", buildServer(t), "-profile", "failover", "-sessions", "36", "-rooms", "3", "-rate", "30",
		"-duration", "6s", "-kill-after", "2s", "-drain", "5s", "-timeout", "10s", "-server-args", "-lease 2s",
		"-quiet"}, &rep, ExitOK)
	if rep.Up != 36 || rep.Killed != "c1" || rep.OnKilled != 12 || rep.Back != 12 || !rep.Met() {
		t.Errorf("%d of 36 up; %s killed with %d sessions on it, %d back, %d within %.0fs; want 36, c1, 12, 12, 12",
			rep.Up, rep.Killed, rep.OnKilled, rep.Back, rep.Within, rep.TargetS)
	}
	if len(rep.Violations) > 0 || rep.Found != rep.Expected || rep.Acked == 0 {
		t.Errorf("%d of %d owed deliveries made of %d acknowledged Says; violations %+v", rep.Found, rep.Expected, rep.Acked, rep.Violations)
	}
	if n := rep.Retries[errTokenRefused]; n > 0 {
		t.Errorf("%d resume tokens refused", n)
	}
}
