package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// An embedded server in a cluster (Config.Cluster) still opens no port
// for clients, but listens for its peers' routes on Config.ClusterListen
// and connects to them at Config.Routes. JetStream then keeps each stream
// and bucket on Config.Replicas of the cluster's servers, and takes a
// write once a majority of them has it: with three, any one server may
// be down. Its meta group knows the servers by name, so a node's
// ServerName must stay the same across its restarts.
//
// A cluster needs a majority of its servers up to elect the leaders that
// take writes and answer reads, so Open waits for them (up to
// Config.OpenTimeout) and, failing that, says which are missing.

// maxReplicas is the most replicas the store asks for by default.
const maxReplicas = 3

// CheckCluster says what Open would refuse of cfg's way to NATS and its
// cluster (URLs, Cluster, ClusterListen, Routes, ServerName, Replicas),
// without opening anything, so that a command line can refuse it as a
// usage error, in the store's words.
func (cfg Config) CheckCluster() error { return cfg.checkCluster() }

// checkCluster refuses a configuration that mixes the ways of finding
// NATS, or gives a cluster too little to form.
func (cfg *Config) checkCluster() error {
	clustered := cfg.Cluster != "" || cfg.ClusterListen != "" || len(cfg.Routes) > 0
	switch {
	case len(cfg.URLs) > 0 && clustered:
		return errors.New("store: a cluster (name, listen address, routes) is for the embedded NATS: with NATS URLs, the cluster is theirs")
	case cfg.Replicas < 0:
		return fmt.Errorf("store: %d replicas", cfg.Replicas)
	case len(cfg.URLs) > 0 || !clustered:
		if len(cfg.URLs) == 0 && cfg.Replicas > 1 {
			return fmt.Errorf("store: %d replicas need a cluster: an embedded NATS standing alone keeps one", cfg.Replicas)
		}
		return nil
	case cfg.Cluster == "":
		return errors.New("store: a cluster listen address or routes without a cluster name")
	case strings.ContainsAny(cfg.Cluster, " \t\r\n"):
		return fmt.Errorf("store: cluster name %q has spaces", cfg.Cluster)
	case cfg.ClusterListen == "":
		return fmt.Errorf("store: cluster %s: no address to listen for routes on", cfg.Cluster)
	case len(cfg.Routes) == 0:
		return fmt.Errorf("store: cluster %s: no routes to the other servers", cfg.Cluster)
	case strings.ContainsAny(cfg.ServerName, " \t\r\n"):
		return fmt.Errorf("store: server name %q has spaces", cfg.ServerName)
	}
	if _, _, err := splitListen(cfg.ClusterListen); err != nil {
		return err
	}
	for _, r := range cfg.Routes {
		if _, err := routeURL(r); err != nil {
			return err
		}
	}
	return nil
}

// splitListen parses HOST:PORT, port 0 allowed.
func splitListen(hostport string) (string, int, error) {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", 0, fmt.Errorf("store: cluster listen address %q: %v", hostport, err)
	}
	port, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("store: cluster listen address %q: bad port", hostport)
	}
	return host, int(port), nil
}

// routeURL parses a route as nats://HOST:PORT, the scheme optional.
func routeURL(r string) (*url.URL, error) {
	if !strings.Contains(r, "://") {
		r = "nats://" + r
	}
	u, err := url.Parse(r)
	if err == nil && (u.Hostname() == "" || u.Port() == "") {
		err = errors.New("want nats://HOST:PORT")
	}
	if err != nil {
		return nil, fmt.Errorf("store: route %q: %v", r, err)
	}
	return u, nil
}

// clusterOptions makes opts those of a node of Config's cluster, and
// settles the server name and the replicas.
func (s *Store) clusterOptions(opts *server.Options) error {
	cfg := &s.cfg
	host, port, _ := splitListen(cfg.ClusterListen)
	opts.Cluster = server.ClusterOpts{Name: cfg.Cluster, Host: host, Port: port}
	if port == 0 {
		opts.Cluster.Port = server.RANDOM_PORT
	} else if ln, err := net.Listen("tcp", cfg.ClusterListen); err != nil {
		// The server would only wait for its route listener until
		// ReadyForConnections gives up, without saying why.
		return fmt.Errorf("%w: store: cannot listen for routes on %s: %v", ErrUnavailable, cfg.ClusterListen, err)
	} else {
		ln.Close()
	}
	var peers []string
	for _, r := range cfg.Routes {
		u, _ := routeURL(r)
		opts.Routes = append(opts.Routes, u)
		if !isSelf(u, host, port) && !slices.Contains(peers, u.Host) {
			peers = append(peers, u.Host)
		}
	}
	s.clusterSize = 1 + len(peers)
	if cfg.ServerName == "" {
		cfg.ServerName = defaultServerName(host, port, cfg.Dir)
	}
	opts.ServerName = cfg.ServerName
	return nil
}

