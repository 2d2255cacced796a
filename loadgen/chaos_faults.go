package loadgen

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"
)

// Carrying out the chaos schedule: each chain of faults (chaos_schedule.go)
// on its own goroutine, one fault at a time, each done at its planned time
// (or as soon after as the last one's undoing allows) and undone when its
// window is over. The pauses are the schedule's, not waits for anything.

// clusterSettle bounds the wait for the NATS cluster to be whole again
// (every node routed to the others and agreeing on the meta leader)
// before another node is impaired, and after the final healing.
const clusterSettle = 30 * time.Second

// ChaosFault is one fault as it was carried out.
type ChaosFault struct {
	Kind   string  // kill, stop or partition
	Target string  // the chat server (cN) or NATS node (nN)
	AtSec  float64 // since the start of the load
	ForSec float64 // until it was undone
	Note   string  // how the undoing went, or why it was skipped
}

// runChain carries out chain, whose faults are all of one chain, in
// order. Once stop is closed it starts no more; one in progress is undone
// at once. A fault that could not start in time to be undone Settle
// before the end is skipped.
func (run *chaosRun) runChain(chain []fault, stop <-chan struct{}) {
	last := run.t0.Add(run.cfg.Duration - run.plan.Settle)
	for _, f := range chain {
		if !sleepUntil(run.t0.Add(f.At), stop) {
			return
		}
		if why := run.ready(f, time.Until(last)); why != "" {
			run.record(f, time.Now(), time.Now(), "skipped: "+why)
			run.logf("%s %s skipped: %s", f.Kind, run.target(f), why)
			continue
		}
		if now := time.Now(); now.Add(f.For).After(last) {
			why := fmt.Sprintf("ready only at %.2fs, too late to be undone in time", run.since(now))
			run.record(f, now, now, "skipped: "+why)
			run.logf("%s %s skipped: %s", f.Kind, run.target(f), why)
			continue
		}
		start := time.Now()
		run.inject(f)
		sleepUntil(start.Add(f.For), stop)
		note := run.undo(f)
		run.record(f, start, time.Now(), note)
	}
}

// ready makes the cluster ready for f, within d, or says why it is not:
// before a NATS fault, the node the last one impaired must be back among
// the others, or two would be out at once; before a kill, the servers
// whose restart failed are started again first.
func (run *chaosRun) ready(f fault, d time.Duration) string {
	if f.Kind.natsFault() {
		if err := run.cluster.WaitReady(min(max(d, 0), clusterSettle)); err != nil {
			return fmt.Sprintf("the cluster was not whole again: %v", err)
		}
		return ""
	}
	for _, cs := range run.servers {
		if cs.isDown() {
			run.logf("%s (down since its restart failed): %s", cs.name, run.restart(cs))
		}
	}
	if cs := run.servers[f.Target]; cs.isDown() {
		return cs.name + " was down and did not restart"
	}
	return ""
}

// sleepUntil waits until t, or less if stop is closed; it reports false
// then.
func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-stop:
		return false
	}
}

// target names what f is done to.
func (run *chaosRun) target(f fault) string {
	if f.Kind == faultKill {
		return run.servers[f.Target].name
	}
	return run.cluster.Nodes[f.Target].Name
}

// inject does f.
func (run *chaosRun) inject(f fault) {
	switch f.Kind {
	case faultKill:
		cs := run.servers[f.Target]
		pid := cs.srv.Process()
		cs.setDown(true)
		if err := cs.srv.Kill(); err != nil {
			run.violate(violDied, "%s had died before it was killed at %.2fs: %s", cs.name, run.since(time.Now()), failure(cs.srv))
		}
		run.logf("kill %s (SIGKILL, pid %d) for %.2fs", cs.name, pid, f.For.Seconds())
	case faultStop:
		run.cluster.Stop(f.Target)
		run.logf("stop NATS node %s for %.2fs", run.target(f), f.For.Seconds())
	case faultPartition:
		if err := run.cluster.Partition(f.Target); err != nil {
			run.errs.add("partition: " + err.Error())
		}
		run.logf("partition NATS node %s (its routes cut both ways) for %.2fs", run.target(f), f.For.Seconds())
	}
}

