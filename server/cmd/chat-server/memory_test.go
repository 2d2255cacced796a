package main

import (
	"math"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

// After every collection the memory limit follows what the runtime uses, with
// room for the heap to grow; there is none while passwords are hashed.
func TestTightenHeap(t *testing.T) {
	t.Setenv("GOMEMLIMIT", "")
	var hashing atomic.Bool
	stop := tightenHeap(hashing.Load, func() uint64 { return 0 }, func() uint64 { return 0 })
	defer debug.SetMemoryLimit(math.MaxInt64)
	defer stop()
	read := func(name string) int64 {
		s := []metrics.Sample{{Name: name}}
		metrics.Read(s)
		return int64(s[0].Value.Uint64())
	}
	// The limit is set by a cleanup after a collection: soon, not at once.
	waitLimit := func(what string, ok func(limit, live, total int64) bool) int64 {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			runtime.GC()
			time.Sleep(time.Millisecond)
			limit := debug.SetMemoryLimit(-1)
			live, total := read("/gc/heap/live:bytes"), read("/memory/classes/total:bytes")
			if ok(limit, live, total) {
				return limit
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: memory limit %d, live heap %d, runtime memory %d", what, limit, live, total)
			}
		}
	}
	tight := func(limit, live, total int64) bool {
		grow := max(live*heapGrowthPercent/100, heapGrowthMin)
		return limit >= live+grow && limit <= total+grow
	}
	waitLimit("small heap", tight)
	func() {
		big := make([][]byte, 64)
		for i := range big {
			big[i] = make([]byte, 1<<20)
		}
		waitLimit("64 MiB more live", func(limit, live, total int64) bool {
			return tight(limit, live, total) && limit >= 64<<20+heapGrowthMin
		})
		runtime.KeepAlive(big)
	}()
	// Rather less now (total counts the freed pages, so tight is loose).
	waitLimit("64 MiB freed", func(limit, live, total int64) bool {
		return tight(limit, live, total) && limit < 48<<20
	})

	hashing.Store(true)
	waitLimit("while hashing", func(limit, _, _ int64) bool { return limit == math.MaxInt64 })
	hashing.Store(false)
	waitLimit("after hashing", tight)
}

func TestLimitFor(t *testing.T) {
	for _, c := range []struct {
		inUse, live uint64
		rate        float64
		want        int64
	}{
		{30 << 20, 40 << 20, 0, 40 << 20},                    // a quarter of the live heap
		{10 << 20, 8 << 20, 1 << 20, 10<<20 + heapGrowthMin}, // at least heapGrowthMin
		{10 << 20, 8 << 20, 400 << 20, 30 << 20},             // what 50 ms allocate at 400 MiB/s
		{10 << 20, 8 << 20, 1e300, 10<<20 + 1<<60},           // no overflow
	} {
		if got := limitFor(c.inUse, c.live, c.rate); got != c.want {
			t.Errorf("limitFor(%d in use, %d live, %g/s) = %d, want %d", c.inUse, c.live, c.rate, got, c.want)
		}
	}
}

func TestQuietCheck(t *testing.T) {
	for _, c := range []struct {
		allocs, output uint64
		want           bool
	}{
		{0, 0, true},
		{idleAllocs - 1, idleOutput - 1, true}, // pings and the like: still idle
		{idleAllocs, 0, false},                 // allocating: the collector paces itself
		{0, idleOutput, false},                 // relaying messages, which allocates little
		{100 << 20, 0, false},
	} {
		if got := quietCheck(c.allocs, c.output); got != c.want {
			t.Errorf("quietCheck(%d, %d) = %v, want %v", c.allocs, c.output, got, c.want)
		}
	}
}

// The trimmer collects once when a burst of allocation has ended, not while
// the server is busy allocating or relaying, not again while it idles, and
// not while passwords are hashed.
func TestIdleTrimmer(t *testing.T) {
	var allocated, output uint64
	var hashing bool
	trims := 0
	tr := newIdleTrimmer(func() uint64 { return allocated }, func() uint64 { return output }, func() bool { return hashing }, func() { trims++ })
	for i, step := range []struct {
		alloc, out uint64
		hashing    bool
		trims      int
	}{
		{0, 0, false, 0},        // idle from the start: nothing to return
		{64 << 20, 0, false, 0}, // a burst: busy
		{0, 0, false, 0},        // it ended, one quiet check
		{0, 0, false, 1},        // two: trim
		{1000, 0, false, 1},     // still idle: once is enough
		{0, 0, false, 1},
		{64 << 20, 0, true, 1}, // hashing
		{0, 0, true, 1},        // idle, but the checks keep their memory
		{0, 0, true, 1},
		{0, 0, false, 2},       // the checks are done: trim
		{2 << 20, 0, false, 2}, // a little more than idle, but no burst
		{0, 0, false, 2},
		{0, 0, false, 2},
		{64 << 20, 0, false, 2}, // a ramp ...
		{0, 60 << 10, false, 2}, // ... whose load begins late in a check's second
		{0, 5 << 20, false, 2},  // relayed without allocating
		{0, 5 << 20, false, 2},
		{0, 100, false, 2}, // the load stopped
		{0, 100, false, 3}, // and stays stopped: trim
	} {
		allocated += step.alloc
		output += step.out
		hashing = step.hashing
		tr.check()
		if trims != step.trims {
			t.Fatalf("step %d (%d bytes allocated, %d queued, hashing %v): %d trims, want %d", i, step.alloc, step.out, step.hashing, trims, step.trims)
		}
	}
}
