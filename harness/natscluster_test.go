package harness

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// natsWait bounds every wait on the cluster in these tests.
const natsWait = 10 * time.Second

func startNATSCluster(t *testing.T, opts NATSClusterOptions) *NATSCluster {
	t.Helper()
	c, err := StartNATSCluster(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// jsClient connects to url and returns its JetStream.
func jsClient(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// poll calls check until it returns nil or natsWait passes, and then
// fails with its last error.
func poll(t *testing.T, what string, check func() error) {
	t.Helper()
	deadline := time.Now().Add(natsWait)
	for {
		err := check()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still after %v: %v", what, natsWait, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// publish stores one message on subj through js, trying again while the
// stream has no leader (a node just stopped).
func publish(t *testing.T, js jetstream.JetStream, subj, data string) *jetstream.PubAck {
	t.Helper()
	var ack *jetstream.PubAck
	poll(t, "publish "+data, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		var err error
		ack, err = js.Publish(ctx, subj, []byte(data))
		return err
	})
	return ack
}

// localLast is the last sequence node srv's own replica of the stream
// holds.
func localLast(srv *server.Server, stream string) uint64 {
	jsz, err := srv.Jsz(&server.JSzOptions{Account: server.DEFAULT_GLOBAL_ACCOUNT, Streams: true})
	if err != nil {
		return 0
	}
	for _, acc := range jsz.AccountDetails {
		for _, st := range acc.Streams {
			if st.Name == stream {
				return st.State.LastSeq
			}
		}
	}
	return 0
}

// streamLeader is the index of the node that leads the stream, -1 if
// none does.
func streamLeader(c *NATSCluster, stream string) int {
	for i := range c.Nodes {
		if srv := c.Server(i); srv != nil && srv.JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, stream) {
			return i
		}
	}
	return -1
}

func makeStream(t *testing.T, js jetstream.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), natsWait)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t"}, Replicas: 3}); err != nil {
		t.Fatalf("create an R3 stream: %v", err)
	}
}

func TestNATSClusterKeepsR3AcrossANodeRestart(t *testing.T) {
	c := startNATSCluster(t, NATSClusterOptions{})
	if len(c.Nodes) != 3 || len(c.ClientURLs()) != 3 || len(c.RouteURLs()) != 3 {
		t.Fatalf("%d nodes, client URLs %v, route URLs %v", len(c.Nodes), c.ClientURLs(), c.RouteURLs())
	}
	for _, u := range append(c.ClientURLs(), c.RouteURLs()...) {
		if !strings.HasPrefix(u, "nats://127.0.0.1:") {
			t.Errorf("URL %s is not on loopback", u)
		}
	}
	js := []jetstream.JetStream{jsClient(t, c.Nodes[0].ClientURL), jsClient(t, c.Nodes[1].ClientURL), jsClient(t, c.Nodes[2].ClientURL)}
	makeStream(t, js[0])
	publish(t, js[0], "t", "one")

	down := streamLeader(c, "T")
	if down < 0 {
		t.Fatal("stream T has no leader")
	}
	name, url, dir := c.Nodes[down].Name, c.Nodes[down].ClientURL, c.Nodes[down].Dir
	c.Stop(down)
	if c.Server(down) != nil {
		t.Fatal("a stopped node still has a server")
	}
	up := (down + 1) % 3
	ack := publish(t, js[up], "t", "two") // once a new leader is elected
	if ack.Sequence != 2 {
		t.Errorf("written with a node down: sequence %d, want 2", ack.Sequence)
	}

	if err := c.Start(down); err != nil {
		t.Fatal(err)
	}
	n := c.Nodes[down]
	if n.Name != name || n.ClientURL != url || n.Dir != dir || c.Server(down).Name() != name {
		t.Errorf("node back as %s at %s in %s; was %s at %s in %s", c.Server(down).Name(), n.ClientURL, n.Dir, name, url, dir)
	}
	if err := c.WaitReady(natsWait); err != nil {
		t.Fatal(err)
	}
	poll(t, "the node back catches up", func() error {
		if got := localLast(c.Server(down), "T"); got != 2 {
			return fmt.Errorf("its replica of T holds up to %d, want 2", got)
		}
		return nil
	})
}

// A node cut off by the proxies on its routes loses them, the two
// others keep their quorum and take writes, and once healed it gets its
// routes back and catches up.
func TestNATSClusterPartitionsANode(t *testing.T) {
	c := startNATSCluster(t, NATSClusterOptions{Proxies: true})
	for i := range c.Nodes {
		for j := range c.Nodes {
			if l := c.Link(i, j); (i == j) != (l == nil) {
				t.Fatalf("link %d→%d: %v", i, j, l)
			}
		}
	}
	js := []jetstream.JetStream{jsClient(t, c.Nodes[0].ClientURL), jsClient(t, c.Nodes[1].ClientURL), jsClient(t, c.Nodes[2].ClientURL)}
	makeStream(t, js[0])
	publish(t, js[0], "t", "one")

	// Cut off a node that leads neither the stream nor the meta group,
	// so that the others need no election: the test waits on no
	// election timeout.
	cut := -1
	for i := range c.Nodes {
		if !c.Server(i).JetStreamIsLeader() && i != streamLeader(c, "T") {
			cut = i
		}
	}
	if err := c.Partition(cut); err != nil {
		t.Fatal(err)
	}
	poll(t, "the node cut off loses its routes", func() error {
		if peers, err := RoutedTo(c.Server(cut)); err != nil || len(peers) > 0 {
			return fmt.Errorf("it has routes to %v (%v)", peers, err)
		}
		return nil
	})
	if err := c.WaitReady(natsWait); err != nil {
		t.Fatalf("the two others: %v", err)
	}
	other := (cut + 1) % 3
	publish(t, js[other], "t", "two")
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_, err := js[cut].Publish(ctx, "t", []byte("lost"))
	cancel()
	if err == nil {
		t.Error("a write through the node cut off was acknowledged")
	} else if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, jetstream.ErrNoStreamResponse) && !errors.Is(err, nats.ErrNoResponders) {
		t.Logf("a write through the node cut off: %v", err)
	}

	if err := c.Heal(cut); err != nil {
		t.Fatal(err)
	}
	if err := c.WaitReady(natsWait); err != nil {
		t.Fatalf("after healing: %v", err)
	}
	poll(t, "the node healed catches up", func() error {
		if got := localLast(c.Server(cut), "T"); got != 2 {
			return fmt.Errorf("its replica of T holds up to %d, want 2", got)
		}
		return nil
	})
}

func TestNATSClusterPartitionNeedsProxies(t *testing.T) {
	c := &NATSCluster{partitioned: map[int]bool{}}
	if err := c.Partition(0); err == nil || !strings.Contains(err.Error(), "Proxies") {
		t.Fatalf("Partition without proxies: %v", err)
	}
}
