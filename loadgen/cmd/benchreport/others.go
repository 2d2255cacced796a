package main

import (
	"cmp"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"chat/loadgen"
)

// The server and loadgen share the machine with whatever else runs on it,
// kernel threads included: a memory monitor or reclaimer that takes a core
// for milliseconds at a time shows in the latency tails as much as anything
// the server does. So the report says who else used the CPU during the
// load runs.

// otherCPU adds up, over the load runs, the CPU of every process that was
// there before a run began (kernel threads, the shell, the machine's own
// services) apart from this program and its parent: the processes a run
// starts (loadgen, the server, its password workers) are the measured ones.
type otherCPU struct {
	wall  time.Duration
	byKey map[string]time.Duration // "name (pid)"
}

// measure runs f and counts what the other processes used meanwhile.
func (o *otherCPU) measure(f func()) {
	before, start := loadgen.AllProcessCPU("/proc"), time.Now()
	f()
	after := loadgen.AllProcessCPU("/proc")
	o.wall += time.Since(start)
	if o.byKey == nil {
		o.byKey = map[string]time.Duration{}
	}
	for pid, b := range before {
		a, ok := after[pid]
		if !ok || a.Name != b.Name || pid == os.Getpid() || pid == os.Getppid() || a.CPU <= b.CPU {
			continue
		}
		o.byKey[fmt.Sprintf("%s (%d)", a.Name, pid)] += a.CPU - b.CPU
	}
}

// minOtherShare is the least share of one core worth naming.
const minOtherShare = 0.5

// summary names the processes that used at least minOtherShare percent of
// one core over the load runs, most first.
func (o *otherCPU) summary() string {
	if o.wall <= 0 {
		return ""
	}
	type use struct {
		key   string
		share float64
	}
	var uses []use
	var total float64
	for k, cpu := range o.byKey {
		share := 100 * float64(cpu) / float64(o.wall)
		total += share
		if share >= minOtherShare {
			uses = append(uses, use{k, share})
		}
	}
	slices.SortFunc(uses, func(a, b use) int { return cmp.Or(cmp.Compare(b.share, a.share), cmp.Compare(a.key, b.key)) })
	parts := make([]string, len(uses))
	for i, u := range uses {
		parts[i] = fmt.Sprintf("%s %.1f%%", u.key, u.share)
	}
	named := "none of them 0.5% or more"
	if len(parts) > 0 {
		named = strings.Join(parts, ", ")
	}
	return fmt.Sprintf("Other processes used %.1f%% of one core in all during the %v of load runs: %s.",
		total, o.wall.Round(time.Second), named)
}