// isSelf reports whether route u is this node's own: its port, and a
// host that is the listen host or one of this machine's addresses. A
// route by another name of this machine counts as a peer; that only
// matters to the default Replicas of a cluster of two.
func isSelf(u *url.URL, host string, port int) bool {
	if u.Port() != strconv.Itoa(port) {
		return false
	}
	h := u.Hostname()
	if h == host || h == "localhost" && (host == "" || isLoopback(host)) {
		return true
	}
	ip := net.ParseIP(h)
	if ip == nil {
		return false
	}
	if listen := net.ParseIP(host); listen != nil && !listen.IsUnspecified() {
		return ip.Equal(listen)
	}
	if ip.IsLoopback() {
		return host == "" || isLoopback(host) || net.ParseIP(host).IsUnspecified()
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
			return true
		}
	}
	return false
}

func isLoopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || ip != nil && ip.IsLoopback()
}

// defaultServerName names a node after its route address when that
// names one host and port, else after this machine and the store's
// directory: both stay the same across the node's restarts, and differ
// between nodes (a listen address such as 0.0.0.0:6222 may be every
// node's, so it does not name one).
func defaultServerName(host string, port int, dir string) string {
	if ip := net.ParseIP(host); host != "" && port != 0 && (ip == nil || !ip.IsUnspecified()) {
		return "chat-" + strings.NewReplacer(":", "_", "[", "", "]", "").Replace(host) + "-" + strconv.Itoa(port)
	}
	hostname, err := os.Hostname()
	if err != nil || hostname == "" {
		hostname = "host"
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	sum := sha256.Sum256([]byte(dir))
	return "chat-" + strings.ReplaceAll(hostname, " ", "_") + "-" + hex.EncodeToString(sum[:4])
}

// startRouting starts listening for routes. The server starts routing
// only once its client listener is open, and with DontListen it opens
// none, so its own routing goroutine waits for ever on a channel nobody
// closes. StartRouting, given a closed one, does that goroutine's work;
// that goroutine stays parked until the process ends (one per server
// started), and its count in the server's wait group is taken by this
// call's, so that Shutdown does not wait for it.
func startRouting(srv *server.Server) {
	ready := make(chan struct{})
	close(ready)
	srv.StartRouting(ready)
}

// replicas is how many copies of each stream and bucket to ask for.
func (s *Store) replicas() int {
	switch {
	case s.cfg.Replicas > 0:
		return s.cfg.Replicas
	case s.clusterSize > 1:
		return min(maxReplicas, s.clusterSize)
	}
	return 1
}

// clustered reports whether the store's JetStream is a cluster as far
// as Open can tell: an embedded one, or asked for replicas.
func (s *Store) clustered() bool { return s.clusterSize > 1 || s.replicas() > 1 }

// mayElect reports whether JetStream may answer "not yet" (no meta
// leader, no stream leader) while Open waits: in a cluster as far as
// Open can tell, and on an external NATS, which may be a cluster
// electing its leaders (a server stopped, an election under way) even
// when the store keeps one replica.
func (s *Store) mayElect() bool { return s.clustered() || s.srv == nil }

// RouteURL is the URL the embedded server takes routes on, with the port
// it listens on (Config.ClusterListen may give 0); empty when it is not
// in a cluster or NATS is external.
func (s *Store) RouteURL() string {
	if s.srv == nil || s.cfg.Cluster == "" {
		return ""
	}
	if a := s.srv.ClusterAddr(); a != nil {
		return "nats://" + a.String()
	}
	return ""
}

// ServerName is the embedded server's name in its cluster; empty when
// NATS is external.
func (s *Store) ServerName() string {
	if s.srv == nil {
		return ""
	}
	return s.srv.Name()
}

// Replicas is how many servers keep each of the store's streams and
// buckets.
func (s *Store) Replicas() int { return s.replicas() }

// untilReady calls try until it succeeds, fails for good, or ctx ends,
// each try bounded by each. In a cluster, what setup asks of
// JetStream fails for a while as it forms or elects (no meta leader yet,
// too few servers known for the replicas, another node creating the same
// stream): those failures are tried again. Alone, none is; nor is a NATS
// without JetStream, which no wait enables.
func untilReady[T any](ctx context.Context, s *Store, each time.Duration, try func(context.Context) (T, error)) (T, error) {
	wait := 25 * time.Millisecond
	for {
		tctx, cancel := context.WithTimeout(ctx, each)
		v, err := try(tctx)
		cancel()
		if err == nil || !s.mayElect() || !transient(err) || jetStreamOff(err) || ctx.Err() != nil {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 250*time.Millisecond)
	}
}

// JetStream errors of a cluster that is forming.
const (
	jsClusterIncomplete jetstream.ErrorCode = 10004
	jsClusterNoPeers    jetstream.ErrorCode = 10005 // no suitable peers for placement (yet)
	jsClusterNotAvail   jetstream.ErrorCode = 10008 // no meta leader
	jsClusterNotLeader  jetstream.ErrorCode = 10009
	jsStreamNameInUse   jetstream.ErrorCode = 10058 // another node made it meanwhile
	jsReplicasAlone     jetstream.ErrorCode = 10074 // replicas > 1 asked of a server standing alone
)

// transient reports whether err may go away as a cluster forms.
func transient(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode {
		case jsClusterIncomplete, jsClusterNoPeers, jsClusterNotAvail, jsClusterNotLeader, jsStreamNameInUse, jsInsufficient:
			return true
		}
		return api.Code == 503 || api.Code == 408
	}
	err = classify(err)
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrTimeout)
}

