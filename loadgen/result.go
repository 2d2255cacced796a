package loadgen

import (
	"fmt"
	"strings"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// part is one process's share of a run's result. Children send theirs to
// the parent as JSON; the parent merges them (merge) and turns the sum into
// a Report.
type part struct {
	Up, Failed int // stable sessions that did or did not get into their room

	Connect   *hdrhistogram.Snapshot // dial time
	Login     *hdrhistogram.Snapshot // hello + login (claim) time
	Latency   *hdrhistogram.Snapshot // delivery time minus intended send time
	SendLag   *hdrhistogram.Snapshot // actual minus intended send time: loadgen's own lateness
	Reconnect *hdrhistogram.Snapshot // storm: cut to back in the room

	Sent, Acked uint64 // Says written, Says answered OK
	Deliveries  uint64 // every stamped message received
	Unique      uint64 // first deliveries to stable sessions: compared with Expected
	Expected    uint64 // deliveries stable sessions should have received
	Duplicates  uint64
	OutOfOrder  uint64
	Misrouted   uint64 // a message from a member of another room

	ChurnStarted, ChurnDone uint64
	StormCut, StormBack     int
	StormResumed            int // storm reconnects whose TLS handshake resumed a session

	Handshakes, Resumed uint64 // TLS handshakes of every connection, and those that resumed

	// Sessions the server cut as slow consumers, and their part of
	// Expected and Unique.
	CutSessions            int
	CutExpected, CutUnique uint64

	Errors  map[string]uint64
	Retries map[string]uint64 // refusals retried (not errors unless the retries ran out)

	CPU      time.Duration // loadgen's own CPU during the run
	RSSKB    uint64        // loadgen's RSS at the end of the run
	HWMKB    uint64        // loadgen's peak RSS
	RunStart time.Time     // start of this process's measured window
	RunEnd   time.Time     // end of it (after the drain)
}

// merge adds o into p.
func (p *part) merge(o *part) {
	p.Up += o.Up
	p.Failed += o.Failed
	p.Connect = mergeSnapshots(p.Connect, o.Connect)
	p.Login = mergeSnapshots(p.Login, o.Login)
	p.Latency = mergeSnapshots(p.Latency, o.Latency)
	p.SendLag = mergeSnapshots(p.SendLag, o.SendLag)
	p.Reconnect = mergeSnapshots(p.Reconnect, o.Reconnect)
	p.Sent += o.Sent
	p.Acked += o.Acked
	p.Deliveries += o.Deliveries
	p.Unique += o.Unique
	p.Expected += o.Expected
	p.Duplicates += o.Duplicates
	p.OutOfOrder += o.OutOfOrder
	p.Misrouted += o.Misrouted
	p.ChurnStarted += o.ChurnStarted
	p.ChurnDone += o.ChurnDone
	p.StormCut += o.StormCut
	p.StormBack += o.StormBack
	p.StormResumed += o.StormResumed
	p.Handshakes += o.Handshakes
	p.Resumed += o.Resumed
	p.CutSessions += o.CutSessions
	p.CutExpected += o.CutExpected
	p.CutUnique += o.CutUnique
	if len(o.Errors) > 0 && p.Errors == nil {
		p.Errors = make(map[string]uint64)
	}
	for k, v := range o.Errors {
		p.Errors[k] += v
	}
	if len(o.Retries) > 0 && p.Retries == nil {
		p.Retries = make(map[string]uint64)
	}
	for k, v := range o.Retries {
		p.Retries[k] += v
	}
	p.CPU += o.CPU
	p.RSSKB += o.RSSKB
	p.HWMKB += o.HWMKB
	if p.RunStart.IsZero() || (!o.RunStart.IsZero() && o.RunStart.Before(p.RunStart)) {
		p.RunStart = o.RunStart
	}
	if o.RunEnd.After(p.RunEnd) {
		p.RunEnd = o.RunEnd
	}
}

// Report is the result of a run, as printed and written with -json.
type Report struct {
	Profile   string  `json:"profile"`
	Proto     string  `json:"proto,omitempty"` // "irc" with -proto irc; empty for the chat protocol
	Addr      string  `json:"addr"`
	Login     string  `json:"login"`
	Sessions  int     `json:"sessions"`
	Rooms     int     `json:"rooms"`
	RoomSize  float64 `json:"room_size"`
	Procs     int     `json:"procs"`
	Rate      float64 `json:"rate_msgs_per_s"`
	Offered   float64 `json:"offered_deliveries_per_s"` // Rate times the others in the sender's room, on average
	ChurnRate float64 `json:"churn_per_s,omitempty"`
	Duration  float64 `json:"duration_s"`

	Up          int     `json:"sessions_up"`
	Failed      int     `json:"sessions_failed"`
	RampSeconds float64 `json:"ramp_s"`
	RunSeconds  float64 `json:"run_s"` // the measured window, drain included

	Connect   Percentiles `json:"connect"`
	LoginTime Percentiles `json:"login_time"`
	Latency   Percentiles `json:"latency"`
	SendLag   Percentiles `json:"send_lag"`

	Sent             uint64  `json:"sent"`
	Acked            uint64  `json:"acked"`
	Deliveries       uint64  `json:"deliveries"`
	DeliveriesPerSec float64 `json:"deliveries_per_s"`
	Expected         uint64  `json:"expected"`
	Lost             uint64  `json:"lost"`
	Duplicates       uint64  `json:"duplicates"`
	OutOfOrder       uint64  `json:"out_of_order"`
	Misrouted        uint64  `json:"misrouted"`
	Unexpected       uint64  `json:"unexpected"` // more first deliveries than expected

	ChurnStarted uint64 `json:"churn_started,omitempty"`
	ChurnDone    uint64 `json:"churn_done,omitempty"`

	TLS            *TLSReport            `json:"tls,omitempty"`
	Storm          *StormReport          `json:"storm,omitempty"`
	Overload       *OverloadReport       `json:"overload,omitempty"`
	LoginStorm     *LoginStormReport     `json:"login_storm,omitempty"`
	HandshakeStorm *HandshakeStormReport `json:"handshake_storm,omitempty"`

	Errors  map[string]uint64 `json:"errors"`
	Retries map[string]uint64 `json:"retries,omitempty"`

	Server  *ProcReport `json:"server,omitempty"`  // a cluster run's: its servers' sums
	Servers []ServerRSS `json:"servers,omitempty"` // a cluster run's, each
	Loadgen ProcReport  `json:"loadgen"`
}

// TLSReport says how the run's connections were made over TLS.
type TLSReport struct {
	Resume     bool   `json:"resume"`     // the process's connections shared a session cache
	Handshakes uint64 `json:"handshakes"` // every connection's, probes' apart
	Resumed    uint64 `json:"resumed"`    // those that resumed a session instead of a full handshake
}

// StormReport is the reconnect storm's outcome.
type StormReport struct {
	Cut        int         `json:"cut"`
	Back       int         `json:"back"`
	AllBackSec float64     `json:"all_back_s"` // cut to the last one back; 0 if not all came back
	Reconnect  Percentiles `json:"reconnect"`
	Resumed    int         `json:"resumed,omitempty"` // over TLS: those back whose handshake resumed a session
}

// OverloadReport is the overload profile's outcome. Lost in the Report
// counts only the sessions that stayed; LostCut those the server cut.
type OverloadReport struct {
	CutSlow     int     `json:"cut_slow"` // sessions cut with Bye slow
	LostCut     uint64  `json:"lost_cut"` // deliveries the cut sessions did not get
	ExpectedCut uint64  `json:"expected_cut"`
	Stayed      int     `json:"stayed"` // sessions up at the end
	RSSBeforeMB float64 `json:"server_rss_before_mb"`
	RSSPeakMB   float64 `json:"server_rss_peak_mb"`
	RSSAfterMB  float64 `json:"server_rss_after_mb"` // at the end of the probes, sessions still held

	// Probe: one message between two sessions in a room of their own.
	ProbeBeforeMS float64 `json:"probe_before_ms"` // median before the load
	ProbeLimitMS  float64 `json:"probe_limit_ms"`  // what counts as normal after it
	ProbeAfterMS  float64 `json:"probe_after_ms"`  // median of the last probes, after the load
	ProbeMaxMS    float64 `json:"probe_max_ms"`    // worst probe after the load stopped
	Probes        int     `json:"probes"`          // after the load stopped
	RecoveredSec  float64 `json:"recovered_s"`     // load stop to the first of the probes all within the limit; -1 if not
	ProbeError    string  `json:"probe_error,omitempty"`
}

// Recovered reports whether the probes came back to normal after the load.
func (o *OverloadReport) Recovered() bool {
	return o.ProbeError == "" && o.Probes > 0 && o.RecoveredSec >= 0
}

// LoginStormReport is the login storm's outcome: the logins are the ramp.
type LoginStormReport struct {
	Logins       int         `json:"logins"`
	Seconds      float64     `json:"seconds"`
	LoginsPerSec float64     `json:"logins_per_s"`
	Pings        int         `json:"pings"` // probe pings during the storm
	Ping         Percentiles `json:"ping"`  // their round trip
	ProbeError   string      `json:"probe_error,omitempty"`
}

// HandshakeStormReport is the handshake storm's outcome: every session
// connects at once (over TLS, a handshake each) while two probe sessions,
// in before it, send each other room messages.
type HandshakeStormReport struct {
	Connections int     `json:"connections"` // sessions up: connected, logged in and in their rooms
	Seconds     float64 `json:"seconds"`     // first dial to the last session up
	PerSec      float64 `json:"per_s"`

	ProbeBeforeMS float64     `json:"probe_before_ms"` // median probe message before the storm
	Probes        int         `json:"probes"`          // probe messages during the storm
	Probe         Percentiles `json:"probe"`           // their latency, from one probe to the other
	ProbeError    string      `json:"probe_error,omitempty"`
}

// probeFailed reports whether a profile's probe could not be done.
func (r *Report) probeFailed() bool {
	return (r.Overload != nil && r.Overload.ProbeError != "") || (r.LoginStorm != nil && r.LoginStorm.ProbeError != "") ||
		(r.HandshakeStorm != nil && r.HandshakeStorm.ProbeError != "")
}

// ProcReport is one process's (or all loadgen processes') resources.
type ProcReport struct {
	PID         int     `json:"pid,omitempty"`
	CPURamp     float64 `json:"cpu_ramp_pct,omitempty"`  // % of one core during the ramp
	CPURun      float64 `json:"cpu_run_pct"`             // % of one core during the run
	RSSBeforeMB float64 `json:"rss_before_mb,omitempty"` // before the ramp: the server without the run's sessions
	RSSStartMB  float64 `json:"rss_start_mb,omitempty"`  // after the ramp, the ramp's garbage included
	RSSHeldMB   float64 `json:"rss_held_mb,omitempty"`   // near the end of the run: what holding the sessions costs
	RSSEndMB    float64 `json:"rss_end_mb"`
	RSSPeakMB   float64 `json:"rss_peak_mb"`
}

// ServerRSS is one server of a cluster run: what holding its sessions
// cost it.
type ServerRSS struct {
	Name      string  `json:"name"` // cN, its -server-name
	PID       int     `json:"pid"`
	RSSHeldMB float64 `json:"rss_held_mb"` // near the end of the run
	RSSPeakMB float64 `json:"rss_peak_mb"`
}

// serverStats are the parent's samples of the server process.
type serverStats struct {
	pid int
	// pids are a cluster run's servers: the samples are their sums,
	// and each and heldEach their own, in order.
	pids                      []int
	each, heldEach            []procSample
	rampStart, runStart, last procSample
	held                      procSample // near the end of the run, before any session closes
	peakKB                    uint64
	ok                        bool
}

// newReport turns the merged parts into the report.
func newReport(cfg *Config, p *part, ramp time.Duration, srv *serverStats) *Report {
	r := &Report{
		Profile: cfg.Profile, Addr: cfg.Addr, Login: cfg.Login,
		Sessions: cfg.Sessions, Rooms: cfg.Rooms, RoomSize: float64(cfg.Sessions) / float64(cfg.Rooms),
		Procs: cfg.Procs, Rate: cfg.Rate, Duration: cfg.Duration.Seconds(),
		Up: p.Up, Failed: p.Failed, RampSeconds: ramp.Seconds(),
		Connect: summarize(p.Connect), LoginTime: summarize(p.Login),
		Latency: summarize(p.Latency), SendLag: summarize(p.SendLag),
		Sent: p.Sent, Acked: p.Acked, Deliveries: p.Deliveries, Expected: p.Expected,
		Duplicates: p.Duplicates, OutOfOrder: p.OutOfOrder, Misrouted: p.Misrouted,
		ChurnStarted: p.ChurnStarted, ChurnDone: p.ChurnDone,
		Errors: p.Errors, Retries: p.Retries,
	}
	if cfg.Profile == ProfileChurn {
		r.ChurnRate = cfg.ChurnRate
	}
	if len(cfg.Addrs) > 0 {
		r.Addr = strings.Join(cfg.Addrs, ",")
	}
	if cfg.Proto == ProtoIRC {
		r.Proto = ProtoIRC
	}
	r.Offered = cfg.Rate * cfg.othersPerSender()
	if r.Errors == nil {
		r.Errors = map[string]uint64{}
	}
	if cfg.Profile == ProfileOverload {
		// Loss at the sessions the server cut is expected; the rest
		// should have everything.
		r.Overload = &OverloadReport{CutSlow: p.CutSessions, ExpectedCut: p.CutExpected, Stayed: p.Up}
		if p.CutUnique <= p.CutExpected {
			r.Overload.LostCut = p.CutExpected - p.CutUnique
		}
		p.Expected -= p.CutExpected
		p.Unique -= p.CutUnique
		r.Expected = p.Expected
	}
	if p.Unique <= p.Expected {
		r.Lost = p.Expected - p.Unique
	} else {
		r.Unexpected = p.Unique - p.Expected
	}
	run := p.RunEnd.Sub(p.RunStart)
	if run > 0 {
		r.RunSeconds = run.Seconds()
		r.Loadgen.CPURun = 100 * float64(p.CPU) / float64(run)
	}
	// Deliveries per second over the sending window, not the drain: the
	// offered load is spread over Duration.
	r.DeliveriesPerSec = float64(p.Deliveries) / cfg.Duration.Seconds()
	r.Loadgen.RSSEndMB = mb(p.RSSKB)
	r.Loadgen.RSSPeakMB = mb(p.HWMKB)
	if cfg.TLS != nil {
		r.TLS = &TLSReport{Resume: cfg.TLS.Resume, Handshakes: p.Handshakes, Resumed: p.Resumed}
	}
	if cfg.Profile == ProfileReconnect {
		s := &StormReport{Cut: p.StormCut, Back: p.StormBack, Reconnect: summarize(p.Reconnect), Resumed: p.StormResumed}
		if s.Back == s.Cut && s.Cut > 0 {
			s.AllBackSec = s.Reconnect.Max / 1000
		}
		r.Storm = s
	}
	if srv != nil && srv.ok {
		r.Server = &ProcReport{
			PID:         srv.pid,
			CPURamp:     cpuPercent(srv.rampStart, srv.runStart),
			CPURun:      cpuPercent(srv.runStart, srv.last),
			RSSBeforeMB: mb(srv.rampStart.RSSKB),
			RSSStartMB:  mb(srv.runStart.RSSKB),
			RSSHeldMB:   mb(srv.held.RSSKB),
			RSSEndMB:    mb(srv.last.RSSKB),
			RSSPeakMB:   mb(max(srv.peakKB, srv.last.HWMKB)),
		}
		for i, s := range srv.heldEach {
			r.Servers = append(r.Servers, ServerRSS{Name: fmt.Sprintf("c%d", i+1), PID: srv.pids[i],
				RSSHeldMB: mb(s.RSSKB), RSSPeakMB: mb(s.HWMKB)})
		}
	}
	return r
}

// othersPerSender is the average number of other members in a sender's
// room, which a message is delivered to: rooms may differ by one member.
func (c *Config) othersPerSender() float64 {
	if c.Sessions == 0 || c.Rooms == 0 {
		return 0
	}
	small := c.Sessions / c.Rooms // members of the smaller rooms
	big := c.Sessions % c.Rooms   // rooms with one member more
	sum := big*(small+1)*small + (c.Rooms-big)*small*(small-1)
	return float64(sum) / float64(c.Sessions)
}

func mb(kb uint64) float64 { return float64(kb) / 1024 }
