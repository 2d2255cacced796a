package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// The operations endpoint (metrics.go), issue 17's item 4 (I17.4).

// startMetrics is start with a metrics endpoint on a free port of
// loopback; tune, when not nil, changes the endpoint's timing before Run.
func startMetrics(t *testing.T, cfg Config, tune func(*metrics)) *startedServer {
	t.Helper()
	cfg.MetricsAddr = "127.0.0.1:0"
	return startTuned(t, cfg, func(s *Server) {
		if tune != nil {
			tune(s.metrics)
		}
	})
}

// httpGet fetches path from the server's metrics endpoint.
func httpGet(t *testing.T, s *startedServer, path string) (int, string, error) {
	t.Helper()
	c := &http.Client{Timeout: 15 * time.Second}
	resp, err := c.Get("http://" + s.MetricsAddr() + path)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// healthz is GET /healthz, failing the test if it cannot be fetched.
func healthz(t *testing.T, s *startedServer) (int, string) {
	t.Helper()
	code, body, err := httpGet(t, s, "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	return code, body
}

// scrape is GET /metrics, checked by checkExposition; it returns the
// samples by series (`name{labels}` as written).
func scrape(t *testing.T, s *startedServer) (map[string]float64, string) {
	t.Helper()
	code, body, err := httpGet(t, s, "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v\n%s", code, err, body)
	}
	samples, err := checkExposition(body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus's text format: %v\n%s", err, body)
	}
	return samples, body
}

// waitMetrics scrapes until every series in want has its value, and fails
// with the last scrape if the deadline passes first.
func waitMetrics(t *testing.T, s *startedServer, want map[string]float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, body := scrape(t, s)
		var wrong []string
		for series, v := range want {
			if g, ok := got[series]; !ok || g != v {
				wrong = append(wrong, fmt.Sprintf("%s = %v (ok %v), want %v", series, g, ok, v))
			}
		}
		if len(wrong) == 0 {
			return got
		}
		if time.Now().After(deadline) {
			slices.Sort(wrong)
			t.Fatalf("metrics:\n%s\nthe last scrape:\n%s", strings.Join(wrong, "\n"), body)
		}
	}
}

// The parts of the text format (version 0.0.4) checkExposition knows.
var (
	helpLine   = regexp.MustCompile(`^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$`)
	typeLine   = regexp.MustCompile(`^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$`)
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelPair  = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`
	labelSet   = regexp.MustCompile(`^` + labelPair + `(?:,` + labelPair + `)*$`)
	leLabel    = regexp.MustCompile(`(?:^|,)le="([^"]*)"`)
)

// checkExposition checks a /metrics body: every line a HELP, a TYPE or a
// sample `name{labels} value`; each family's HELP and TYPE once, before its
// samples, which are together; names prefixed chat_, counters ending in
// _total; no series twice; a histogram's buckets cumulative up to +Inf,
// which equals its _count, and its _sum there. It returns the samples.
func checkExposition(body string) (map[string]float64, error) {
	if !strings.HasSuffix(body, "\n") {
		return nil, errors.New("the last line does not end in a line feed")
	}
	samples := make(map[string]float64)
	help, types := make(map[string]bool), make(map[string]string)
	done := make(map[string]bool) // families whose samples have ended
	current := ""
	type hist struct {
		les    []float64
		counts []float64
		count  float64
		sum    bool
	}
	hists := make(map[string]*hist) // by family and labels without le
	for i, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		n := i + 1
		if m := helpLine.FindStringSubmatch(line); m != nil {
			if help[m[1]] {
				return nil, fmt.Errorf("line %d: a second HELP for %s", n, m[1])
			}
			help[m[1]] = true
			continue
		}
		if m := typeLine.FindStringSubmatch(line); m != nil {
			if types[m[1]] != "" {
				return nil, fmt.Errorf("line %d: a second TYPE for %s", n, m[1])
			}
			if m[2] == "counter" && !strings.HasSuffix(m[1], "_total") {
				return nil, fmt.Errorf("line %d: counter %s does not end in _total", n, m[1])
			}
			types[m[1]] = m[2]
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("line %d: neither HELP, TYPE nor a sample: %q", n, line)
		}
		name, labels, value := m[1], m[2], m[3]
		if !strings.HasPrefix(name, "chat_") {
			return nil, fmt.Errorf("line %d: %s is not prefixed chat_", n, name)
		}
		if labels != "" && !labelSet.MatchString(labels) {
			return nil, fmt.Errorf("line %d: bad labels {%s}", n, labels)
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad value %q", n, value)
		}
		family, suffix := name, ""
		for _, sfx := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, sfx); ok && types[base] == "histogram" {
				family, suffix = base, sfx
			}
		}
		if types[family] == "" || !help[family] {
			return nil, fmt.Errorf("line %d: %s has no TYPE and HELP before it", n, family)
		}
		if family != current {
			if done[family] {
				return nil, fmt.Errorf("line %d: the samples of %s are not together", n, family)
			}
			done[current] = true
			current = family
		}
		series := name
		if labels != "" {
			series += "{" + labels + "}"
		}
		if _, dup := samples[series]; dup {
			return nil, fmt.Errorf("line %d: %s twice", n, series)
		}
		samples[series] = v
		if types[family] != "histogram" {
			continue
		}
		le := leLabel.FindStringSubmatch(labels)
		rest := leLabel.ReplaceAllString(labels, "")
		rest = strings.TrimPrefix(rest, ",")
		h := hists[family+"{"+rest+"}"]
		if h == nil {
			h = &hist{}
			hists[family+"{"+rest+"}"] = h
		}
		switch suffix {
		case "_bucket":
			if le == nil {
				return nil, fmt.Errorf("line %d: a bucket without le", n)
			}
			bound, err := strconv.ParseFloat(le[1], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: bad le %q", n, le[1])
			}
			if k := len(h.les); k > 0 && (bound <= h.les[k-1] || v < h.counts[k-1]) {
				return nil, fmt.Errorf("line %d: buckets not in order or not cumulative", n)
			}
			h.les, h.counts = append(h.les, bound), append(h.counts, v)
		case "_count":
			h.count = v
		case "_sum":
			h.sum = true
		default:
			return nil, fmt.Errorf("line %d: histogram %s has a sample %s", n, family, name)
		}
	}
	for key, h := range hists {
		k := len(h.les)
		if k == 0 || h.les[k-1] <= 1e308 || h.counts[k-1] != h.count || !h.sum {
			return nil, fmt.Errorf("histogram %s: no +Inf bucket, or it differs from _count, or no _sum", key)
		}
	}
	return samples, nil
}

