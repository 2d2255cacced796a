package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// The heap's growth allowed between collections: a quarter of the live
// heap, at least heapGrowthMin, and at least what is allocated in
// heapGrowthTime at the recent rate (the mean of the rate since the last
// collection and the previous mean).
const (
	heapGrowthPercent = 25
	heapGrowthMin     = 4 << 20
	heapGrowthTime    = 50 * time.Millisecond
)

// tightenHeap keeps the server's memory close to what its sessions need.
//
// The heap is almost all long-lived session state (a connection, a hub
// session and their map entries: about 600 bytes each) and the hot path
// allocates little, but Go's default (GOGC=100) lets the heap grow to twice
// the live data before a collection and hands freed pages back to the system
// only gradually, so idle sessions would hold about twice their live data
// in RSS (docs/DESIGN.md has the figures). A fixed
// soft memory limit would cure that, but once the live heap outgrew it (a
// thousand slow readers may rightly hold up to 1 MiB of output each) the
// collector would run back to back. So the limit is set anew after every
// collection: the memory the runtime then uses (the live heap, its
// fragmentation, the collector's metadata, stacks) plus room for the heap to
// grow by a quarter, or by heapGrowthMin, or by what it allocates in
// heapGrowthTime, whichever is most. The collector then runs when the heap
// has grown that much (GOGC=100 still applies below that), at most about
// twenty times a second because of the limit, and the scavenger returns
// freed pages at once rather than over seconds.
//
// While hashing reports true the limit is lifted: argon2id takes 19 MiB for
// each password check, garbage once it ends, and under the limit those pages
// went back to the system after every collection, to be faulted in again by
// the next check (a login storm ran at 60% of the logins per second). The
// first collection after hashing begins lifts it (the 19 MiB soon bring one
// about); the server collects and returns that memory when the checks are
// done (auth.releaseHashMemory), and the limit is back.
//
// What the server lets go of by itself (released: quiet TLS connections'
// ciphers, dropped seconds after a load ends) counts as garbage with what it
// allocates, so that the idle trim comes after it rather than before.
//
// A GOMEMLIMIT set by the operator is left alone. stop ends it (for tests).
func tightenHeap(hashing func() bool, output, released func() uint64) (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	g := &heapGovernor{hashing: hashing, sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/gc/heap/allocs:bytes"},
	}}
	g.update()
	g.arm()
	done := make(chan struct{})
	tick := time.NewTicker(trimCheck)
	// What the server lets go of by itself (quiet TLS connections'
	// ciphers, seconds after the load) is garbage like what it allocates.
	garbage := func() uint64 { return allocatedBytes() + released() }
	t := newIdleTrimmer(garbage, output, hashing, debug.FreeOSMemory)
	go func() {
		defer tick.Stop()
		t.run(tick.C, done)
	}()
	return func() {
		if g.stopped.CompareAndSwap(false, true) {
			close(done)
		}
	}
}

// Idle trimming. The limit is set after a collection, and collections
// come from allocation: when a burst (a ramp of thousands of logins, a
// flood) stops, nothing allocates, no collection comes, and the garbage the
// burst left stays in RSS for as long as the server idles (19,000 idle
// sessions showed anywhere from 28 to 48 MB, depending on when the last
// collection of the ramp happened). So the server checks every trimCheck:
// a check is quiet if the server allocated less than idleAllocs since the
// last one and queued less than idleOutput of messages to its sessions;
// after trimQuiet quiet checks in a row, if at least trimAfter were
// allocated since the last trim, it collects once and returns the free
// pages.
//
// Allocation alone does not tell an idle server: relaying messages
// allocates almost nothing, so a trim judged on it alone would come in the
// first second of a heavy load, and its forced collection and the pages
// faulted back in afterwards would make that second's deliveries late.
// Output alone is not enough either: a load that begins late in a check's
// second leaves it quiet, and the trim would stall the first deliveries; a
// server idle for two checks in a row is idle. The output a second of pings and pongs queues is far below
// idleOutput (pings are not hub output).
const (
	trimCheck  = time.Second
	trimQuiet  = 2
	idleAllocs = 1 << 20
	idleOutput = 64 << 10
	trimAfter  = 16 << 20
)