// jetStreamOff reports whether err says the NATS has no JetStream for
// the store's account at all.
func jetStreamOff(err error) bool {
	return errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)
}

// waitMeta waits until JetStream answers: in a cluster, until it has a
// meta leader.
func (s *Store) waitMeta(ctx context.Context) error {
	// Before a cluster has a meta leader, nobody answers: each try is
	// short, so that the first one after the election is soon.
	_, err := untilReady(ctx, s, min(s.cfg.Timeout, time.Second), func(ctx context.Context) (*jetstream.AccountInfo, error) {
		return s.js.AccountInfo(ctx)
	})
	switch {
	case err == nil:
		return nil
	case !s.mayElect() || !s.clustered() && (!transient(err) || jetStreamOff(err)):
		return fmt.Errorf("store: %s: JetStream: %w", s.where(), classify(err))
	}
	return fmt.Errorf("%w: %s has no JetStream meta leader after %v (%v): %s", ErrUnavailable,
		s.where(), s.cfg.OpenTimeout, err, s.quorumReport())
}

// waitLeader waits until the stream has a leader and, for an embedded
// node that keeps a replica of it, until that replica holds the leader's
// last message, so that the start-up reads of the buckets (LoadRooms,
// LoadSeen: direct gets and consumers, which a replica may answer) see
// what the cluster holds. A node just restarted answers about a stream
// itself while it knows no leader, from what it has, so only a leader's
// answer (a message get) tells how far it must catch up.
func (s *Store) waitLeader(ctx context.Context, what, name string) error {
	if !s.clustered() {
		return nil
	}
	var last *jetstream.StreamInfo
	var have, want uint64
	// While a group elects its leader, a stream's info may go
	// unanswered: each try is short.
	_, err := untilReady(ctx, s, min(s.cfg.Timeout, time.Second), func(ctx context.Context) (struct{}, error) {
		st, err := s.js.Stream(ctx, name)
		switch {
		case errors.Is(err, jetstream.ErrStreamNotFound):
			// Just made: not every server knows yet.
			return struct{}{}, errNoLeader
		case err != nil:
			return struct{}{}, err
		}
		last = st.CachedInfo()
		if c := last.Cluster; c != nil && c.Leader == "" {
			return struct{}{}, errNoLeader
		}
		if s.srv == nil || s.cfg.Cluster == "" {
			return struct{}{}, nil
		}
		var keeps bool
		if have, keeps = s.localLastSeq(name); !keeps {
			return struct{}{}, nil
		}
		if want, err = s.leaderLastSeq(ctx, name); err != nil {
			return struct{}{}, err
		}
		if have < want {
			return struct{}{}, errCatchingUp
		}
		return struct{}{}, nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, errCatchingUp):
		return fmt.Errorf("%w: %s: this server's replica has not caught up with its leader after %v (it holds up to %d of %d)",
			ErrUnavailable, what, s.cfg.OpenTimeout, have, want)
	case last == nil:
		return fmt.Errorf("%w: %s: no answer about it within %v (%v): it needs a leader, elected by a majority of its %d replicas: %s",
			ErrUnavailable, what, s.cfg.OpenTimeout, err, s.replicas(), s.quorumReport())
	}
	return fmt.Errorf("%w: %s has no leader after %v (%v): it needs a majority of its %d replicas, and has %s",
		ErrUnavailable, what, s.cfg.OpenTimeout, err, s.replicas(), replicaReport(last))
}

