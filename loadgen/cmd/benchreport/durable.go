package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"chat/internal/store"
	"chat/loadgen"
	"chat/server/auth"
	"chat/server/hub"
)

// The Durable history section measures what the message store costs: the
// same loads with messages in memory and in the embedded store (and with
// -fsync always), in one sitting; the crash profile's kills; and how long
// a server takes to be ready on a store of a million messages, after a
// graceful stop and after kill -9.

// durableHeading starts the section.
const durableHeading = "\n## Durable history\n"

// durableConfig is one way of keeping messages: the server's flags for it
// (a fresh -state directory is added for the stored ones).
type durableConfig struct {
	name   string
	stored bool
	args   []string
}

var durableConfigs = []durableConfig{
	{"memory", false, nil},
	{"store", true, nil},
	{"store, fsync always", true, []string{"-fsync", "always"}},
}

// durableRuns are the loads of the comparison.
var durableRuns = []peerRun{
	{"rooms-10k", []string{"-profile", "rooms", "-sessions", "10000", "-rate", "102", "-duration", "4s"}},
	{"bigroom-500k", []string{"-profile", "bigroom", "-sessions", "1000", "-rate", "501", "-duration", "4s"}},
	{"idle", []string{"-profile", "idle", "-sessions", "10000", "-duration", "4s"}},
}

// restartMessages is the store's size for the restart measurement.
const restartMessages = 1_000_000

// durableRepeats is how often each load runs in each configuration: a
// tail latency varies much from run to run on a shared machine, so the
// targets are judged on the median run, all of them listed.
const durableRepeats = 3

type durableResults struct {
	loads   map[string]map[string][]result // run → config → its repeats
	crash   *loadgen.CrashReport
	crashOf string // the crash run's command, or why it has no report
	// Restart on a store of restartMessages: how long the fill took, then
	// from exec to the ready line after a graceful stop and after kill -9.
	fill, graceful, killed time.Duration
	restartErr             string
	// appendBench is BenchmarkAppend's lines: the store alone, with
	// JetStream's default sync and with fsync always.
	appendBench []string
}

// appendBenchArgs runs the store's own benchmark of acknowledged writes.
var appendBenchArgs = []string{"test", "-run", "^$", "-bench", "Append", "-benchtime", "1s", "./internal/store/"}

// runDurable runs the section's loads and measurements.
func runDurable(bin string) *durableResults {
	res := &durableResults{loads: map[string]map[string][]result{}}
	for _, r := range durableRuns {
		res.loads[r.name] = map[string][]result{}
		repeats := durableRepeats
		if r.name == "idle" {
			repeats = 1 // memory varies little
		}
		for n := 0; n < repeats; n++ {
			for _, c := range durableConfigs {
				if c.name == "store, fsync always" && r.name == "idle" {
					continue // idle sessions write nothing
				}
				res.loads[r.name][c.name] = append(res.loads[r.name][c.name], durableRun(bin, r, c))
			}
		}
	}
	logf("go %s", strings.Join(appendBenchArgs, " "))
	if out, err := command(5*time.Minute, "go", appendBenchArgs...); err != nil {
		res.appendBench = []string{fmt.Sprintf("failed: %v", err)}
	} else {
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "BenchmarkAppend") {
				res.appendBench = append(res.appendBench, strings.Join(strings.Fields(l), " "))
			}
		}
	}
	res.crash, res.crashOf = runCrash(bin)
	res.fill, res.graceful, res.killed, res.restartErr = measureRestart(bin)
	return res
}

// durableRun runs load r with messages kept as c says.
func durableRun(bin string, r peerRun, c durableConfig) result {
	serverArgs := append([]string{"-msg-rate", "-1", "-poller", "epoll"}, c.args...)
	var dir string
	if c.stored {
		dir = tempDir("benchreport-state-")
		defer os.RemoveAll(dir)
		serverArgs = append(serverArgs, "-state", dir)
	}
	args := append([]string{"-spawn-server", filepath.Join(bin, "chat-server"), "-server-args", strings.Join(serverArgs, " "), "-quiet"}, r.args...)
	shown := "bin/loadgen " + quoteArgs(args)
	if dir != "" {
		shown = strings.ReplaceAll(shown, dir, "$STATE")
	}
	return runLoadgen(bin, args, shown)
}

