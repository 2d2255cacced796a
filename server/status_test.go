package server

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"chat/internal/store"
)

// Which node a server is (status.go): GET /status and chat_node_info
// (I17.4). The clusters' own are the command's tests and the store's.

// status is GET /status, failing the test if it cannot be fetched.
func status(t *testing.T, s *startedServer) (int, string) {
	t.Helper()
	code, body, err := httpGet(t, s, "/status")
	if err != nil {
		t.Fatalf("GET /status: %v", err)
	}
	return code, body
}

// A server keeping messages in memory is a node of no cluster, named
// after its host, with no peers.
func TestStatusInMemory(t *testing.T) {
	s := startMetrics(t, Config{}, nil)
	host, _ := os.Hostname()
	want := fmt.Sprintf("ok\nnode %s\ncluster -\nreplicas 0\n", host)
	if code, body := status(t, s); code != http.StatusOK || body != want {
		t.Fatalf("/status: %d %q; want 200 %q", code, body, want)
	}
	got, body := scrape(t, s)
	if got[`chat_node_info{node="`+host+`",cluster=""}`] != 1 {
		t.Fatalf("no chat_node_info for %s:\n%s", host, body)
	}
}

// On an external NATS the node is named by Config.ServerName (quoted in
// its label as the text format wants), the NATS server its store is
// connected to is its one peer, and when that server goes away /status
// answers 503 with what is wrong, and the peer as not answering.
func TestStatusOnExternalNATS(t *testing.T) {
	ns := startNATS(t, t.TempDir(), 0)
	s := startMetrics(t, Config{NATS: []string{ns.ClientURL()}, ServerName: `web"1`}, func(m *metrics) { m.fresh = 20 * time.Millisecond })
	code, body := status(t, s)
	want := fmt.Sprintf("ok\nnode web\"1\ncluster -\nreplicas 1\nnats %s\npeer %s %s connected, ROOMS leader\n", ns.ClientURL(), ns.Name(), ns.ClientURL())
	if code != http.StatusOK || body != want {
		t.Fatalf("/status: %d\n%s\nwant 200\n%s", code, body, want)
	}
	if got, body := scrape(t, s); got[`chat_node_info{node="web\"1",cluster=""}`] != 1 {
		t.Fatalf("no chat_node_info for web\"1:\n%s", body)
	}

	ns.Shutdown()
	ns.WaitForShutdown()
	waitFor(t, "/status to see NATS gone", func() bool {
		code, body = status(t, s)
		return code == http.StatusServiceUnavailable && strings.HasPrefix(body, "not ready: message store: ") &&
			strings.Contains(body, "\npeer - "+ns.ClientURL()+" no answer (")
	})
	t.Logf("NATS gone:\n%s", body)
}

// A peer's state in words.
func TestPeerState(t *testing.T) {
	for _, tc := range []struct {
		peer     store.Peer
		embedded bool
		want     string
	}{
		{store.Peer{Self: true, Connected: true, MetaLeader: true, Leader: true}, true, "this node, meta leader, ROOMS leader"},
		{store.Peer{Self: true, Connected: true, Replica: store.Replica{Kept: true, Current: true}}, false, "connected, ROOMS replica current"},
		{store.Peer{Connected: true, Replica: store.Replica{Kept: true, Lag: 12, Active: 1500 * time.Microsecond}}, true, "connected, ROOMS replica behind by 12 (last heard from 2ms ago)"},
		{store.Peer{Replica: store.Replica{Kept: true, Current: true, Offline: true, Active: 3 * time.Second}}, true, "not connected, ROOMS replica offline (last heard from 3s ago)"},
		{store.Peer{Replica: store.Replica{Kept: true, Offline: true}}, true, "not connected, ROOMS replica offline"},
		{store.Peer{URL: "nats://b:4222"}, false, "answers"},
		{store.Peer{URL: "nats://b:6222", Err: errors.New("connection refused")}, true, "no answer (connection refused)"},
	} {
		if got := peerState(tc.peer, tc.embedded); got != tc.want {
			t.Errorf("%+v (embedded %v): %q, want %q", tc.peer, tc.embedded, got, tc.want)
		}
	}
}
