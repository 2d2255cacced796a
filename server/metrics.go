package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"chat/internal/store"
	"chat/internal/wire"
	"chat/server/hub"
)

// The operations endpoint (Config.MetricsAddr): GET /healthz for a load
// balancer, GET /metrics in Prometheus's text format (version 0.0.4). It is
// net/http on a listener of its own, outside the loop's poll set, opened by
// New, served from Run's start and shut down before Run returns.
//
// Who owns what. The loop counts in loopStats, plain fields no other
// goroutine touches, once per request or store outcome, not per delivery:
// the fan-out itself pays nothing. It publishes to metrics:
//   - at the end of every pass, the time it ended and how long it took
//     (an atomic and the histogram's atomics): the heartbeat;
//   - when a handler has asked (metrics.asked), a snapshot of its figures
//     (loopFigures), behind metrics.mu, which either side holds only to
//     copy the snapshot or swap a channel.
//
// A handler that wants a fresh snapshot, or proof that an idle loop still
// runs (it sleeps in poll without a deadline), asks, wakes the loop through
// the wake pipe and waits, with a deadline, for the end of its next pass.
// The loop never waits for a handler. The store's goroutines add their ops'
// latencies and errors to atomics of their own.
type metrics struct {
	ln     net.Listener
	http   *http.Server
	served chan struct{} // closed when Serve has returned; nil until Run
	wake   func()
	probe  *storeProbe // nil without a message store
	// What the handlers read of the Server's own atomics.
	relay       *relayState
	outputBytes func() uint64
	// Which node this is and what it sees of its cluster (status.go):
	// they read the store, never the loop.
	node  func() NodeInfo
	peers func() []store.Peer

	// fresh is how recent a pass proves the loop runs without asking it
	// for one, and how long a store probe's answer stands; wait is how
	// long a handler waits for a pass it asked for, or for the probe (a
	// scrape that waited in vain gets the last snapshot, and /healthz
	// says why).
	fresh, wait time.Duration

	// Published by the loop at the end of every pass.
	lastPass atomic.Int64 // when the last pass ended, Unix nanoseconds
	passTime histogram
	shutting atomic.Bool

	asked   atomic.Bool // a handler waits for the next pass
	stopped atomic.Bool // the loop has returned
	mu      sync.Mutex
	figures loopFigures   // the snapshot of the last pass asked for
	passed  chan struct{} // closed at the end of the pass asked for

	// Counted on the store's goroutines.
	storeTime [storeOpKinds]histogram
	storeErrs [storeErrKinds]atomic.Uint64
}

// storeProbe asks the message store whether it answers, for /healthz: one
// direct get (the last message of probeRoom). One probe runs at a time
// and its answer stands for fresh, however many checkers ask; only the
// HTTP side uses it.
type storeProbe struct {
	st          *store.Store
	fresh, wait time.Duration

	mu      sync.Mutex
	running chan struct{} // closed when the probe under way ends
	at      time.Time     // when the last probe ended
	err     error         // and its outcome
	stopped bool          // no probe starts any more
	probes  sync.WaitGroup
}

// Defaults of the health check.
const (
	healthFresh = time.Second
	healthWait  = 3 * time.Second
	// probeRoom is the room whose last message the store probe reads: no
	// room can be named so (a space), so it reads nothing.
	probeRoom = " "
)

// Buckets of the histograms, in seconds as Prometheus wants them: a loop
// pass takes microseconds when idle and should stay well under 50 ms; a
// store op takes about a millisecond, its timeout 5 s.
var (
	passBuckets = durations(10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1)
	storeBucket = durations(100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5)
)

// loopStats are the loop's counts. Only the loop touches them, without
// atomics: publishFigures copies them into the snapshot a handler asked
// for.
type loopStats struct {
	deliveries uint64 // room messages handed to sessions, live
	relayed    [msgKinds]uint64
	stored     [msgKinds]uint64
	logins     [verdicts]uint64 // password checks' outcomes, by hub.Verdict

	roomsVer   uint64 // hub.StateVersion when rooms was counted
	rooms      int
	roomsKnown bool
}

// loopFigures is what the loop publishes when asked.
type loopFigures struct {
	connections int
	sessions    int
	loggedIn    int
	rooms       int
	queuedBytes int
	deliveries  uint64
	relayed     [msgKinds]uint64
	stored      [msgKinds]uint64
	logins      [verdicts]uint64
}

// Messages by kind: room messages and private ones.
const (
	msgRoom = iota
	msgPrivate
	msgKinds
)

var msgKindNames = [msgKinds]string{"room", "private"}

