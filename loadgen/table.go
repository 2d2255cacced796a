package loadgen

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
)

// WriteTable prints the report as the table loadgen ends with.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, format string, args ...any) {
		fmt.Fprintf(tw, "%s\t%s\n", name, fmt.Sprintf(format, args...))
	}
	proto := r.Login + " login"
	if r.Proto == ProtoIRC {
		proto = "IRC"
	}
	row("profile", "%s: %d sessions in %d rooms (%.0f each), %d process(es), %s, %s",
		r.Profile, r.Sessions, r.Rooms, r.RoomSize, r.Procs, proto, r.Addr)
	row("offered", "%.0f msgs/s (%.0f deliveries/s) for %.1fs", r.Rate, r.Offered, r.Duration)
	if r.ChurnRate > 0 {
		row("churn", "%.0f sessions/s: %d started, %d completed", r.ChurnRate, r.ChurnStarted, r.ChurnDone)
	}
	row("sessions up", "%d of %d (%d failed), ramp %.2fs", r.Up, r.Sessions, r.Failed, r.RampSeconds)
	row("connect time", "%s", fmtPercentiles(r.Connect))
	row("login time", "%s", fmtPercentiles(r.LoginTime))
	if t := r.TLS; t != nil {
		cache := "one session cache per process"
		if !t.Resume {
			cache = "resumption off"
		}
		row("tls", "%d handshakes (probes apart), %d of them resumed; %s", t.Handshakes, t.Resumed, cache)
	}
	if r.Storm != nil {
		all := "not all back"
		if r.AllBack() {
			all = fmt.Sprintf("all back in %.2fs", r.Storm.AllBackSec)
		}
		if r.TLS != nil {
			all += fmt.Sprintf(", %d resumed their TLS session", r.Storm.Resumed)
		}
		row("reconnect storm", "%d cut, %d back: %s", r.Storm.Cut, r.Storm.Back, all)
		row("reconnect time", "%s", fmtPercentiles(r.Storm.Reconnect))
	}
	if h := r.HandshakeStorm; h != nil {
		row("handshake storm", "%d sessions connected at once in %.2fs: %.0f/s", h.Connections, h.Seconds, h.PerSec)
		row("probe messages", "%.2fms before the storm (median); %d during it: %s", h.ProbeBeforeMS, h.Probes, fmtPercentiles(h.Probe))
		if h.ProbeError != "" {
			row("probe error", "%s", h.ProbeError)
		}
	}
	if o := r.Overload; o != nil {
		row("overload", "%d sessions cut slow (Bye slow), %d stayed; the cut missed %d of their %d deliveries (not in lost below)",
			o.CutSlow, o.Stayed, o.LostCut, o.ExpectedCut)
		row("server rss", "%.1f MB before the load, peak %.1f MB, %.1f MB after it (sessions still held)",
			o.RSSBeforeMB, o.RSSPeakMB, o.RSSAfterMB)
		rec := "not recovered"
		if o.Recovered() {
			rec = fmt.Sprintf("recovered %.2fs after the load stopped", o.RecoveredSec)
		}
		row("recovery probe", "%.2f ms before the load; after it: %d probes, last %.2f ms (median), worst %.2f ms; limit %.2f ms: %s",
			o.ProbeBeforeMS, o.Probes, o.ProbeAfterMS, o.ProbeMaxMS, o.ProbeLimitMS, rec)
		if o.ProbeError != "" {
			row("probe error", "%s", o.ProbeError)
		}
	}
	if l := r.LoginStorm; l != nil {
		row("login storm", "%d logins in %.2fs: %.0f logins/s", l.Logins, l.Seconds, l.LoginsPerSec)
		row("probe pings", "%d during the storm, round trip %s", l.Pings, fmtPercentiles(l.Ping))
		if l.ProbeError != "" {
			row("probe error", "%s", l.ProbeError)
		}
	}
	if r.Sent > 0 || r.Deliveries > 0 {
		if r.Proto == ProtoIRC {
			row("messages", "%d sent (IRC has no acknowledgement)", r.Sent)
		} else {
			row("messages", "%d sent, %d acknowledged", r.Sent, r.Acked)
		}
		row("deliveries", "%d (%.0f/s), expected %d", r.Deliveries, r.DeliveriesPerSec, r.Expected)
		row("lost/dup/reordered", "%d / %d / %d (misrouted %d, unexpected %d)",
			r.Lost, r.Duplicates, r.OutOfOrder, r.Misrouted, r.Unexpected)
		row("latency", "%s", fmtPercentiles(r.Latency))
		row("send lag", "%s", fmtPercentiles(r.SendLag))
	}
	if s := r.Server; s != nil && len(r.Servers) > 0 {
		row("servers", "%d, summed: rss %.1f MB before the ramp, %.1f MB after it, %.1f MB holding the sessions (end of the run), %.1f MB at the end; cpu %.0f%% ramp, %.0f%% run",
			len(r.Servers), s.RSSBeforeMB, s.RSSStartMB, s.RSSHeldMB, s.RSSEndMB, s.CPURamp, s.CPURun)
		for _, e := range r.Servers {
			row("", "%s pid %d: rss %.1f MB holding the sessions, peak %.1f MB", e.Name, e.PID, e.RSSHeldMB, e.RSSPeakMB)
		}
	} else if s != nil {
		row("server", "pid %d: rss %.1f MB before the ramp, %.1f MB after it, %.1f MB holding the sessions (end of the run), %.1f MB at the end, peak %.1f MB; cpu %.0f%% ramp, %.0f%% run",
			s.PID, s.RSSBeforeMB, s.RSSStartMB, s.RSSHeldMB, s.RSSEndMB, s.RSSPeakMB, s.CPURamp, s.CPURun)
	} else {
		row("server", "no -server-pid: no server stats")
	}
	row("loadgen", "cpu %.0f%% ramp, %.0f%% run; rss %.1f MB at the end, peak %.1f MB",
		r.Loadgen.CPURamp, r.Loadgen.CPURun, r.Loadgen.RSSEndMB, r.Loadgen.RSSPeakMB)
	counts(row, "errors", r.Errors)
	if len(r.Retries) > 0 {
		counts(row, "retried", r.Retries)
	}
	return tw.Flush()
}

// counts prints a count by kind, most frequent first, one kind a line.
func counts(row func(name, format string, args ...any), title string, m map[string]uint64) {
	if len(m) == 0 {
		row(title, "none")
		return
	}
	kinds := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), strings.Compare(a, b))
	})
	for i, k := range kinds {
		if i > 0 {
			title = ""
		}
		row(title, "%d  %s", m[k], k)
	}
}

// AllBack reports whether a reconnect storm ended with every session back.
func (r *Report) AllBack() bool {
	return r.Storm != nil && r.Storm.Cut > 0 && r.Storm.Back == r.Storm.Cut
}

func fmtPercentiles(p Percentiles) string {
	if p.Count == 0 {
		return "none recorded"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s  (n=%d)",
		fmtMS(p.P50), fmtMS(p.P90), fmtMS(p.P99), fmtMS(p.P999), fmtMS(p.Max), p.Count)
}

// fmtMS prints milliseconds with a precision that suits the magnitude.
func fmtMS(ms float64) string {
	switch {
	case ms < 1:
		return fmt.Sprintf("%.3fms", ms)
	case ms < 100:
		return fmt.Sprintf("%.2fms", ms)
	case ms < 10000:
		return fmt.Sprintf("%.0fms", ms)
	}
	return fmt.Sprintf("%.1fs", ms/1000)
}
