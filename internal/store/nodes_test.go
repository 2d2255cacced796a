package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/harness"

	"github.com/nats-io/nats-server/v2/server"
)

// nodeWatch records what WatchNodes says, as "node:info" for a lease and
// "node:gone" for its end, and when.
type nodeWatch struct {
	mu  sync.Mutex
	got []string
	at  map[string]time.Time // when each was first seen
}

func watchNodes(t testing.TB, s *Store) *nodeWatch {
	t.Helper()
	w, _ := watchNodesStop(t, s)
	return w
}

func watchNodesStop(t testing.TB, s *Store) (*nodeWatch, func()) {
	t.Helper()
	w := &nodeWatch{at: map[string]time.Time{}}
	stop, err := s.WatchNodes(func(node string, info []byte, alive bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		what := node + ":" + string(info)
		if !alive {
			what = node + ":gone"
		}
		w.got = append(w.got, what)
		if _, ok := w.at[what]; !ok {
			w.at[what] = time.Now()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return w, stop
}

// saw waits until what was seen last of node is want.
func (w *nodeWatch) saw(t testing.TB, want string) time.Time {
	t.Helper()
	node, _, _ := strings.Cut(want, ":")
	var at time.Time
	eventually(t, "WatchNodes sees "+want, func() error {
		w.mu.Lock()
		defer w.mu.Unlock()
		for i := len(w.got) - 1; i >= 0; i-- {
			if strings.HasPrefix(w.got[i], node+":") {
				if w.got[i] == want {
					at = w.at[want]
					return nil
				}
				break
			}
		}
		return fmt.Errorf("saw %q", w.got)
	})
	return at
}

// leaseLost keeps when lost was called and with what.
type leaseLost struct {
	ch chan error
	at chan time.Time
}

func keepLease(t testing.TB, s *Store, node, info string, ttl time.Duration) (*leaseLost, func()) {
	t.Helper()
	l := &leaseLost{ch: make(chan error, 1), at: make(chan time.Time, 1)}
	stop, err := s.KeepLease(node, []byte(info), ttl, func(err error) {
		l.at <- time.Now()
		l.ch <- err
	})
	if err != nil {
		t.Fatalf("KeepLease(%s): %v", node, err)
	}
	t.Cleanup(stop)
	return l, stop
}

func (l *leaseLost) notYet(t testing.TB) {
	t.Helper()
	select {
	case err := <-l.ch:
		t.Fatalf("lost was called: %v", err)
	default:
	}
}

func claimCleanupWait(t testing.TB, s *Store, node string) bool {
	t.Helper()
	type won struct {
		won bool
		err error
	}
	ch := make(chan won, 1)
	if err := s.ClaimCleanup(node, func(w bool, err error) { ch <- won{w, err} }); err != nil {
		t.Fatal(err)
	}
	w := await(t, ch, "claim cleanup")
	if w.err != nil {
		t.Fatalf("claim the cleanup after %s: %v", node, w.err)
	}
	return w.won
}

// A lease is written again every third of its TTL, and seen alive the
// while; another process taking it under the same id is a new lease, and
// the first is told it lost it; stop ends it, seen at once. A cleanup
// claim has one winner, until the node takes a lease again.
func TestLeaseKeptTakenOverAndEnded(t *testing.T) {
	s := open(t, Config{})
	w := watchNodes(t, s)
	first, stopFirst := keepLease(t, s, "n1", "one", time.Second)
	w.saw(t, "n1:one")
	revs := map[uint64]bool{}
	eventually(t, "the lease written again three times", func() error {
		e, err := s.latest(context.Background(), nodesBucket, "n1")
		if err != nil || e == nil || e.deleted {
			return fmt.Errorf("the lease: %+v, %v", e, err)
		}
		revs[e.revision] = true
		if len(revs) < 4 {
			return fmt.Errorf("revisions %v", revs)
		}
		return nil
	})
	first.notYet(t)

	if !claimCleanupWait(t, s, "n1") || claimCleanupWait(t, s, "n1") {
		t.Fatal("claiming a cleanup twice: want won, then not")
	}
	_, stopSecond := keepLease(t, s, "n1", "two", time.Second)
	w.saw(t, "n1:two")
	if err := await(t, first.ch, "the first lease lost"); !errors.Is(err, ErrLeaseLost) || !strings.Contains(err.Error(), "another process") {
		t.Errorf("the first lease lost with %v; want ErrLeaseLost, written by another process", err)
	}
	stopFirst() // lost already: changes nothing
	if !claimCleanupWait(t, s, "n1") {
		t.Error("a cleanup after the second run of n1 cannot be claimed: the first run's claim was kept")
	}

	stopSecond()
	w.saw(t, "n1:gone")
	w.mu.Lock()
	defer w.mu.Unlock()
	if got := strings.Join(w.got, " "); got != "n1:one n1:two n1:gone" {
		t.Errorf("WatchNodes saw %q", got)
	}
}

func TestLeaseRefused(t *testing.T) {
	s := open(t, Config{})
	lost := func(error) { t.Error("lost called") }
	for _, tc := range []struct {
		node string
		ttl  time.Duration
		want string
	}{
		{"n.1", time.Second, `has '.'`},
		{"", time.Second, "no node id"},
		{"n>", time.Second, `has '>'`},
		{"n1", 500 * time.Millisecond, "a second at least"},
	} {
		if _, err := s.KeepLease(tc.node, nil, tc.ttl, lost); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("KeepLease(%q, %v): %v, want it to say %q", tc.node, tc.ttl, err, tc.want)
		}
	}
	if err := s.ClaimCleanup("a b", func(bool, error) { t.Error("done called") }); err == nil {
		t.Error("ClaimCleanup of a node id with a space: no error")
	}
}

// On an external cluster of three: of the claims of every node on one
// cleanup, one wins. A node cut off from the others cannot write its
// lease: it is told it lost it before the others see it expire.
func TestLeasesOnACluster(t *testing.T) {
	c, err := harness.StartNATSCluster(harness.NATSClusterOptions{Dir: t.TempDir(), Proxies: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var stores []*Store
	for _, n := range c.Nodes {
		s, err := Open(Config{URLs: []string{n.ClientURL}, Replicas: 3})
		if err != nil {
			t.Fatalf("Open on %s: %v", n.Name, err)
		}
		t.Cleanup(s.Close)
		stores = append(stores, s)
	}

	won := make(chan bool, 3*5)
	for _, s := range stores {
		for range 5 {
			if err := s.ClaimCleanup("dead", func(w bool, err error) {
				if err != nil {
					t.Error(err)
				}
				won <- w
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var winners int
	for range 3 * 5 {
		if await(t, won, "claim cleanup") {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d claims on the cleanup after a dead node won, want 1", winners)
	}

	// Cut off a node that leads neither the meta group nor the nodes
	// bucket, so that the others need no election, and, when JetStream
	// put it there, the one that holds the consumer of another's watch:
	// that watch must see the lease end all the same.
	leads := func(i int) bool {
		return c.Server(i).JetStreamIsLeader() || c.Server(i).JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, "KV_"+nodesBucket)
	}
	cut, watcher := -1, -1
	var w *nodeWatch
	for try := 0; try < 10 && cut < 0; try++ {
		watcher = try % 3
		var stop func()
		w, stop = watchNodesStop(t, stores[watcher])
		if h := consumerHost(t, c, "KV_"+nodesBucket); h >= 0 && h != watcher && !leads(h) {
			cut = h
			t.Logf("the watch on node %d reads through node %d, cut off", watcher, h)
			break
		}
		stop()
	}
	if cut < 0 {
		for i := range c.Nodes {
			if !leads(i) && i != watcher {
				cut = i
			}
		}
		w = watchNodes(t, stores[watcher])
	}
	const ttl = 2 * time.Second
	lost, _ := keepLease(t, stores[cut], "cut", "info", ttl)
	w.saw(t, "cut:info")
	lost.notYet(t)
	if err := c.Partition(cut); err != nil {
		t.Fatal(err)
	}
	cutAt := time.Now()
	if err := await(t, lost.ch, "lost"); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("lost with %v, want ErrLeaseLost", err)
	}
	lostAt := <-lost.at
	goneAt := w.saw(t, "cut:gone")
	t.Logf("cut off; lost after %v; seen gone on another node after %v", lostAt.Sub(cutAt), goneAt.Sub(cutAt))
	if !lostAt.Before(goneAt) {
		t.Errorf("the node was told it lost its lease %v after another saw it gone", lostAt.Sub(goneAt))
	}
}

// consumerHost is the node that holds the one consumer of stream, -1
// when none does.
func consumerHost(t testing.TB, c *harness.NATSCluster, stream string) int {
	t.Helper()
	for i := range c.Nodes {
		jsz, err := c.Server(i).Jsz(&server.JSzOptions{Accounts: true, Streams: true, Consumer: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, acc := range jsz.AccountDetails {
			for _, st := range acc.Streams {
				for _, ci := range st.Consumer {
					if st.Name == stream && ci.Cluster != nil && ci.Cluster.Leader == c.Nodes[i].Name {
						return i
					}
				}
			}
		}
	}
	return -1
}

// Lease answers from the leader: the info of a lease held, nothing once
// it ended or for a node that never had one.
func TestLeaseReadFromTheLeader(t *testing.T) {
	s := open(t, Config{})
	read := func() ([]byte, error) {
		type answer struct {
			info []byte
			err  error
		}
		ch := make(chan answer, 1)
		if err := s.Lease("n1", func(info []byte, err error) { ch <- answer{info, err} }); err != nil {
			t.Fatal(err)
		}
		a := await(t, ch, "the lease of n1")
		return a.info, a.err
	}
	if info, err := read(); info != nil || err != nil {
		t.Fatalf("the lease of a node that never had one: %q, %v", info, err)
	}
	_, stop := keepLease(t, s, "n1", "one", time.Second)
	if info, err := read(); string(info) != "one" || err != nil {
		t.Fatalf("the lease of n1, held: %q, %v", info, err)
	}
	stop()
	if info, err := read(); info != nil || err != nil {
		t.Fatalf("the lease of n1, ended: %q, %v", info, err)
	}
	if err := s.Lease("", func([]byte, error) { t.Error("done called") }); err == nil {
		t.Error("the lease of no node: no error")
	}
}
