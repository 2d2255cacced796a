package client

import (
	"math/rand/v2"
	"time"
)

func randFloat() float64 { return rand.Float64() }

// clock formats t as the client shows times: local HH:MM:SS.
func clock(t time.Time) string { return t.Local().Format("15:04:05") }

// frameTime converts a frame's server time (Unix milliseconds) to a time;
// a frame without one is shown at the local time.
func frameTime(ms int64, now time.Time) time.Time {
	if ms == 0 {
		return now
	}
	return time.UnixMilli(ms)
}

// pause formats a wait for a person: "1.5s", "30s", "250ms".
func pause(d time.Duration) string {
	if d >= time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

// silence formats how long the server has been silent: to a tenth of a
// second below ten seconds ("1.2s", "600ms"), in whole seconds above. It is
// never rounded down to nothing: a client that gives up after a second of
// silence says so, not "0s".
func silence(d time.Duration) string {
	if d < 10*time.Second {
		return max(d.Round(100*time.Millisecond), 100*time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
