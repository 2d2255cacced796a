package main

import (
	"io"
	"reflect"
	"strings"
	"testing"

	"chat/server"
)

// TestFlagDefaultsAreTheServers: the flags start from server.DefaultConfig,
// so a server started without flags runs with the library's defaults, each
// written once where it is applied.
func TestFlagDefaultsAreTheServers(t *testing.T) {
	cfg, _, _, ok := parseServe(nil, io.Discard)
	if !ok {
		t.Fatal("no flags did not parse")
	}
	want := server.DefaultConfig()
	// Set by the command itself, not defaults of the library.
	cfg.Logf, want.Logf = nil, nil
	cfg.WriteHelpers, cfg.Poller = want.WriteHelpers, want.Poller
	// These depend on where messages are kept (-state, -store, -nats):
	// the flags leave them to New.
	want.Store, want.HistoryLen, want.HistoryBytes = "", 0, 0
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("flags' defaults:\n%+v\nserver's:\n%+v", cfg, want)
	}
	cfg, _, _, _ = parseServe([]string{"-max-rooms", "7", "-msg-burst", "3", "4242"}, io.Discard)
	if cfg.MaxRooms != 7 || cfg.MsgBurst != 3 || cfg.Addr != ":4242" {
		t.Fatalf("flags not applied: %+v", cfg)
	}
}

// The cluster flags (cluster.go) reach the Config; a combination that
// cannot work is a usage error (exit status 2) that says why: in the
// command line's words when it is about other flags (-state, -store,
// -nats), in the store's when it is about the values.
func TestClusterFlags(t *testing.T) {
	state := t.TempDir()
	node := []string{"-state", state, "-cluster", "chat", "-cluster-listen", "127.0.0.1:6222"}
	cfg, _, _, ok := parseServe(append(node, "-routes", " nats://127.0.0.1:6222, 127.0.0.1:6223,,", "-routes", "127.0.0.1:6224",
		"-server-name", "n1", "-replicas", "3"), io.Discard)
	wantRoutes := []string{"nats://127.0.0.1:6222", "127.0.0.1:6223", "127.0.0.1:6224"}
	if !ok || cfg.Cluster != "chat" || cfg.ClusterListen != "127.0.0.1:6222" || !reflect.DeepEqual(cfg.Routes, wantRoutes) ||
		cfg.ServerName != "n1" || cfg.Replicas != 3 {
		t.Fatalf("a node's flags: ok %v, %q %q %q %q %d", ok, cfg.Cluster, cfg.ClusterListen, cfg.Routes, cfg.ServerName, cfg.Replicas)
	}
	cfg, _, _, ok = parseServe([]string{"-nats", "nats://a:4222,nats://b:4222", "-server-name", "web1", "-replicas", "3"}, io.Discard)
	if !ok || cfg.ServerName != "web1" || cfg.Replicas != 3 || len(cfg.NATS) != 2 {
		t.Fatalf("-nats with -server-name and -replicas: ok %v, %q %d %q", ok, cfg.ServerName, cfg.Replicas, cfg.NATS)
	}

	routes := []string{"-routes", "127.0.0.1:6223"}
	for _, tc := range []struct {
		what string
		args []string
		want string
	}{
		{"a cluster without -state", []string{"-cluster", "chat", "-cluster-listen", ":6222", "-routes", "127.0.0.1:6223"},
			"a cluster (-cluster, -cluster-listen, -routes) needs -state DIR"},
		{"routes alone without -state", routes, "needs -state DIR"},
		{"a cluster in -store embedded without -state", append([]string{"-store", "embedded", "-cluster", "chat", "-cluster-listen", ":6222"}, routes...),
			"needs -state DIR"},
		{"a cluster with -store memory", append([]string{"-store", "memory"}, append(node, routes...)...),
			"-store memory keeps messages in this process alone"},
		{"a cluster with -nats", []string{"-nats", "nats://a:4222", "-cluster", "chat", "-cluster-listen", ":6222", "-routes", "b:6222"},
			"store: a cluster (name, listen address, routes) is for the embedded NATS: with NATS URLs, the cluster is theirs"},
		{"-routes with no route", append(node, "-routes", " , "), "invalid value \" , \" for flag -routes: no route"},
		{"no routes", node, "store: cluster chat: no routes to the other servers"},
		{"no listen address", []string{"-state", state, "-cluster", "chat", "-routes", "127.0.0.1:6223"},
			"store: cluster chat: no address to listen for routes on"},
		{"routes without a cluster name", []string{"-state", state, "-cluster-listen", ":6222", "-routes", "127.0.0.1:6223"},
			"store: a cluster listen address or routes without a cluster name"},
		{"a bad listen address", []string{"-state", state, "-cluster", "chat", "-cluster-listen", "6222", "-routes", "127.0.0.1:6223"},
			`store: cluster listen address "6222"`},
		{"a route without a port", append(node, "-routes", "nats://127.0.0.1"), `store: route "nats://127.0.0.1": want nats://HOST:PORT`},
		{"a cluster name with a space", []string{"-state", state, "-cluster", "my chat", "-cluster-listen", ":6222", "-routes", "b:6222"},
			`store: cluster name "my chat" has spaces`},
		{"a server name with a space", append(append(node, routes...), "-server-name", "n 1"), `store: server name "n 1" has spaces`},
		{"a server name with a space on NATS", []string{"-nats", "nats://a:4222", "-server-name", "web 1"}, `-server-name "web 1" has spaces`},
		{"a server name alone", []string{"-server-name", "n1"}, "-server-name names a node of a cluster"},
		{"a server name standing alone", []string{"-state", state, "-server-name", "n1"}, "-server-name names a node of a cluster"},
		{"replicas in memory", []string{"-replicas", "3"}, "-replicas is how many nodes keep the store's messages: it needs a store"},
		{"replicas with -store memory", []string{"-state", state, "-store", "memory", "-replicas", "1"}, "it needs a store"},
		{"replicas standing alone", []string{"-state", state, "-replicas", "3"}, "store: 3 replicas need a cluster"},
		{"negative replicas", append(append(node, routes...), "-replicas", "-1"), "store: -1 replicas"},
	} {
		var stderr strings.Builder
		_, _, code, ok := parseServe(tc.args, &stderr)
		if ok || code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: %q: ok %v, exit %d, %q; want exit 2 saying %q", tc.what, tc.args, ok, code, stderr.String(), tc.want)
		}
	}
}