// verdicts is the number of hub.Verdict values counted.
const verdicts = int(hub.VerdictBusy) + 1

// Store ops by what they do (the op label).
const (
	opMessage = iota
	opPrivate
	opHistory
	opInbox
	opRoom
	opClearInbox
	storeOpKinds
)

var storeOpNames = [storeOpKinds]string{"message", "private", "history", "inbox", "room", "clear_inbox"}

// Store errors by kind (the kind label), as package store declares them.
const (
	errFull = iota
	errInboxFull
	errTimeout
	errBusy
	errClosed
	errUnavailable
	storeErrKinds
)

var storeErrNames = [storeErrKinds]string{"full", "inbox_full", "timeout", "busy", "closed", "unavailable"}

// storeErrKind sorts a store error into its kind; anything the store did
// not name is the store being unavailable, as the hub is told too.
func storeErrKind(err error) int {
	switch {
	case errors.Is(err, store.ErrInboxFull):
		return errInboxFull
	case errors.Is(err, store.ErrFull):
		return errFull
	case errors.Is(err, store.ErrTimeout):
		return errTimeout
	case errors.Is(err, store.ErrBusy):
		return errBusy
	case errors.Is(err, store.ErrClosed):
		return errClosed
	}
	return errUnavailable
}

// storeOpKind is the op label of a hub.StoreOp.
func storeOpKind(op *hub.StoreOp) int {
	switch op.Kind {
	case hub.StoreMessage:
		if op.Frame.Type == wire.TypePrivate {
			return opPrivate
		}
		return opMessage
	case hub.StoreReadBefore, hub.StoreReadAfter, hub.StoreCatchUp:
		return opHistory
	case hub.StoreInbox:
		return opInbox
	case hub.StoreRoom:
		return opRoom
	}
	return opClearInbox
}

// newMetrics opens the endpoint's listener; Run serves it.
func (s *Server) newMetrics(addr string) (*metrics, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot serve metrics: %w", err)
	}
	m := &metrics{ln: ln, wake: s.wakeup.wake, relay: &s.relay, outputBytes: s.OutputBytes, node: s.Node, peers: s.Peers,
		fresh: healthFresh, wait: healthWait, passed: make(chan struct{})}
	m.passTime.init(passBuckets)
	for i := range m.storeTime {
		m.storeTime[i].init(storeBucket)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", m.healthz)
	mux.HandleFunc("GET /metrics", m.serveMetrics)
	mux.HandleFunc("GET /status", m.status)
	m.http = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       5 * time.Second,
		// A health check (and /status) may wait healthWait for the loop
		// and as long for the store.
		WriteTimeout: 2*healthWait + 5*time.Second,
		IdleTimeout:  time.Minute,
		ErrorLog:     log.New(logWriter(s.cfg.Logf), "metrics: ", 0),
	}
	return m, nil
}

// logWriter hands the HTTP server's log lines to Config.Logf.
type logWriter func(string, ...any)

func (w logWriter) Write(b []byte) (int, error) {
	w("%s", bytes.TrimRight(b, "\n"))
	return len(b), nil
}

// MetricsAddr returns the address of the metrics endpoint, HOST:PORT, ""
// if there is none (Config.MetricsAddr).
func (s *Server) MetricsAddr() string {
	if s.metrics == nil {
		return ""
	}
	return s.metrics.ln.Addr().String()
}

// startMetrics serves the endpoint until stopMetrics.
func (s *Server) startMetrics() {
	m := s.metrics
	if m == nil {
		return
	}
	if s.durable != nil {
		m.probe = &storeProbe{st: s.durable.st, fresh: m.fresh, wait: m.wait}
	}
	m.served = make(chan struct{})
	go func() {
		defer close(m.served)
		if err := m.http.Serve(m.ln); err != nil && err != http.ErrServerClosed {
			s.cfg.Logf("metrics: %v", err)
		}
	}()
	s.cfg.Logf("metrics on http://%s/metrics", m.ln.Addr())
}

// stopMetrics runs when the loop has returned: handlers waiting for a pass
// are told there will be none, then the HTTP server is shut down, before
// the store closes.
func (s *Server) stopMetrics() {
	m := s.metrics
	if m == nil {
		return
	}
	m.mu.Lock()
	m.stopped.Store(true)
	close(m.passed)
	m.mu.Unlock()
	if m.served != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		m.http.Shutdown(ctx)
		cancel()
		m.http.Close()
		<-m.served
	}
	m.probe.stop()
}

// close releases the listener of an endpoint never served.
func (m *metrics) close() {
	if m != nil && m.served == nil {
		m.ln.Close()
	}
}