var (
	errNoLeader   = &jetstream.APIError{Code: 503, Description: "no leader yet"}
	errCatchingUp = &jetstream.APIError{Code: 503, Description: "catching up"}
)

// localLastSeq is the last stream sequence this embedded server's own
// replica of the stream holds; false when it keeps none.
func (s *Store) localLastSeq(name string) (uint64, bool) {
	jsz, err := s.srv.Jsz(&server.JSzOptions{Account: server.DEFAULT_GLOBAL_ACCOUNT, Streams: true})
	if err != nil {
		return 0, false
	}
	for _, acc := range jsz.AccountDetails {
		for _, st := range acc.Streams {
			if st.Name == name {
				return st.State.LastSeq, true
			}
		}
	}
	return 0, false
}

// leaderLastSeq is the stream sequence of the stream's last message, as
// its leader says: a message get (not a direct one) that only the
// leader answers, but for an error from a server that knows none.
func (s *Store) leaderLastSeq(ctx context.Context, name string) (uint64, error) {
	return s.leaderMsgSeq(ctx, name, map[string]any{"last_by_subj": ">"}, "the last message")
}

// leaderMsgSeq asks stream's leader for the message req names (a
// STREAM.MSG.GET request) and returns its stream sequence: 0 if there is
// none.
func (s *Store) leaderMsgSeq(ctx context.Context, stream string, req map[string]any, what string) (uint64, error) {
	data, _ := json.Marshal(req)
	msg, err := s.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, data)
	if err != nil {
		return 0, err
	}
	var resp struct {
		Error   *jetstream.APIError `json:"error"`
		Message *struct {
			Seq uint64 `json:"seq"`
		} `json:"message"`
	}
	switch err := json.Unmarshal(msg.Data, &resp); {
	case err != nil:
		return 0, fmt.Errorf("get %s of %s: %w", what, stream, err)
	case resp.Error != nil && resp.Error.ErrorCode == jsNoMessageFound:
		return 0, nil
	case resp.Error != nil:
		return 0, resp.Error
	case resp.Message == nil:
		return 0, fmt.Errorf("get %s of %s: no message in the answer", what, stream)
	}
	return resp.Message.Seq, nil
}

const jsNoMessageFound jetstream.ErrorCode = 10037

// replicaReport says which of a stream's replicas are up.
func replicaReport(info *jetstream.StreamInfo) string {
	if info.Cluster == nil || len(info.Cluster.Replicas) == 0 {
		return "no replica reported"
	}
	var parts []string
	for _, p := range info.Cluster.Replicas {
		state := "current"
		switch {
		case p.Offline:
			state = "offline"
		case !p.Current:
			state = fmt.Sprintf("not current, last seen %v ago", p.Active.Round(time.Millisecond))
		}
		parts = append(parts, p.Name+" "+state)
	}
	return "replicas " + strings.Join(parts, ", ")
}

// where names the NATS the store uses, for errors.
func (s *Store) where() string {
	switch {
	case s.srv == nil:
		return "NATS at " + strings.Join(s.cfg.URLs, ",")
	case s.cfg.Cluster != "":
		return fmt.Sprintf("cluster %s (this server %s, routes on %s)", s.cfg.Cluster, s.srv.Name(), s.RouteURL())
	}
	return "the embedded NATS in " + filepath.Join(s.cfg.Dir, "nats")
}

// quorumReport says what a cluster lacks, as far as this node can see.
func (s *Store) quorumReport() string {
	if s.srv == nil || s.cfg.Cluster == "" {
		return fmt.Sprintf("a majority of the servers of its cluster must be up and routed to each other (%d replicas asked for)", s.replicas())
	}
	var b strings.Builder
	fmt.Fprintf(&b, "a majority of the cluster's %d servers must be up and routed to each other", s.clusterSize)
	var names []string
	if rz, err := s.srv.Routez(nil); err == nil {
		for _, r := range rz.Routes {
			if r.RemoteName != "" && !slices.Contains(names, r.RemoteName) {
				names = append(names, r.RemoteName)
			}
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		fmt.Fprintf(&b, "; this server has no route to any of %s", strings.Join(s.cfg.Routes, ", "))
	} else {
		fmt.Fprintf(&b, "; this server has routes to %s only (configured: %s)", strings.Join(names, ", "), strings.Join(s.cfg.Routes, ", "))
	}
	if jsz, err := s.srv.Jsz(nil); err == nil && jsz.Meta != nil && jsz.Meta.Size > 0 {
		fmt.Fprintf(&b, "; its meta group counts %d servers and needs %d", jsz.Meta.Size, jsz.Meta.QuorumNeeded)
	}
	return b.String()
}
