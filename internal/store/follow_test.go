package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"chat/harness"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go/jetstream"
)

// Follow delivers what is stored after the given stream sequence, every
// room's, in the stream's order, each once, and nothing from before it.
func TestFollowDeliversInStreamOrder(t *testing.T) {
	s := open(t, Config{})
	appendWait(t, s, "lounge", "before")
	after, err := s.LastStreamSeq()
	if err != nil || after != 1 {
		t.Fatalf("last stream seq %d, %v", after, err)
	}
	var mu sync.Mutex
	var got []string
	stop, err := s.Follow(after, func(st Stored, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			got = append(got, "error: "+err.Error())
			return
		}
		got = append(got, fmt.Sprintf("%s/%d:%s@%d", st.Room, st.Seq, st.Text, st.StreamSeq))
	})
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	appendWait(t, s, "den", "one")
	appendWait(t, s, "lounge", "two")
	appendWait(t, s, "den", "three")
	want := "den/1:one@2 lounge/2:two@3 den/2:three@4"
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		have := fmt.Sprint(got)
		mu.Unlock()
		if have == "["+want+"]" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivered %s, want [%s]", have, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A follower whose consumer is on a server cut off from the others goes
// on, through a consumer made on another, with what is stored meanwhile.
func TestFollowGoesOnPastAServerCutOff(t *testing.T) {
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
	leads := func(i int) bool {
		return c.Server(i).JetStreamIsLeader() || c.Server(i).JetStreamIsStreamLeader(server.DEFAULT_GLOBAL_ACCOUNT, roomStream)
	}
	// A follower on one node whose consumer JetStream put on another, that
	// leads nothing (the others need no election).
	var f *follower
	cut, on := -1, -1
	for try := 0; try < 20 && cut < 0; try++ {
		on = try % 3
		var stop func()
		f, stop = followStop(t, stores[on], 0)
		if h := consumerHost(t, c, roomStream); h >= 0 && h != on && !leads(h) {
			cut = h
			break
		}
		stop()
		deleteConsumers(t, stores[on], roomStream)
	}
	if cut < 0 {
		t.Skip("JetStream never put the follower's consumer on a node that leads nothing")
	}
	writer := stores[3-cut-on]
	appendWait(t, writer, "lounge", "before")
	f.expect(t, "lounge/1:before")
	if err := c.Partition(cut); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	appendWait(t, writer, "lounge", "during")
	// Two heartbeats missed, then a new consumer, within a few tries.
	f.expect(t, "lounge/1:before lounge/2:during")
	t.Logf("the follower on node %d, its consumer on node %d cut off, went on after %v", on, cut, time.Since(start))
}

// deleteConsumers deletes every consumer of stream: those a stopped
// follower left.
func deleteConsumers(t testing.TB, s *Store, stream string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	st, err := s.js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	names := st.ConsumerNames(ctx)
	for name := range names.Name() {
		if err := st.DeleteConsumer(ctx, name); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
			t.Fatal(err)
		}
	}
	if err := names.Err(); err != nil {
		t.Fatal(err)
	}
}