// endPass is the loop's heartbeat, at the end of every pass: when it ended
// and how long it took, and the snapshot if a handler asked for one.
func (s *Server) endPass(start time.Time) {
	m := s.metrics
	if m == nil {
		return
	}
	end := time.Now()
	m.passTime.observe(end.Sub(start))
	m.lastPass.Store(end.UnixNano())
	if s.shutting {
		m.shutting.Store(true)
	}
	if m.asked.Load() {
		s.publishFigures(m)
	}
}

// publishFigures hands the handlers waiting for this pass a snapshot of
// the loop's figures. It walks the connections (the logged-in users and
// the queued output are not kept as running counts), so it runs only when
// a handler asks: once per scrape or health check of an idle loop.
func (s *Server) publishFigures(m *metrics) {
	m.mu.Lock()
	m.asked.Store(false)
	done := m.passed
	m.passed = make(chan struct{})
	m.mu.Unlock()

	st := &s.stats
	f := loopFigures{connections: len(s.conns), sessions: s.hub.Sessions(),
		deliveries: st.deliveries, relayed: st.relayed, stored: st.stored, logins: st.logins}
	for _, c := range s.conns {
		if s.hub.Name(c.sid) != "" {
			f.loggedIn++
		}
		f.queuedBytes += c.pending()
	}
	if v := s.hub.StateVersion(); !st.roomsKnown || v != st.roomsVer {
		// Rooms are never removed, and each new one changes the version.
		st.rooms, st.roomsVer, st.roomsKnown = len(s.hub.RoomStates(false)), v, true
	}
	f.rooms = st.rooms

	m.mu.Lock()
	m.figures = f
	m.mu.Unlock()
	close(done)
}

// handled counts what a request's outputs amount to, before apply carries
// them out, in constant time whatever the room's size: a Say or a Tell
// whose reply, the last output, is OK was relayed, and a Say's other
// outputs are the message's deliveries. With a store a message's outputs
// are a StoreOp instead, and storeDone counts it.
func (st *loopStats) handled(typ wire.Type, outs []hub.Output) {
	kind := msgRoom
	switch typ {
	case wire.TypeSay:
	case wire.TypeTell:
		kind = msgPrivate
	default:
		return
	}
	n := len(outs)
	if n == 0 {
		return
	}
	if r := outs[n-1].Frame; r != nil && r.Type == wire.TypeReply && r.Code == wire.OK {
		st.relayed[kind]++
		if kind == msgRoom {
			st.deliveries += uint64(n - 1)
		}
	}
}

// storeDone counts a message the store kept. A hub that does not follow
// the store's stream shows a room message here: its outputs are then the
// deliveries, and the reply to its sender if it is still there; one that
// follows (the server's) replies only, and delivered counts the
// deliveries when the stream brings the message.
func (st *loopStats) storeDone(op *hub.StoreOp, outs []hub.Output) {
	if op.Kind != hub.StoreMessage || op.Failure != hub.StoreOK {
		return
	}
	kind := msgRoom
	if op.Frame.Type == wire.TypePrivate {
		kind = msgPrivate
	}
	st.stored[kind]++
	st.relayed[kind]++
	if n := len(outs); kind == msgRoom && n > 0 {
		if outs[n-1].Frame != op.Frame {
			n-- // the reply
		}
		st.deliveries += uint64(n)
	}
}

// delivered counts the deliveries of a room message the store's stream
// showed (hub.Delivered).
func (st *loopStats) delivered(outs []hub.Output) {
	st.deliveries += uint64(len(outs))
}

// loginChecked counts a password check's outcome.
func (st *loopStats) loginChecked(v hub.Verdict) {
	if v >= 0 && int(v) < verdicts {
		st.logins[v]++
	}
}

// storeOpDone counts a store op's outcome, on a store goroutine: its
// latency when the store took it (start set), its error if any.
func (m *metrics) storeOpDone(kind int, start time.Time, err error) {
	if m == nil {
		return
	}
	if !start.IsZero() {
		m.storeTime[kind].observe(time.Since(start))
	}
	m.storeError(err)
}

// storeError counts a store error by kind; nil counts nothing.
func (m *metrics) storeError(err error) {
	if m != nil && err != nil {
		m.storeErrs[storeErrKind(err)].Add(1)
	}
}

// awaitPass asks the loop for a pass and a snapshot, wakes it, and waits
// up to wait for the end of that pass; false if none came.
func (m *metrics) awaitPass(wait time.Duration) bool {
	m.mu.Lock()
	if m.stopped.Load() {
		m.mu.Unlock()
		return false
	}
	done := m.passed
	m.asked.Store(true)
	m.mu.Unlock()
	m.wake()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-done:
		return !m.stopped.Load()
	case <-t.C:
		return false
	}
}

