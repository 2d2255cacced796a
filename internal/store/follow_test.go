package store

import (
	"fmt"
	"sync"
	"testing"
	"time"
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
