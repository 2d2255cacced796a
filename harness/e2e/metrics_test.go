package e2e_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// The operations endpoint (-metrics HOST:PORT): /healthz for a load
// balancer and /metrics for Prometheus, read over HTTP from the real
// binary. The server package's tests check the format line by line and
// each way /healthz can fail; this spec checks the flag, the line the
// server prints, and that both answer a running server as its users chat.

// metricsLine is the line a server started with -metrics prints before its
// ready line, with the address it bound.
var metricsLine = regexp.MustCompile(`chat-server: metrics on http://(127\.0\.0\.1:\d+)/metrics\n`)

// httpGet returns the status and body of a GET of url.
func httpGet(url string) (int, string, error) {
	c := &http.Client{Timeout: deadline}
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// metricSample is a sample line of the text format: name{labels} value.
var metricSample = regexp.MustCompile(`^(chat_[a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)

// scrapeMetrics reads url's samples by series, failing on a line that is
// neither a sample nor a HELP or TYPE line, and on a sample whose family
// has no TYPE line before it.
func scrapeMetrics(url string) (map[string]float64, error) {
	code, body, err := httpGet(url)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("status %d: %s", code, body)
	}
	samples := make(map[string]float64)
	typed := make(map[string]bool)
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[0] == "#" && f[1] == "TYPE" {
			typed[f[2]] = true
			continue
		}
		if strings.HasPrefix(line, "# HELP chat_") {
			continue
		}
		m := metricSample.FindStringSubmatch(line)
		if m == nil {
			return nil, fmt.Errorf("not a sample: %q in\n%s", line, body)
		}
		family, _, _ := strings.Cut(m[1], "{")
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(family, "_bucket"), "_sum"), "_count")
		if !typed[family] && !typed[base] {
			return nil, fmt.Errorf("%s has no TYPE line before it in\n%s", family, body)
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			return nil, fmt.Errorf("bad value in %q", line)
		}
		samples[m[1]] = v
	}
	return samples, nil
}

var _ = Describe("The metrics endpoint", func() {
	Context("when the server is started with -metrics 127.0.0.1:0", func() {
		It("answers /healthz ok and /metrics with figures that follow two users chatting [I17.4]", func() {
			srv := startServer(accounts, "-metrics", "127.0.0.1:0")
			m := metricsLine.FindStringSubmatch(srv.Stdout())
			Expect(m).NotTo(BeNil(), "no metrics line before the ready line:\n%s", srv.Output())
			base := "http://" + m[1]

			code, body, err := httpGet(base + "/healthz")
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(http.StatusOK), body)
			Expect(body).To(Equal("ok\n"))
			before, err := scrapeMetrics(base + "/metrics")
			Expect(err).NotTo(HaveOccurred())
			Expect(before).To(HaveKeyWithValue("chat_users_logged_in", 0.0))
			Expect(before).To(HaveKeyWithValue("chat_deliveries_total", 0.0))

			alice := loginClient(srv, "alice")
			bob := loginClient(srv, "bob")
			createRoom(alice, "lounge")
			enterRoom(bob, "lounge")
			expect(alice, server(`bob entered lounge`))
			say(alice, "alice", "hello bob", bob)
			say(bob, "bob", "hello alice", alice)
			say(alice, "alice", "is the server healthy?", bob)

			code, body, err = httpGet(base + "/healthz")
			Expect(err).NotTo(HaveOccurred())
			Expect(code).To(Equal(http.StatusOK), body)
			var got map[string]float64
			Eventually(func() (map[string]float64, error) {
				got, err = scrapeMetrics(base + "/metrics")
				return got, err
			}).WithTimeout(deadline).WithPolling(50 * time.Millisecond).Should(And(
				HaveKeyWithValue("chat_sessions", 2.0),
				HaveKeyWithValue("chat_users_logged_in", 2.0),
				HaveKeyWithValue("chat_rooms", 1.0),
				HaveKeyWithValue("chat_logins_total", 2.0),
				HaveKeyWithValue(`chat_messages_relayed_total{kind="room"}`, 3.0),
				HaveKeyWithValue("chat_deliveries_total", 3.0),
				HaveKeyWithValue(`chat_login_failures_total{reason="wrong_password"}`, 0.0),
			))
			Expect(got["chat_loop_pass_duration_seconds_count"]).To(BeNumerically(">", before["chat_loop_pass_duration_seconds_count"]))
			Expect(got["chat_output_bytes_total"]).To(BeNumerically(">", 0))
		})
	})
})
