package server

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"chat/internal/store"
)

// Which node of a cluster a server is, and what it sees of the others:
// for the ready lines (NodeInfo), GET /status on the operations endpoint
// and chat_node_info in /metrics. Everything here reads the store's
// NATS connection and embedded server, safe from any goroutine, never the
// loop's state: /status does not wake the loop beyond what /healthz does.

// NodeInfo says which node a server is and where its store's NATS is.
type NodeInfo struct {
	// Name is this node's: its embedded NATS server's name in a cluster
	// (Config.ServerName, or as the store settles it), else
	// Config.ServerName, else the host name.
	Name string
	// Cluster is the embedded cluster's name (Config.Cluster) or the name
	// of the external NATS's cluster, as the server the store is connected
	// to gives it; "" standing alone, or without a store.
	Cluster string
	// RouteURL is where the embedded node takes its peers' routes, with
	// the port it listens on; PeerRoutes, the configured routes to the
	// other nodes. Both empty without Config.Cluster.
	RouteURL   string
	PeerRoutes []string
	// NATS are the external NATS's URLs, passwords redacted.
	NATS []string
	// Replicas is how many servers keep each stream and bucket; 0
	// without a store.
	Replicas int
}

// Node says which node the server is. It may be called from any
// goroutine once New has returned.
func (s *Server) Node() NodeInfo {
	n := NodeInfo{Name: s.cfg.ServerName}
	for _, u := range s.cfg.NATS {
		n.NATS = append(n.NATS, redactURL(u))
	}
	if s.durable != nil {
		st := s.durable.st
		n.Cluster, n.RouteURL, n.PeerRoutes, n.Replicas = st.ClusterName(), st.RouteURL(), st.PeerRoutes(), st.Replicas()
		if n.RouteURL != "" {
			n.Name = st.ServerName()
		}
	}
	if n.Name == "" {
		n.Name, _ = os.Hostname()
	}
	return n
}

// redactURL is u with its password, if any, shown as xxxxx.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || p.User == nil {
		return u
	}
	return p.Redacted()
}

// Peers is what the node sees of the servers of its cluster (see
// store.Store.Peers); nil without a store or standing alone.
func (s *Server) Peers() []store.Peer {
	if s.durable == nil {
		return nil
	}
	return s.durable.st.Peers()
}

// status answers with the health check's verdict and code, which node
// this is and one line per server of its cluster with its state:
//
//	ok
//	node n1
//	cluster chat
//	replicas 3
//	routes on nats://127.0.0.1:6222
//	peer n1 nats://127.0.0.1:6222 this node, meta leader, ROOMS replica current
//	peer n2 nats://127.0.0.1:6223 connected, ROOMS leader
//	peer - nats://127.0.0.1:6224 no answer (dial tcp 127.0.0.1:6224: connect: connection refused)
//
// A problem of the health check replaces "ok" with a line "not ready: "
// and what /healthz says, and the code is 503, so a script needs only
// this request. With an external NATS, "nats URL,..." replaces "routes
// on".
//
// GET /status
func (m *metrics) status(w http.ResponseWriter, r *http.Request) {
	peers := make(chan []store.Peer, 1)
	go func() { peers <- m.peers() }()
	problems := m.problems()
	n := m.node()

	var b strings.Builder
	if len(problems) == 0 {
		b.WriteString("ok\n")
	}
	for _, p := range problems {
		fmt.Fprintf(&b, "not ready: %s\n", p)
	}
	fmt.Fprintf(&b, "node %s\n", n.Name)
	fmt.Fprintf(&b, "cluster %s\n", or(n.Cluster, "-"))
	fmt.Fprintf(&b, "replicas %d\n", n.Replicas)
	switch {
	case n.RouteURL != "":
		fmt.Fprintf(&b, "routes on %s\n", n.RouteURL)
	case len(n.NATS) > 0:
		fmt.Fprintf(&b, "nats %s\n", strings.Join(n.NATS, ","))
	}
	for _, p := range <-peers {
		fmt.Fprintf(&b, "peer %s %s %s\n", or(p.Name, "-"), or(p.URL, "-"), peerState(p, n.RouteURL != ""))
	}

	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprint(w, b.String())
}

// peerState is a peer's state in words: how this node reaches it, then
// what it leads and its copy of the rooms' stream (ROOMS).
func peerState(p store.Peer, embedded bool) string {
	var parts []string
	switch {
	case p.Self && embedded:
		parts = append(parts, "this node")
	case p.Connected:
		parts = append(parts, "connected")
	case p.Err != nil:
		parts = append(parts, "no answer ("+p.Err.Error()+")")
	case p.URL != "":
		parts = append(parts, "answers")
	default:
		parts = append(parts, "not connected")
	}
	if p.MetaLeader {
		parts = append(parts, "meta leader")
	}
	r := p.Replica
	heard := ""
	if r.Active > 0 {
		heard = fmt.Sprintf(" (last heard from %v ago)", r.Active.Round(time.Millisecond))
	}
	switch {
	case p.Leader:
		parts = append(parts, "ROOMS leader")
	case !r.Kept:
	case r.Offline:
		parts = append(parts, "ROOMS replica offline"+heard)
	case r.Current:
		parts = append(parts, "ROOMS replica current")
	default:
		parts = append(parts, fmt.Sprintf("ROOMS replica behind by %d%s", r.Lag, heard))
	}
	return strings.Join(parts, ", ")
}

func or(s, none string) string {
	if s == "" {
		return none
	}
	return s
}

// nodeInfo writes chat_node_info, whose labels say which node this is.
func (e *exposition) nodeInfo(n NodeInfo) {
	e.family("chat_node_info", "gauge", "Which node this server is (node: its name, cluster: its NATS cluster's, empty standing alone); always 1.")
	e.sample("chat_node_info", escapedLabel("node", n.Name)+","+escapedLabel("cluster", n.Cluster), 1)
}

// escapedLabel is a label pair whose value comes from outside (a name
// on the command line), escaped as the text format wants.
func escapedLabel(name, value string) string {
	return label(name, strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(value))
}
