package store

import (
	"testing"
	"time"

	"chat/harness"

	"github.com/nats-io/nats-server/v2/server"
)

// A store opened on an external NATS cluster that has no meta leader (two
// of its three servers stopped) keeps asking within its open timeout,
// with the one replica a server given -nats keeps by default, and opens
// once the cluster elects one, rather than giving up at the first
// "JetStream system temporarily unavailable".
func TestOpenWaitsForAnExternalClusterToElect(t *testing.T) {
	c, err := harness.StartNATSCluster(harness.NATSClusterOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	url := c.Nodes[0].ClientURL
	first, err := Open(Config{URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	appendWait(t, first, "lounge", "before")
	first.Close()
	c.Stop(1)
	c.Stop(2)

	opened := make(chan error, 1)
	go func() {
		s, err := Open(Config{URLs: []string{url}, OpenTimeout: time.Minute})
		if err == nil {
			t.Cleanup(s.Close)
		}
		opened <- err
	}()
	// Its requests reach node 0, which answers that it has no leader: a
	// few of them, and it is still waiting.
	deadline := time.Now().Add(30 * time.Second)
	for asked := uint64(0); asked < 3; asked = requestsFrom(t, c.Server(0)) {
		select {
		case err := <-opened:
			t.Fatalf("Open returned while the cluster had no leader: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("Open made %d requests in 30s", asked)
		}
		time.Sleep(10 * time.Millisecond) // polling node 0's count
	}
	// Both back: the one replica of a stream may be on either.
	for _, i := range []int{1, 2} {
		if err := c.Start(i); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-opened:
		if err != nil {
			t.Fatalf("Open after the election: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Open did not return a minute after the cluster had a majority again")
	}
}

// requestsFrom is how many messages the store's connection (named
// chat-server) has sent to srv.
func requestsFrom(t *testing.T, srv *server.Server) uint64 {
	t.Helper()
	cz, err := srv.Connz(&server.ConnzOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var n uint64
	for _, ci := range cz.Conns {
		if ci.Name == "chat-server" {
			n += uint64(ci.InMsgs)
		}
	}
	return n
}