// loopHealth says what is wrong with the loop, "" if it runs: it ended a
// pass within fresh, or ends one within wait when woken.
func (m *metrics) loopHealth() string {
	switch {
	case m.stopped.Load():
		return "loop: stopped"
	case m.shutting.Load():
		return "loop: shutting down"
	}
	last := time.Unix(0, m.lastPass.Load())
	if time.Since(last) < m.fresh || m.awaitPass(m.wait) {
		if m.shutting.Load() {
			return "loop: shutting down"
		}
		return ""
	}
	if m.stopped.Load() {
		return "loop: stopped"
	}
	if m.lastPass.Load() == 0 {
		return fmt.Sprintf("loop: no pass completed since the start (waited %v)", m.wait)
	}
	return fmt.Sprintf("loop: no pass completed for %v (waited %v after waking it)", time.Since(last).Round(time.Millisecond), m.wait)
}

// check says whether the store answers: the last probe's outcome if it
// is fresh, else that of a new one; a probe that has not answered within
// wait counts as a failure.
func (p *storeProbe) check() error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return errors.New("the server is stopping")
	}
	if p.running == nil && (p.at.IsZero() || time.Since(p.at) >= p.fresh) {
		done := make(chan struct{})
		p.running = done
		p.probes.Add(1)
		go func() {
			defer p.probes.Done()
			_, err := p.st.LastSeq(probeRoom)
			if inner := errors.Unwrap(err); inner != nil {
				err = inner // not LastSeq's "last of room ..."
			}
			p.mu.Lock()
			p.err, p.at, p.running = err, time.Now(), nil
			p.mu.Unlock()
			close(done)
		}()
	}
	done, err := p.running, p.err
	p.mu.Unlock()
	if done == nil {
		return err
	}
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case <-done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-t.C:
		return fmt.Errorf("no answer within %v", p.wait)
	}
}

// stop waits for the probe under way, if any (the store's timeout bounds
// it), before the store closes; no probe starts after.
func (p *storeProbe) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.stopped = true
	p.mu.Unlock()
	p.probes.Wait()
}

// problems says what keeps the server from being ready: the loop does
// not run, or the store (if any) does not answer; none when it is.
func (m *metrics) problems() []string {
	var problems []string
	if p := m.loopHealth(); p != "" {
		problems = append(problems, p)
	}
	if m.probe != nil {
		if err := m.probe.check(); err != nil {
			problems = append(problems, "message store: does not answer: "+err.Error())
		}
	}
	return problems
}

// healthz answers 200 "ok" while the loop runs and the store (if any)
// answers, else 503 with a line for each thing that is wrong.
//
// GET /healthz
func (m *metrics) healthz(w http.ResponseWriter, r *http.Request) {
	problems := m.problems()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		for _, p := range problems {
			fmt.Fprintln(w, p)
		}
		return
	}
	fmt.Fprintln(w, "ok")
}