// medianP99 is the run of rs with the median p99 (of those with a
// report), and every run's p99 for the figures.
func medianP99(rs []result) (*loadgen.Report, string) {
	var ok []*loadgen.Report
	for _, r := range rs {
		if r.rep != nil {
			ok = append(ok, r.rep)
		}
	}
	if len(ok) == 0 {
		return nil, ""
	}
	slices.SortFunc(ok, func(a, b *loadgen.Report) int { return cmp.Compare(a.Latency.P99, b.Latency.P99) })
	var all []string
	for _, r := range ok {
		all = append(all, fmt.Sprintf("%.2f", r.Latency.P99))
	}
	return ok[len(ok)/2], " (median of " + strings.Join(all, ", ") + " ms)"
}

func tempDir(prefix string) string {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		fail(err)
	}
	return dir
}

// runCrash runs the crash profile for the target's ten kills.
func runCrash(bin string) (*loadgen.CrashReport, string) {
	tmp := filepath.Join(tempDir("benchreport-crash-"), "crash.json")
	defer os.RemoveAll(filepath.Dir(tmp))
	args := []string{"-spawn-server", filepath.Join(bin, "chat-server"), "-profile", "crash", "-kills", "10", "-duration", "66s", "-quiet"}
	shown := "bin/loadgen " + quoteArgs(args)
	logf("%s", shown)
	out, err := command(5*time.Minute, filepath.Join(bin, "loadgen"), append(args, "-json", tmp)...)
	data, rerr := os.ReadFile(tmp)
	var rep loadgen.CrashReport
	if rerr != nil || json.Unmarshal(data, &rep) != nil {
		return nil, fmt.Sprintf("%s: no report (%v): %s", shown, err, lastLine(string(out)))
	}
	return &rep, shown
}

// measureRestart fills a store with restartMessages over ten rooms, then
// times the server's start on it: after a graceful stop, and after kill -9
// of a server that had started on it.
func measureRestart(bin string) (fill, graceful, killed time.Duration, problem string) {
	dir := tempDir("benchreport-restart-")
	defer os.RemoveAll(dir)
	logf("filling a store with %d messages in %s", restartMessages, dir)
	start := time.Now()
	if err := fillStore(dir, restartMessages, 10); err != nil {
		return 0, 0, 0, err.Error()
	}
	fill = time.Since(start)
	users := filepath.Join(dir, "users.db")
	if err := (&auth.Users{}).Save(users); err != nil {
		return fill, 0, 0, err.Error()
	}
	opts := loadgen.SpawnOptions{UsersFile: users, Args: []string{"-state", dir}, Timeout: time.Minute}
	start = time.Now()
	srv, err := loadgen.SpawnServer(filepath.Join(bin, "chat-server"), opts)
	if err != nil {
		return fill, 0, 0, err.Error()
	}
	graceful = time.Since(start)
	if err := srv.Kill(); err != nil {
		return fill, graceful, 0, err.Error()
	}
	start = time.Now()
	err = srv.Restart()
	killed = time.Since(start)
	srv.Stop()
	if err != nil {
		return fill, graceful, 0, err.Error()
	}
	return fill, graceful, killed, ""
}