// quietCheck tells, from the bytes allocated and the bytes of output
// queued since the last check, whether the server was idle meanwhile.
func quietCheck(allocs, output uint64) bool {
	return allocs < idleAllocs && output < idleOutput
}

// idleTrimmer does the idle check; its parts are swapped in tests.
type idleTrimmer struct {
	allocs func() uint64 // bytes allocated since the program started
	output func() uint64 // bytes of messages queued to sessions since then
	busy   func() bool   // passwords are being hashed: leave memory alone
	trim   func()        // collect and return the free pages

	prev, trimmed uint64 // allocs at the last check and at the last trim
	prevOut       uint64 // output at the last check
	quiet         int    // quiet checks in a row
}

func newIdleTrimmer(allocs, output func() uint64, busy func() bool, trim func()) *idleTrimmer {
	n := allocs()
	return &idleTrimmer{allocs: allocs, output: output, busy: busy, trim: trim, prev: n, trimmed: n, prevOut: output()}
}

// run checks at every tick until done is closed.
func (t *idleTrimmer) run(tick <-chan time.Time, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		case <-tick:
			t.check()
		}
	}
}

// check trims if a burst has just ended.
func (t *idleTrimmer) check() {
	now, out := t.allocs(), t.output()
	if quietCheck(now-t.prev, out-t.prevOut) {
		t.quiet++
	} else {
		t.quiet = 0
	}
	if t.quiet >= trimQuiet && now-t.trimmed >= trimAfter && !t.busy() {
		t.trim()
		now = t.allocs()
		t.trimmed = now
	}
	t.prev, t.prevOut = now, out
}

// allocatedBytes returns the bytes allocated since the program started.
func allocatedBytes() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// heapGovernor is tightenHeap's state; one cleanup at a time uses it.
type heapGovernor struct {
	hashing func() bool
	sample  []metrics.Sample
	allocs  uint64    // bytes allocated in all, at the last update
	at      time.Time // when that was
	rate    float64   // recent bytes allocated a second
	stopped atomic.Bool
}

// limitFor is the memory limit when the runtime uses inUse bytes (the limit
// counts all of its memory but free pages) for a live heap of live bytes,
// and the program allocates rate bytes a second.
//
// Without the rate term, a server allocating fast (a room flooded past what
// it can deliver queues output at 0.5-1.5 GB/s; a ramp of 19,000 idle
// sessions allocates 20-140 MB/s) collected back to back, returned pages to
// the system only to fault them in again, had less CPU left to deliver,
// queued more, and in the overload profile peaked at twice the memory with
// three times the latency.
func limitFor(inUse, live uint64, rate float64) int64 {
	grow := max(live*heapGrowthPercent/100, heapGrowthMin)
	if r := rate * heapGrowthTime.Seconds(); r > float64(grow) {
		grow = uint64(min(r, 1<<60))
	}
	return int64(min(inUse+grow, math.MaxInt64))
}

// update sets the limit from what the last collection left.
func (g *heapGovernor) update() {
	metrics.Read(g.sample)
	for _, s := range g.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return
		}
	}
	live, total := g.sample[0].Value.Uint64(), g.sample[1].Value.Uint64()
	free := g.sample[2].Value.Uint64() + g.sample[3].Value.Uint64()
	allocs, now := g.sample[4].Value.Uint64(), time.Now()
	if !g.at.IsZero() && now.After(g.at) {
		g.rate = (g.rate + float64(allocs-g.allocs)/now.Sub(g.at).Seconds()) / 2
	}
	g.allocs, g.at = allocs, now
	if g.hashing() {
		debug.SetMemoryLimit(math.MaxInt64)
		return
	}
	debug.SetMemoryLimit(limitFor(total-min(free, total), live, g.rate))
}

// arm calls update after the next collection (which frees a sentinel
// object and so runs its cleanup), and arms again.
func (g *heapGovernor) arm() {
	runtime.AddCleanup(&gcSentinel{}, func(g *heapGovernor) {
		if !g.stopped.Load() {
			g.update()
			g.arm()
		}
	}, g)
}

// gcSentinel holds a pointer so that it is not a tiny allocation, whose
// cleanup might never run.
type gcSentinel struct{ _ *byte }