// The checker itself fails on what Prometheus would refuse or misread.
func TestCheckExpositionRefusesBadText(t *testing.T) {
	good := "# HELP chat_x_total X.\n# TYPE chat_x_total counter\nchat_x_total{kind=\"a\"} 1\n"
	if _, err := checkExposition(good); err != nil {
		t.Fatalf("good text refused: %v", err)
	}
	for name, text := range map[string]string{
		"no TYPE":           "# HELP chat_x_total X.\nchat_x_total 1\n",
		"no HELP":           "# TYPE chat_x gauge\nchat_x 1\n",
		"counter no _total": "# HELP chat_x X.\n# TYPE chat_x counter\nchat_x 1\n",
		"no prefix":         "# HELP x X.\n# TYPE x gauge\nx 1\n",
		"bad value":         "# HELP chat_x X.\n# TYPE chat_x gauge\nchat_x one\n",
		"bad labels":        "# HELP chat_x X.\n# TYPE chat_x gauge\nchat_x{kind=a} 1\n",
		"twice":             "# HELP chat_x X.\n# TYPE chat_x gauge\nchat_x 1\nchat_x 2\n",
		"no line feed":      "# HELP chat_x X.\n# TYPE chat_x gauge\nchat_x 1",
		"not cumulative": "# HELP chat_h X.\n# TYPE chat_h histogram\nchat_h_bucket{le=\"1\"} 2\nchat_h_bucket{le=\"+Inf\"} 1\n" +
			"chat_h_sum 1\nchat_h_count 1\n",
		"+Inf is not count": "# HELP chat_h X.\n# TYPE chat_h histogram\nchat_h_bucket{le=\"1\"} 1\nchat_h_bucket{le=\"+Inf\"} 1\n" +
			"chat_h_sum 1\nchat_h_count 2\n",
	} {
		if _, err := checkExposition(text); err == nil {
			t.Errorf("%s: accepted\n%s", name, text)
		}
	}
}