// fillStore appends n messages of about 100 bytes, round robin over rooms,
// as the server would, and saves the rooms.
func fillStore(dir string, n, rooms int) error {
	st, err := store.Open(store.Config{Dir: dir, MaxPending: 4096})
	if err != nil {
		return err
	}
	defer st.Close()
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		failure error
		slots   = make(chan struct{}, 4096)
	)
	text := strings.Repeat("a benchmark message of about a hundred bytes. ", 2)
	now := time.Now().UnixMilli()
	for i := range n {
		room := fmt.Sprintf("room%d", i%rooms)
		slots <- struct{}{}
		wg.Add(1)
		done := func(_ store.Stored, err error) {
			if err != nil {
				mu.Lock()
				failure = err
				mu.Unlock()
			}
			<-slots
			wg.Done()
		}
		for {
			err := st.Append(room, store.Message{From: "bench", Room: room, Text: text, Time: now}, done)
			if err == nil {
				break
			}
			if err != store.ErrBusy {
				return err
			}
			time.Sleep(time.Millisecond) // the store's queue is full: let it drain
		}
	}
	wg.Wait()
	if failure != nil {
		return failure
	}
	for r := range rooms {
		errs := make(chan error, 1)
		if err := st.SaveRoom(hub.RoomState{Name: fmt.Sprintf("room%d", r)}, func(err error) { errs <- err }); err != nil {
			return err
		}
		if err := <-errs; err != nil {
			return err
		}
	}
	return nil
}

// writeDurable writes the section.
func writeDurable(b *bytes.Buffer, d *durableResults, alone bool) {
	when := sectionStart(b, durableHeading, "durable", alone)
	fmt.Fprintf(b, "Messages in memory (`-store memory`), in the embedded NATS JetStream store (`-state DIR`) and in\n")
	fmt.Fprintf(b, "the store with a sync to disk on every write (`-fsync always`), the same loads, epoll, %s.\n", when)
	fmt.Fprintf(b, "With the store a message is shown and acknowledged only once stored.\n\n")
	fmt.Fprintf(b, "| run | %s |\n|---|", strings.Join(configNames(), " | "))
	for range durableConfigs {
		fmt.Fprint(b, "---|")
	}
	fmt.Fprintln(b)
	for _, r := range durableRuns {
		fmt.Fprintf(b, "| %s |", r.name)
		for _, c := range durableConfigs {
			rs, ok := d.loads[r.name][c.name]
			rep, runs := medianP99(rs)
			switch {
			case !ok:
				fmt.Fprint(b, " – |")
			case rep == nil:
				fmt.Fprintf(b, " %s |", rs[0].status)
			case r.name == "idle":
				fmt.Fprintf(b, " %d held, server RSS %.1f MB |", rep.Up, serverHeld(rep))
			default:
				fmt.Fprintf(b, " %.0f deliveries/s, p50 %.2f ms, p99 %.2f ms%s, lost %d |", rep.DeliveriesPerSec, rep.Latency.P50, rep.Latency.P99, runs, rep.Lost)
			}
		}
		fmt.Fprintln(b)
	}
	fmt.Fprintf(b, "\nThe commands (`$STATE` a new temporary directory each run; the rooms and bigroom loads ran %d times in each configuration, taken in turn, and the table shows the run of median p99):\n\n```\n", durableRepeats)
	for _, r := range durableRuns {
		for _, c := range durableConfigs {
			if rs, ok := d.loads[r.name][c.name]; ok && len(rs) > 0 {
				fmt.Fprintln(b, rs[0].cmd)
			}
		}
	}
	fmt.Fprintf(b, "```\n\n")

	fmt.Fprintf(b, "**The store alone** (`go %s`): acknowledged writes of 100-byte messages, 1,024 in flight;\n", strings.Join(appendBenchArgs, " "))
	fmt.Fprintf(b, "fsync always is what surviving a power cut costs:\n\n")
	for _, l := range d.appendBench {
		fmt.Fprintf(b, "- `%s`\n", l)
	}
	fmt.Fprintln(b)
	fmt.Fprintf(b, "**Crash** (`%s`): ", d.crashOf)
	if c := d.crash; c != nil {
		fmt.Fprintf(b, "%d kills; %d Says, %d acknowledged, %d unknown (no reply before a kill); acknowledged ones owed %d deliveries to the members throughout, %d made; violations: %d.\n\n",
			len(c.Kills), c.Sent, c.Acked, c.Unknown, c.Expected, c.Found, len(c.Violations))
	} else {
		fmt.Fprintf(b, "no report.\n\n")
	}
	fmt.Fprintf(b, "**Restart on %d stored messages** (10 rooms, filled through `internal/store` in %v): ", restartMessages, d.fill.Round(time.Second))
	if d.restartErr != "" {
		fmt.Fprintf(b, "failed: %s.\n\n", d.restartErr)
	} else {
		fmt.Fprintf(b, "ready (its listening line) %v after exec on the store as the fill left it, %v after kill -9 of that server.\n\n",
			d.graceful.Round(time.Millisecond), d.killed.Round(time.Millisecond))
	}
	writeDurableTargets(b, d)
}

