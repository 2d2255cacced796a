package store

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"
)

// pipeRecorder keeps what a node's pipes received and the sends refused.
type pipeRecorder struct {
	mu     sync.Mutex
	got    []PipeMsg
	failed []error
}

func (r *pipeRecorder) recv(m PipeMsg) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, m)
}

func (r *pipeRecorder) fail(node, token string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, err)
}

// wait returns the first n messages received, failing after 5s.
func (r *pipeRecorder) wait(t *testing.T, n int) []PipeMsg {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r.mu.Lock()
		got := append([]PipeMsg(nil), r.got...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d messages, want %d", len(got), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func openPipes(t *testing.T, s *Store, node string, limit int) (*Pipes, *pipeRecorder) {
	t.Helper()
	r := &pipeRecorder{}
	p, err := s.OpenPipes(node, limit, r.recv, r.fail)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p, r
}

// What one node sends another's pipe arrives there, in order, kind,
// offset and data intact, and at no other node.
func TestPipesCarryInOrder(t *testing.T) {
	s := open(t, Config{})
	a, ra := openPipes(t, s, "a", 1<<20)
	_, rb := openPipes(t, s, "b", 1<<20)
	_, rc := openPipes(t, s, "c", 1<<20)
	var want []PipeMsg
	for i := range 100 {
		want = append(want, PipeMsg{Token: "t1", Kind: PipeData, Offset: int64(i * 1000), Data: bytes.Repeat([]byte{byte(i)}, 1000)})
	}
	want = append(want,
		PipeMsg{Token: "t1", Kind: PipeEnd, Offset: 100_000, Data: []byte{}},
		PipeMsg{Token: "t-2", Kind: PipeAck, Offset: 1 << 40, Data: []byte{}},
		PipeMsg{Token: "t_3", Kind: PipeNote, Data: []byte(`{"kind":"beat"}`)})
	for _, m := range want {
		if err := a.Send("b", m); err != nil {
			t.Fatal(err)
		}
	}
	got := rb.wait(t, len(want))
	for i, m := range got {
		w := want[i]
		if m.Token != w.Token || m.Kind != w.Kind || m.Offset != w.Offset || !bytes.Equal(m.Data, w.Data) {
			t.Fatalf("message %d: got %+v, want %+v", i, m, w)
		}
	}
	// b answers a: a's pipes receive it, c's never.
	b2, _ := openPipes(t, s, "b2", 1<<20)
	if err := b2.Send("a", PipeMsg{Token: "t1", Kind: PipeAck, Offset: 5}); err != nil {
		t.Fatal(err)
	}
	if m := ra.wait(t, 1)[0]; m.Kind != PipeAck || m.Offset != 5 {
		t.Fatalf("a received %+v", m)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) != 0 {
		t.Fatalf("c received %+v", rc.got)
	}
}

// Send refuses at once what cannot be sent: a node or token that is not
// a subject's token, more data waiting than the limit, a closed pipe or
// store.
func TestPipesSendRefuses(t *testing.T) {
	s := open(t, Config{})
	p, _ := openPipes(t, s, "a", 10)
	for _, tc := range []struct {
		node string
		m    PipeMsg
	}{
		{"b.c", PipeMsg{Token: "t", Kind: PipeAck}},
		{"b", PipeMsg{Token: "", Kind: PipeAck}},
		{"b", PipeMsg{Token: "t.u", Kind: PipeAck}},
		{"b", PipeMsg{Token: "*", Kind: PipeAck}},
	} {
		if err := p.Send(tc.node, tc.m); err == nil {
			t.Fatalf("sent to %q on %q", tc.node, tc.m.Token)
		}
	}
	if err := p.Send("b", PipeMsg{Token: "t", Kind: PipeData, Data: make([]byte, 11)}); !errors.Is(err, ErrPipeQueue) {
		t.Fatalf("11 bytes with a limit of 10: %v", err)
	}
	if _, err := s.OpenPipes("a b", 10, func(PipeMsg) {}, nil); err == nil {
		t.Fatal("pipes opened for node \"a b\"")
	}
	p.Close()
	p.Close()
	if err := p.Send("b", PipeMsg{Token: "t", Kind: PipeAck}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	q, _ := openPipes(t, s, "q", 10)
	s.Close()
	if err := q.Send("b", PipeMsg{Token: "t", Kind: PipeAck}); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the store's Close: %v", err)
	}
}

// A message NATS refuses (over its payload limit) is reported to failed,
// with its node and token; the messages after it still go.
func TestPipesReportRefusals(t *testing.T) {
	s := open(t, Config{})
	a, ra := openPipes(t, s, "a", 8<<20)
	_, rb := openPipes(t, s, "b", 1<<20)
	if err := a.Send("b", PipeMsg{Token: "big", Kind: PipeData, Data: make([]byte, 4<<20)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Send("b", PipeMsg{Token: "small", Kind: PipeAck, Offset: 1}); err != nil {
		t.Fatal(err)
	}
	if m := rb.wait(t, 1)[0]; m.Token != "small" {
		t.Fatalf("b received %+v", m)
	}
	ra.mu.Lock()
	defer ra.mu.Unlock()
	if len(ra.failed) != 1 {
		t.Fatalf("failures: %v", ra.failed)
	}
	if a.Queued() != 0 {
		t.Fatalf("%d bytes still queued", a.Queued())
	}
}

// Close sends what was queued before it (a server's last notes), and
// its goroutines end, with the store's Close too.
func TestPipesCloseSendsWhatWasQueued(t *testing.T) {
	before := runtime.NumGoroutine()
	s := open(t, Config{})
	_, rb := openPipes(t, s, "b", 1<<20)
	r := &pipeRecorder{}
	a, err := s.OpenPipes("a", 1<<20, r.recv, r.fail)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if err := a.Send("b", PipeMsg{Token: "t", Kind: PipeData, Offset: int64(i), Data: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()
	if got := rb.wait(t, 50); got[49].Offset != 49 {
		t.Fatalf("last message %+v", got[49])
	}
	s.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}