// undo ends f, and says how it went.
func (run *chaosRun) undo(f fault) string {
	start := time.Now()
	var note string
	switch f.Kind {
	case faultKill:
		note = run.restart(run.servers[f.Target])
	case faultStop:
		note = "started again"
		if err := run.cluster.Start(f.Target); err != nil {
			note = "did not start: " + err.Error()
			run.errs.add("start a NATS node: " + err.Error())
		}
		note += fmt.Sprintf(" in %.0f ms", ms(time.Since(start)))
	case faultPartition:
		note = "healed"
		if err := run.cluster.Heal(f.Target); err != nil {
			note = "not healed: " + err.Error()
		}
	}
	run.logf("%s %s: %s", f.Kind, run.target(f), note)
	return note
}

// restart starts a killed chat server again on its address, and sends
// home the sessions whose first server it is.
func (run *chaosRun) restart(cs *chaosServer) string {
	start := time.Now()
	if err := cs.srv.Restart(); err != nil {
		run.violate(violDied, "%s did not restart at %.2fs: %s", cs.name, run.since(start), failure(cs.srv))
		return "did not restart"
	}
	took := time.Since(start)
	cs.setDown(false)
	return fmt.Sprintf("restarted in %.0f ms (pid %d), %d sessions sent home to it", ms(took), cs.srv.Process(), run.sendHome(cs))
}

// sendHome cuts the connections of the sessions up elsewhere whose first
// server is cs, so that they come back to it, as a user whose client is
// restarted goes to the first server of its list. Without it every kill
// would leave its server empty for the rest of the run, and the rooms,
// in time, on one server.
func (run *chaosRun) sendHome(cs *chaosServer) int {
	home := slices.Index(run.servers, cs)
	n := 0
	for _, s := range run.sessions {
		s.mu.Lock()
		away := s.up && s.server != home && s.order[0] == home
		s.mu.Unlock()
		if away {
			s.homeward.Store(true)
			s.cutAt.Store(time.Now().UnixNano())
			s.closeConn()
			n++
		}
	}
	return n
}

// record adds a fault carried out to the report.
func (run *chaosRun) record(f fault, start, end time.Time, note string) {
	run.mu.Lock()
	run.faults = append(run.faults, ChaosFault{Kind: f.Kind.String(), Target: run.target(f),
		AtSec: run.since(start), ForSec: end.Sub(start).Seconds(), Note: note})
	run.mu.Unlock()
}

// healAll undoes whatever is still wrong once the chains are done: a chat
// server down (killed, or dead by itself) is restarted, a NATS node
// stopped is started, every partition is healed; then it waits for the
// cluster to be whole.
func (run *chaosRun) healAll() {
	for _, cs := range run.servers {
		if !cs.isDown() && !exited(cs.srv) {
			continue
		}
		if !cs.isDown() {
			run.violate(violDied, "%s was found dead at the end of the faults: %s", cs.name, failure(cs.srv))
			cs.setDown(true)
		}
		run.logf("heal: %s %s", cs.name, run.restart(cs))
	}
	for i := range run.cluster.Nodes {
		if run.cluster.Server(i) == nil {
			if err := run.cluster.Start(i); err != nil {
				run.errs.add("start a NATS node: " + err.Error())
			}
		}
		if err := run.cluster.Heal(i); err != nil {
			run.errs.add("heal: " + err.Error())
		}
	}
	if err := run.cluster.WaitReady(clusterSettle); err != nil {
		run.errs.add("the NATS cluster was not whole again after the healing")
		run.logf("heal: %v", err)
	}
}

// failure says how the server's last process ended, once it has, and the
// last line of its log, which says why: one line of the report.
func failure(s *SpawnedServer) string {
	state := "still running"
	if st := s.current().cmd.ProcessState; st != nil {
		state = st.String()
	}
	log, _ := os.ReadFile(s.logPath)
	lines := strings.Split(strings.TrimSpace(string(log)), "\n")
	return state + ": " + lines[len(lines)-1]
}

// exited reports whether the server's current process has ended.
func exited(s *SpawnedServer) bool {
	select {
	case <-s.current().exited:
		return true
	default:
		return false
	}
}
