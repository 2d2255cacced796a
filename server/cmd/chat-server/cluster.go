package main

import (
	"fmt"
	"strings"

	"chat/internal/store"
	"chat/server"
)

// The flags that make this server a node of a cluster: -cluster,
// -cluster-listen and -routes (the embedded store's NATS forms a cluster
// with the other chat servers'), or -nats (an external NATS cluster);
// -server-name and -replicas with either.

// checkNode says what is wrong with the cluster flags, "" when nothing
// is. What only the command line knows (which store keeps the messages,
// -state) is said here; what the store refuses of the values, in the
// store's own words.
func checkNode(cfg server.Config) string {
	clustered := cfg.Cluster != "" || cfg.ClusterListen != "" || len(cfg.Routes) > 0
	external := len(cfg.NATS) > 0
	memory := cfg.Store == server.StoreMemory && !external
	// Without -state or -nats there is no store (the server keeps
	// messages in memory, or refuses -store embedded), and its flags
	// would be silently ignored.
	noState := cfg.StateDir == "" && !external
	const clusterFlags = "a cluster (-cluster, -cluster-listen, -routes)"
	switch {
	case clustered && memory:
		return "-store memory keeps messages in this process alone: " + clusterFlags + " needs the embedded store (-state DIR)"
	case clustered && noState:
		return clusterFlags + " needs -state DIR, where this node keeps its copy of the messages"
	case cfg.ServerName != "" && !clustered && !external:
		return "-server-name names a node of a cluster: give it with -cluster (and -state) or with -nats"
	case cfg.Replicas != 0 && (memory || noState):
		return "-replicas is how many nodes keep the store's messages: it needs a store (-state DIR or -nats URL)"
	case external && strings.ContainsAny(cfg.ServerName, " \t"):
		// The store has no use for the name with -nats, so it does not
		// check it; the status lines do.
		return fmt.Sprintf("-server-name %q has spaces: a node's name is one word", cfg.ServerName)
	}
	sc := store.Config{URLs: cfg.NATS, Cluster: cfg.Cluster, ClusterListen: cfg.ClusterListen,
		Routes: cfg.Routes, ServerName: cfg.ServerName, Replicas: cfg.Replicas}
	if err := sc.CheckCluster(); err != nil {
		return fmt.Sprintf("%v (a node of an embedded cluster takes -state DIR -cluster NAME -cluster-listen HOST:PORT -routes URL,...; see chat-server -h)", err)
	}
	return ""
}

// nodeLine is the line that says which node of which cluster this server
// is and how it reaches the others, "" when it is not one:
//
//	chat-server: node n1 of cluster chat, routes on 127.0.0.1:6222 to nats://127.0.0.1:6223, nats://127.0.0.1:6224 (3 replicas)
//	chat-server: node web1 on NATS nats://a:4222,nats://b:4222 (3 replicas)
func nodeLine(n server.NodeInfo) string {
	replicas := fmt.Sprintf("%d replicas", n.Replicas)
	if n.Replicas == 1 {
		replicas = "1 replica"
	}
	switch {
	case n.RouteURL != "":
		to := "no other node"
		if len(n.PeerRoutes) > 0 {
			to = strings.Join(n.PeerRoutes, ", ")
		}
		return fmt.Sprintf("chat-server: node %s of cluster %s, routes on %s to %s (%s)",
			n.Name, n.Cluster, strings.TrimPrefix(n.RouteURL, "nats://"), to, replicas)
	case len(n.NATS) > 0:
		return fmt.Sprintf("chat-server: node %s on NATS %s (%s)", n.Name, strings.Join(n.NATS, ","), replicas)
	}
	return ""
}