// serveMetrics writes every metric in Prometheus's text format. Rates are
// Prometheus's business: counters only grow, from the server's start.
//
// GET /metrics
func (m *metrics) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !m.stopped.Load() {
		m.awaitPass(m.wait) // else the last snapshot, however old
	}
	m.mu.Lock()
	f := m.figures
	m.mu.Unlock()

	var e exposition
	e.nodeInfo(m.node())
	e.gauge("chat_connections", "Open connections, data connections of file transfers and those closing included.", float64(f.connections))
	e.gauge("chat_sessions", "Sessions the server holds: connections that speak the chat protocol or IRC.", float64(f.sessions))
	e.gauge("chat_users_logged_in", "Sessions logged in, with an account's password or a guest name.", float64(f.loggedIn))
	e.gauge("chat_rooms", "Rooms the server holds.", float64(f.rooms))
	e.gauge("chat_transfers", "File transfers under way.", float64(m.relay.transfers.Load()))
	e.gauge("chat_output_queued_bytes", "Bytes of output queued to connections and not yet written.", float64(f.queuedBytes))

	e.family("chat_messages_relayed_total", "counter", "Messages accepted and passed on: room messages to their rooms (each once, whatever the room's size), private messages to their recipients or, with a store, kept for them.")
	for k, name := range msgKindNames {
		e.sample("chat_messages_relayed_total", label("kind", name), float64(f.relayed[k]))
	}
	e.family("chat_messages_stored_total", "counter", "Messages the message store acknowledged (none without a store).")
	for k, name := range msgKindNames {
		e.sample("chat_messages_stored_total", label("kind", name), float64(f.stored[k]))
	}
	e.counter("chat_deliveries_total", "Room messages handed to sessions: one for each other member of the room of each message relayed (replays of history not included).", float64(f.deliveries))
	e.counter("chat_output_bytes_total", "Bytes of messages and notices queued to sessions.", float64(m.outputBytes()))
	e.counter("chat_transfer_bytes_total", "Bytes of files relayed from owners to requesters.", float64(m.relay.relayed.Load()))

	e.counter("chat_logins_total", "Password logins accepted.", float64(f.logins[hub.VerdictOK]))
	e.family("chat_login_failures_total", "counter", "Password logins refused: wrong name or password, too many checks under way (busy), or the check could not run (unavailable).")
	e.sample("chat_login_failures_total", label("reason", "wrong_password"), float64(f.logins[hub.VerdictWrong]))
	e.sample("chat_login_failures_total", label("reason", "busy"), float64(f.logins[hub.VerdictBusy]))
	e.sample("chat_login_failures_total", label("reason", "unavailable"), float64(f.logins[hub.VerdictUnavailable]))

	e.histogram("chat_loop_pass_duration_seconds", "How long the loop's passes took, from poll's return to the last write.", "", &m.passTime, true)
	e.gauge("chat_loop_last_pass_timestamp_seconds", "When the loop last ended a pass, Unix time (it sleeps in poll while idle: see /healthz).", float64(m.lastPass.Load())/1e9)

	if m.probe != nil {
		e.family("chat_store_op_duration_seconds", "histogram", "Latency of the message store's ops, from the loop handing one over to its outcome, by op.")
		for k, name := range storeOpNames {
			e.histogram("chat_store_op_duration_seconds", "", label("op", name), &m.storeTime[k], false)
		}
		e.family("chat_store_errors_total", "counter", "Errors of the message store, by kind: full, inbox_full, timeout (may have been stored), busy (its queue full), closed, unavailable.")
		for k, name := range storeErrNames {
			e.sample("chat_store_errors_total", label("kind", name), float64(m.storeErrs[k].Load()))
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	w.Write(e.b.Bytes())
}

// histogram counts durations in buckets, from any goroutine.
type histogram struct {
	bounds []time.Duration // upper bounds (le), ascending
	counts []atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Int64    // nanoseconds
}

func (h *histogram) init(bounds []time.Duration) {
	h.bounds = bounds
	h.counts = make([]atomic.Uint64, len(bounds)+1)
}

func (h *histogram) observe(d time.Duration) {
	i, _ := slices.BinarySearch(h.bounds, d) // the first bound ≥ d
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// durations turns bucket bounds in seconds into durations.
func durations(secs ...float64) []time.Duration {
	ds := make([]time.Duration, len(secs))
	for i, s := range secs {
		ds[i] = time.Duration(s * float64(time.Second))
	}
	return ds
}

// exposition writes Prometheus's text format, version 0.0.4: a HELP and a
// TYPE line for each family, then its samples, one a line.
type exposition struct{ b bytes.Buffer }

func (e *exposition) family(name, typ, help string) {
	fmt.Fprintf(&e.b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
}

func (e *exposition) sample(name, labels string, v float64) {
	e.b.WriteString(name)
	if labels != "" {
		e.b.WriteString("{" + labels + "}")
	}
	e.b.WriteByte(' ')
	e.b.WriteString(formatValue(v))
	e.b.WriteByte('\n')
}

func (e *exposition) gauge(name, help string, v float64) {
	e.family(name, "gauge", help)
	e.sample(name, "", v)
}

func (e *exposition) counter(name, help string, v float64) {
	e.family(name, "counter", help)
	e.sample(name, "", v)
}

// histogram writes h's samples, cumulative, with labels before le; with
// header, its HELP and TYPE lines first.
func (e *exposition) histogram(name, help, labels string, h *histogram, header bool) {
	if header {
		e.family(name, "histogram", help)
	}
	sep := ""
	if labels != "" {
		sep = ","
	}
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
		le := "+Inf"
		if i < len(h.bounds) {
			le = formatValue(h.bounds[i].Seconds())
		}
		e.sample(name+"_bucket", labels+sep+label("le", le), float64(n))
	}
	e.sample(name+"_sum", labels, time.Duration(h.sum.Load()).Seconds())
	e.sample(name+"_count", labels, float64(n))
}

// label is one label pair; values are ours, so only quotes and
// backslashes would need escaping, and none has them.
func label(name, value string) string { return name + `="` + value + `"` }

func formatValue(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