// /metrics is Prometheus's text format, and its figures follow what users
// do: logins and failed ones, rooms, messages said and told, deliveries to
// each other member (a History's replay is not one), and the loop's
// passes.
func TestMetricsFollowUsers(t *testing.T) {
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland", "bob": "builder", "carol": "singer"})
	s := startMetrics(t, Config{UsersFile: users, MsgRate: -1}, nil)
	if a := s.MetricsAddr(); !strings.HasPrefix(a, "127.0.0.1:") || strings.HasSuffix(a, ":0") {
		t.Fatalf("MetricsAddr() = %q", a)
	}
	before, _ := scrape(t, s)
	for _, name := range []string{"chat_sessions", "chat_users_logged_in", "chat_rooms", "chat_transfers",
		"chat_output_queued_bytes", "chat_deliveries_total", `chat_messages_relayed_total{kind="room"}`,
		`chat_login_failures_total{reason="wrong_password"}`, "chat_loop_pass_duration_seconds_count"} {
		if _, ok := before[name]; !ok {
			t.Errorf("no %s", name)
		}
	}
	if before["chat_users_logged_in"] != 0 || before["chat_deliveries_total"] != 0 {
		t.Fatalf("a server without users: %v", before)
	}

	a, b, c := dial(t, s.Addr()), dial(t, s.Addr()), dial(t, s.Addr())
	if r := a.login("alice", "wrong"); r.Code != wire.ErrBadLogin {
		t.Fatalf("wrong password: %+v", r)
	}
	a.call(&wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "wonderland"})
	b.login("bob", "builder")
	c.login("carol", "singer")
	a.call(&wire.Frame{Type: wire.TypeCreate, Room: "lounge"})
	a.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	b.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	a.expect(wire.TypeNotice, wire.NoticeEntered, "bob entered lounge")
	c.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	a.expect(wire.TypeNotice, wire.NoticeEntered, "carol entered lounge")
	b.expect(wire.TypeNotice, wire.NoticeEntered, "carol entered lounge")
	for _, text := range []string{"one", "two", "three"} {
		if r := a.call(&wire.Frame{Type: wire.TypeSay, Text: text}); r.Code != wire.OK {
			t.Fatalf("say: %+v", r)
		}
		b.expect(wire.TypeMessage, 0, text)
		c.expect(wire.TypeMessage, 0, text)
	}
	b.call(&wire.Frame{Type: wire.TypeSay, Text: "four"})
	a.expect(wire.TypeMessage, 0, "four")
	c.expect(wire.TypeMessage, 0, "four")
	if r := a.call(&wire.Frame{Type: wire.TypeTell, To: "bob", Text: "psst"}); r.Code != wire.OK {
		t.Fatalf("tell: %+v", r)
	}
	b.expect(wire.TypePrivate, 0, "psst")
	// The replay of lounge's four messages to carol, out of the room now,
	// delivers nothing new.
	c.call(&wire.Frame{Type: wire.TypeLeave})
	a.expect(wire.TypeNotice, wire.NoticeLeft, "carol left lounge")
	id := c.send(&wire.Frame{Type: wire.TypeHistory, Room: "lounge"})
	for range 4 {
		c.expect(wire.TypeMessage, 0, "")
	}
	c.expectReply(id, wire.OK)

	after := waitMetrics(t, s, map[string]float64{
		"chat_sessions":        3,
		"chat_users_logged_in": 3,
		"chat_rooms":           1,
		`chat_messages_relayed_total{kind="room"}`:           4,
		`chat_messages_relayed_total{kind="private"}`:        1,
		`chat_messages_stored_total{kind="room"}`:            0,
		"chat_deliveries_total":                              8, // each to two others
		"chat_logins_total":                                  3,
		`chat_login_failures_total{reason="wrong_password"}`: 1,
		`chat_login_failures_total{reason="busy"}`:           0,
		"chat_transfers":                                     0,
	})
	if after["chat_loop_pass_duration_seconds_count"] <= before["chat_loop_pass_duration_seconds_count"] ||
		after["chat_output_bytes_total"] <= before["chat_output_bytes_total"] {
		t.Fatalf("passes or output did not move: before %v, after %v", before, after)
	}
	if _, ok := after["chat_store_errors_total{kind=\"unavailable\"}"]; ok {
		t.Fatal("store metrics on a server without a store")
	}

	// Logging out and leaving are seen too.
	a.call(&wire.Frame{Type: wire.TypeLogout})
	b.conn.Close()
	waitMetrics(t, s, map[string]float64{"chat_sessions": 2, "chat_users_logged_in": 1, "chat_rooms": 1})
}

// /healthz is 200 "ok" while the loop runs, idle in poll too (the check
// wakes it), 503 once it shuts down, and the endpoint is gone, with its
// goroutines, when Run returns.
func TestMetricsHealthzFollowsTheLoop(t *testing.T) {
	warmUp(t)
	goBefore := runtime.NumGoroutine()
	s := startMetrics(t, Config{ShutdownTimeout: 5 * time.Second}, func(m *metrics) { m.fresh = 20 * time.Millisecond })
	if code, body := healthz(t, s); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz on a running server: %d %q", code, body)
	}
	// Idle: no pass for longer than a pass proves anything, so the check
	// must wake the loop and see it end a pass.
	m := s.metrics
	waitFor(t, "the loop to idle", func() bool {
		return time.Since(time.Unix(0, m.lastPass.Load())) > 5*m.fresh
	})
	idleSince := m.lastPass.Load()
	if code, body := healthz(t, s); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz on an idle server: %d %q", code, body)
	}
	if m.lastPass.Load() == idleSince {
		t.Fatal("the idle loop was not woken for the check")
	}

	// A client that neither reads nor closes holds the shutdown open.
	c := dial(t, s.Addr())
	c.call(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	s.Shutdown()
	waitFor(t, "/healthz to say the server is shutting down", func() bool {
		code, body := healthz(t, s)
		return code == http.StatusServiceUnavailable && body == "loop: shutting down\n"
	})
	c.conn.Close()
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	if _, _, err := httpGet(t, s, "/healthz"); err == nil {
		t.Fatal("the metrics endpoint still answers after Run returned")
	}
	waitFor(t, "goroutines to end", func() bool { return runtime.NumGoroutine() <= goBefore })
}