func configNames() []string {
	var names []string
	for _, c := range durableConfigs {
		names = append(names, c.name)
	}
	return names
}

func serverHeld(r *loadgen.Report) float64 {
	if r.Server == nil {
		return 0
	}
	return r.Server.RSSHeldMB
}

// writeDurableTargets judges the store's targets on the section's runs.
func writeDurableTargets(b *bytes.Buffer, d *durableResults) {
	fmt.Fprintf(b, "| target | verdict | figures |\n|---|---|---|\n")
	t := targetTable{b}
	mem, memRuns := medianP99(d.loads["rooms-10k"]["memory"])
	st, stRuns := medianP99(d.loads["rooms-10k"]["store"])
	const roomsTarget = "rooms of 100 at 10,000 deliveries/s with the embedded store: p99 ≤ 2× in memory (epoll)"
	if mem != nil && st != nil {
		ratio := st.Latency.P99 / mem.Latency.P99
		t.row(roomsTarget, ratio <= 2 && st.Lost == 0, fmt.Sprintf("store p99 %.2f ms%s, memory %.2f ms%s: %.2f×; lost %d", st.Latency.P99, stRuns, mem.Latency.P99, memRuns, ratio, st.Lost))
	} else {
		t.missing(roomsTarget)
	}
	const bigTarget = "one room of 1,000 at 500,000 deliveries/s with the store: sustained, p99 ≤ 100 ms"
	if r, runs := medianP99(d.loads["bigroom-500k"]["store"]); r != nil {
		t.row(bigTarget, r.Latency.P99 <= 100 && r.Lost == 0 && r.DeliveriesPerSec >= 0.97*r.Offered,
			fmt.Sprintf("%.0f deliveries/s, p99 %.2f ms%s, lost %d", r.DeliveriesPerSec, r.Latency.P99, runs, r.Lost))
	} else {
		t.missing(bigTarget)
	}
	const idleTarget = "10,000 idle sessions with the embedded store: server RSS (its NATS included) ≤ 60 MB"
	if r, _ := medianP99(d.loads["idle"]["store"]); r != nil {
		t.row(idleTarget, r.Up >= 10000 && serverHeld(r) > 0 && serverHeld(r) <= 60, fmt.Sprintf("%d held, %.1f MB", r.Up, serverHeld(r)))
	} else {
		t.missing(idleTarget)
	}
	const crashTarget = "crash profile: 0 acknowledged messages lost over 10 kills in a row"
	if c := d.crash; c != nil {
		t.row(crashTarget, len(c.Kills) >= 10 && len(c.Violations) == 0 && c.Found == c.Expected,
			fmt.Sprintf("%d kills, %d violations, %d of %d owed deliveries made", len(c.Kills), len(c.Violations), c.Found, c.Expected))
	} else {
		t.missing(crashTarget)
	}
	const restartTarget = "restart with 1,000,000 stored messages: ready to serve in ≤ 2 s"
	if d.restartErr == "" && d.killed > 0 {
		worst := max(d.graceful, d.killed)
		t.row(restartTarget, worst <= 2*time.Second, fmt.Sprintf("%v as filled, %v after kill -9", d.graceful.Round(time.Millisecond), d.killed.Round(time.Millisecond)))
	} else {
		t.missing(restartTarget)
	}
	fmt.Fprintln(b)
}
