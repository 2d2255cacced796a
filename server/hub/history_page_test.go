package hub

import (
	"slices"
	"testing"
	"time"

	"chat/internal/wire"
)

// TestHistoryPages: pages of a room's history by time, newest or oldest
// first within the bound, whatever the member's own joining, for members
// only.
func TestHistoryPages(t *testing.T) {
	x := newFixture(t, Config{})
	x.login(1, "alice")
	x.login(2, "bob")
	x.login(3, "carol")
	x.enter(1, "r")
	for i, text := range []string{"one", "two", "three", "four"} {
		x.now = t0.Add(time.Duration(i+1) * time.Second)
		x.do(1, wire.Frame{Type: wire.TypeSay, Text: text})
	}
	x.enter(2, "r") // after every message: a page still shows them
	at := func(sec int) int64 { return t0.Add(time.Duration(sec) * time.Second).UnixMilli() }
	page := func(code wire.Code, at int64, count uint64) []string {
		t.Helper()
		r, outs := x.do(2, wire.Frame{Type: wire.TypeHistory, Room: "r", Code: code, At: at, Count: count})
		if r.Code != wire.OK {
			t.Fatalf("page: %+v", r)
		}
		var texts []string
		for _, f := range to(outs, 2) {
			if f.Type == wire.TypeMessage {
				texts = append(texts, f.Text)
			}
		}
		if r.Count != uint64(len(texts)) {
			t.Fatalf("reply counts %d, %d sent", r.Count, len(texts))
		}
		return texts
	}
	for _, tc := range []struct {
		code  wire.Code
		at    int64
		count uint64
		want  []string
	}{
		{wire.HistoryBefore, 0, 2, []string{"three", "four"}},
		{wire.HistoryBefore, 0, 0, []string{"four"}}, // a page is at least one message
		{wire.HistoryBefore, at(3), 10, []string{"one", "two"}},
		{wire.HistoryAfter, at(1), 2, []string{"two", "three"}},
		{wire.HistoryAfter, at(4), 2, nil},
		{wire.HistoryAfter, 0, 100, []string{"one", "two", "three", "four"}},
	} {
		if got := page(tc.code, tc.at, tc.count); !slices.Equal(got, tc.want) {
			t.Errorf("page %d at %d count %d: %q, want %q", tc.code, tc.at, tc.count, got, tc.want)
		}
	}
	r, _ := x.do(3, wire.Frame{Type: wire.TypeHistory, Room: "r", Code: wire.HistoryBefore, Count: 5})
	if r.Code != wire.ErrNotInRoom {
		t.Fatalf("a non-member's page: %+v", r)
	}
}
