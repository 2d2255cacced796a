package store

import (
	"fmt"
	"sync"
	"testing"
)

// Several servers append to one room: each publishes a room message
// expecting the room's last as it knows it, and renumbers it when
// another stored one first (append.go).

// twoWriters appends n messages to one room through each of a and b at
// once, and checks what the numbering promises: every message stored
// once, the room's Seqs 1..2n each given once, each writer's messages
// in the order of its calls, and the room read back in Seq order.
func twoWriters(t *testing.T, a, b *Store, n int) {
	t.Helper()
	// First a collision for sure: b knows the room, a writes to it, then
	// b writes expecting what it knew.
	appendWait(t, b, "lounge", "b0")
	appendWait(t, a, "lounge", "a0")
	if st := appendWait(t, b, "lounge", "b1"); st.Seq != 3 {
		t.Fatalf("b's message after a's: Seq %d, want 3", st.Seq)
	}
	if b.renumbered.Load() == 0 {
		t.Fatal("b's message after a's was not refused and renumbered")
	}
	const first = 4 // the Seq after the three above

	type got struct {
		writer string
		i      int
		r      result
	}
	results := make(chan got, 2*n)
	var start, wg sync.WaitGroup
	start.Add(1)
	for _, w := range []struct {
		name string
		s    *Store
	}{{"a", a}, {"b", b}} {
		wg.Go(func() {
			start.Wait()
			for i := range n {
				err := w.s.Append("lounge", Message{From: w.name, Room: "lounge", Text: fmt.Sprint(w.name, i)}, func(st Stored, err error) {
					results <- got{w.name, i, result{st, err}}
				})
				if err != nil {
					results <- got{w.name, i, result{err: err}}
				}
			}
		})
	}
	start.Done()
	wg.Wait()

	bySeq := make(map[uint64]string)
	next := map[string]int{"a": 0, "b": 0}
	lastSeq := map[string]uint64{}
	for range 2 * n {
		g := await(t, results, "a concurrent append")
		if g.r.err != nil {
			t.Fatalf("%s's append %d: %v", g.writer, g.i, g.r.err)
		}
		if g.i != next[g.writer] {
			t.Fatalf("%s's callback for append %d came after %d: a writer's callbacks must keep its order", g.writer, g.i, next[g.writer]-1)
		}
		next[g.writer]++
		seq := g.r.st.Seq
		if other, dup := bySeq[seq]; dup {
			t.Fatalf("Seq %d given twice: to %q and %q", seq, other, g.r.st.Text)
		}
		bySeq[seq] = g.r.st.Text
		if seq <= lastSeq[g.writer] {
			t.Fatalf("%s's %q has Seq %d after its Seq %d: a writer's messages must keep its order", g.writer, g.r.st.Text, seq, lastSeq[g.writer])
		}
		lastSeq[g.writer] = seq
	}
	for seq := uint64(first); seq < first+2*uint64(n); seq++ {
		if _, ok := bySeq[seq]; !ok {
			t.Fatalf("no message has Seq %d: the Seqs must be consecutive", seq)
		}
	}
	stored := replayWait(t, a, "lounge", first-1, 4*n)
	if len(stored) != 2*n {
		t.Fatalf("%d messages stored after Seq %d, want %d", len(stored), first-1, 2*n)
	}
	for i, m := range stored {
		if m.Seq != first+uint64(i) || m.Text != bySeq[m.Seq] {
			t.Fatalf("stored message %d: Seq %d %q; the callbacks said Seq %d is %q", i, m.Seq, m.Text, first+uint64(i), bySeq[first+uint64(i)])
		}
	}
	turns := 0 // how often the room passes from one writer to the other
	for i := 1; i < len(stored); i++ {
		if stored[i].From != stored[i-1].From {
			turns++
		}
	}
	t.Logf("%d messages through each writer, the room changing hands %d times: %d and %d renumbered",
		n, turns, a.renumbered.Load(), b.renumbered.Load())
}

func TestTwoWritersOnOneServerNumberARoomOnce(t *testing.T) {
	url := externalNATS(t)
	var stores []*Store
	for range 2 {
		s, err := Open(Config{URLs: []string{url}, MaxPending: 512})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		stores = append(stores, s)
	}
	twoWriters(t, stores[0], stores[1], 300)
}

func TestTwoWritersOnTwoClusterNodesNumberARoomOnce(t *testing.T) {
	stores := openAll(t, clusterConfigs(t, 3, Config{MaxPending: 512}))
	twoWriters(t, stores[0], stores[2], 200)
}