// A loop that does not end a pass within the wait is reported: the test
// holds the lock the loop takes for the store's outcomes, once a pass.
func TestMetricsHealthzStuckLoop(t *testing.T) {
	s := startMetrics(t, Config{StateDir: t.TempDir()}, func(m *metrics) {
		m.fresh, m.wait = 20*time.Millisecond, 300*time.Millisecond
	})
	if code, body := healthz(t, s); code != http.StatusOK {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	d := s.durable
	d.mu.Lock()
	stuck := regexp.MustCompile(`^loop: no pass completed for \d\S* \(waited 300ms after waking it\)\n$`)
	var body string
	waitFor(t, "/healthz to see the loop stuck", func() bool {
		var code int
		code, body = healthz(t, s)
		return code == http.StatusServiceUnavailable && stuck.MatchString(body)
	})
	// A scrape still answers, with the last figures.
	if code, _, err := httpGet(t, s, "/metrics"); err != nil || code != http.StatusOK {
		t.Errorf("/metrics of a stuck loop: %d %v", code, err)
	}
	d.mu.Unlock()
	waitFor(t, "/healthz to see the loop again", func() bool {
		code, _ := healthz(t, s)
		return code == http.StatusOK
	})
	t.Logf("stuck: %q", body)
}

// With an external NATS, /healthz says so when the store stops answering
// and is 200 again once it is back; the store's ops and errors are
// counted.
func TestMetricsHealthzStoreDown(t *testing.T) {
	dir := t.TempDir()
	ns := startNATS(t, dir, 0)
	port := ns.Addr().(*net.TCPAddr).Port
	s := startMetrics(t, Config{NATS: []string{ns.ClientURL()}, MsgRate: -1}, func(m *metrics) { m.fresh = 20 * time.Millisecond })
	if code, body := healthz(t, s); code != http.StatusOK || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	a, b := aliceAndBobInLounge(t, s)
	if r := a.call(&wire.Frame{Type: wire.TypeSay, Text: "before"}); r.Code != wire.OK {
		t.Fatalf("say: %+v", r)
	}
	b.expect(wire.TypeMessage, 0, "before")
	got := waitMetrics(t, s, map[string]float64{
		"chat_deliveries_total":                       1,
		`chat_messages_stored_total{kind="room"}`:     1,
		`chat_messages_relayed_total{kind="room"}`:    1,
		`chat_store_errors_total{kind="unavailable"}`: 0,
	})
	if got[`chat_store_op_duration_seconds_count{op="message"}`] != 1 || got[`chat_store_op_duration_seconds_count{op="room"}`] < 1 {
		t.Fatalf("store ops not timed: %v", got)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	var body string
	waitFor(t, "/healthz to see the store down", func() bool {
		var code int
		code, body = healthz(t, s)
		return code == http.StatusServiceUnavailable && strings.HasPrefix(body, "message store: ") && !strings.Contains(body, "loop")
	})
	if r := a.call(&wire.Frame{Type: wire.TypeSay, Text: "during"}); r.Code != wire.ErrUnavailable {
		t.Fatalf("say while NATS is down: %+v", r)
	}
	got, text := scrape(t, s)
	if got[`chat_store_errors_total{kind="unavailable"}`] < 1 || got[`chat_messages_stored_total{kind="room"}`] != 1 {
		t.Fatalf("the refused message is not counted as a store error:\n%s", text)
	}

	startNATS(t, dir, port)
	waitFor(t, "/healthz to see the store back", func() bool {
		code, _ := healthz(t, s)
		return code == http.StatusOK
	})
	t.Logf("down: %q", body)
}

// A metrics address that cannot be listened on fails New, saying so.
func TestMetricsBadAddress(t *testing.T) {
	users := writeUsers(t, t.TempDir(), nil)
	_, err := New(Config{Addr: "127.0.0.1:0", UsersFile: users, MetricsAddr: "127.0.0.1:no"})
	if err == nil || !strings.Contains(err.Error(), "cannot serve metrics") {
		t.Fatalf("New with a bad metrics address: %v", err)
	}
}
