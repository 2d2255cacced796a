package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"chat/loadgen"
)

// The Peers section compares our server with other IRC servers under the
// same loads in one sitting: every run is loadgen -proto irc, against our
// server's IRC listener (with each poller) as against Debian's ngircd and
// InspIRCd (loadgen.Peers), which this program installs when missing and
// starts from the configurations loadgen writes for them.

// peersHeading starts the section.
const peersHeading = "\n## Peers\n"

// peerRun is one load of the comparison, the same for every server.
type peerRun struct {
	name string
	args []string
}

// peerIdleSessions is the idle run's clients: enough that the memory per
// client is not lost in the server's base, within the descriptor limit
// that loadgen and the server share on one machine.
const peerIdleSessions = 5000

// peerRuns are the comparison's loads: the sizes of the rooms runs of the
// Load section, which the targets use.
var peerRuns = []peerRun{
	{"idle", []string{"-profile", "idle", "-sessions", fmt.Sprint(peerIdleSessions), "-duration", "4s"}},
	{"rooms-10k", []string{"-profile", "rooms", "-sessions", "10000", "-rate", "102", "-duration", "4s"}},
	{"rooms-50k", []string{"-profile", "rooms", "-sessions", "10000", "-rate", "506", "-duration", "4s"}},
}

// peerMaxClients is what the peers are configured to hold: the largest run
// and some room.
const peerMaxClients = 12000

// peerRow is one server of the table.
type peerRow struct {
	name    string
	poller  string        // ours: its -poller; "" for a peer
	peer    *loadgen.Peer // a peer; nil for ours
	status  string        // why the row has no figures (a peer not installed)
	note    string        // what installing it did, if anything
	results map[string]result
	nodelay string // TCP_NODELAY on its client sockets, as found
	command string // how the server ran (a peer's command line)
	config  string // a peer's configuration
	user    string // whom a peer ran as
	load    string // the machine's load average before its runs and after
}

// loadAverage is the machine's load average over the last minute, which
// counts every process, those that come and go during a run too.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// runPeers runs every load against every server, ours first, counting
// what other processes used meanwhile in others.
func runPeers(bin string, others *otherCPU) []*peerRow {
	rows := []*peerRow{
		{name: "chat-server (poll)", poller: "poll"},
		{name: "chat-server (epoll)", poller: "epoll"},
	}
	for i := range loadgen.Peers {
		p := &loadgen.Peers[i]
		rows = append(rows, &peerRow{name: p.Name, peer: p})
	}
	for _, row := range rows {
		row.results = map[string]result{}
		if row.peer != nil {
			row.note, row.status = install(*row.peer)
			if row.status != "" {
				logf("%s: %s", row.name, row.status)
				continue
			}
		}
		row.nodelay = noDelay(bin, row)
		for _, r := range peerRuns {
			if row.load == "" {
				row.load = loadAverage()
			}
			others.measure(func() { row.results[r.name] = row.run(bin, r) })
		}
		row.load += " → " + loadAverage()
	}
	return rows
}

// run runs r against the row's server: ours spawned by loadgen, a peer
// started here for the run and stopped after it, so each run starts from a
// fresh server, as ours does.
func (row *peerRow) run(bin string, r peerRun) result {
	if row.peer == nil {
		args := append([]string{"-spawn-server", filepath.Join(bin, "chat-server"),
			"-server-args", "-msg-rate -1 -poller " + row.poller, "-proto", "irc", "-quiet"}, r.args...)
		return runLoadgen(bin, args, "bin/loadgen "+quoteArgs(args))
	}
	srv, err := row.peer.Start(peerMaxClients, 10*time.Second)
	if err != nil {
		return result{status: err.Error()}
	}
	row.command, row.config, row.user = srv.Command, srv.Config, srv.User
	tail := append([]string{"-proto", "irc", "-quiet"}, r.args...)
	if n := row.peer.SetupInFlight; n > 0 {
		tail = append(tail, "-setup-in-flight", fmt.Sprint(n))
	}
	logf("against %s:", row.name)
	args := append([]string{"-addr", srv.Addr, "-server-pid", fmt.Sprint(srv.PID)}, tail...)
	shown := "bin/loadgen -addr 127.0.0.1:$PORT -server-pid $PID " + quoteArgs(tail)
	res := runLoadgen(bin, args, shown)
	if err := srv.Stop(); err != nil {
		res.status = strings.TrimPrefix(res.status+"; "+err.Error(), "; ")
	}
	return res
}

// noDelay opens two IRC connections to the row's server and says how many
// of the sockets it accepted for them have TCP_NODELAY
// (loadgen.NoDelayCount), or why that could not be seen.
func noDelay(bin string, row *peerRow) string {
	var addr string
	var pid int
	if row.peer == nil {
		// Guests only: the users file need not exist, and is not made.
		dir, err := os.MkdirTemp("", "benchreport-")
		if err != nil {
			return "not checked: " + err.Error()
		}
		defer os.RemoveAll(dir)
		srv, err := loadgen.SpawnServer(filepath.Join(bin, "chat-server"), loadgen.SpawnOptions{
			UsersFile: filepath.Join(dir, "users.db"), Guests: true, IRC: true,
			Args: []string{"-poller", row.poller}, Timeout: 10 * time.Second,
		})
		if err != nil {
			return "not checked: " + err.Error()
		}
		defer srv.Stop()
		addr, pid = srv.IRCAddr, srv.PID
	} else {
		srv, err := row.peer.Start(100, 10*time.Second)
		if err != nil {
			return "not checked: " + err.Error()
		}
		defer srv.Stop()
		addr, pid = srv.Addr, srv.PID
	}
	const conns = 2
	for range conns {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			return "not checked: " + err.Error()
		}
		defer c.Close()
	}
	_, portText, _ := net.SplitHostPort(addr)
	var port int
	fmt.Sscan(portText, &port)
	// The server accepts in its own time: ask until it has both.
	deadline := time.Now().Add(5 * time.Second)
	for {
		with, total, err := loadgen.NoDelayCount(pid, port)
		if err != nil {
			return "not checked: " + err.Error()
		}
		if total >= conns || time.Now().After(deadline) {
			return fmt.Sprintf("%d of %d", with, total)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// install installs the peer's Debian package when its binary is missing:
// apt-get install, and apt-get update first when apt does not know the
// package yet, as root or through sudo. It returns what it did and, if
// the peer is still missing, why (the status of its row).
func install(p loadgen.Peer) (note, status string) {
	if p.Installed() {
		return "", ""
	}
	logf("%s is missing: installing Debian's %s", p.Binary, p.Package)
	out, err := apt("install", "-y", p.Package)
	updated := false
	if err != nil && (bytes.Contains(out, []byte("Unable to locate package")) || bytes.Contains(out, []byte("has no installation candidate"))) {
		if uout, uerr := apt("update"); uerr != nil {
			return "", fmt.Sprintf("not installed: apt-get update failed: %v: %s", uerr, lastLine(string(uout)))
		}
		updated = true
		out, err = apt("install", "-y", p.Package)
	}
	if err != nil {
		return "", fmt.Sprintf("not installed: apt-get install -y %s failed: %v: %s", p.Package, err, lastLine(string(out)))
	}
	if !p.Installed() {
		return "", fmt.Sprintf("not installed: apt-get installed %s but %s is not there", p.Package, p.Binary)
	}
	note = fmt.Sprintf("installed by this run (apt-get install -y %s", p.Package)
	if updated {
		note += ", after apt-get update"
	}
	return note + ")", ""
}

// apt runs apt-get with args as root: directly when this program is root,
// through sudo -n when sudo is there and needs no password.
func apt(args ...string) ([]byte, error) {
	name := "apt-get"
	if os.Geteuid() != 0 {
		sudo, err := exec.LookPath("sudo")
		if err != nil {
			return nil, errors.New("not root, and no sudo to become it")
		}
		name, args = sudo, append([]string{"-n", "apt-get"}, args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

// writePeers writes the Peers section. alone says it was run by itself
// (-only peers), apart from the rest of the report.
func writePeers(b *bytes.Buffer, rows []*peerRow, others string, alone bool) {
	when := sectionStart(b, peersHeading, "peers", alone)
	fmt.Fprintf(b, "Our server beside Debian's ngircd and InspIRCd under the same loads, one after another, %s.\n", when)
	fmt.Fprint(b, "Every run is `loadgen -proto irc`: IRC clients (NICK, USER, JOIN of their room's channel, PRIVMSG\n")
	fmt.Fprint(b, "stamped with its intended send time), so our server is measured on its IRC listener, like for\n")
	fmt.Fprint(b, "like. Each run starts a fresh server. Idle: KB of server RSS per client, (RSS holding the\n")
	fmt.Fprintf(b, "clients − RSS before the first connected) / clients, with %d idle clients. Rooms: 10,000 clients in\n", peerIdleSessions)
	fmt.Fprint(b, "channels of 100, at 10,000 and 50,000 deliveries/s; latency from the intended send time, in ms;\n")
	fmt.Fprint(b, "server CPU in % of one core during the run.\n\n")
	fmt.Fprint(b, "| server | idle KB/client | 10k/s p50 / p99 / max ms | 10k/s server CPU % | 10k/s lost/dup/reord | 50k/s p50 / p99 / max ms | 50k/s server CPU % | 50k/s lost/dup/reord | notes |\n")
	fmt.Fprint(b, "|---|---|---|---|---|---|---|---|---|\n")
	for _, row := range rows {
		if row.status != "" {
			fmt.Fprintf(b, "| %s | | | | | | | | %s |\n", row.name, row.status)
			continue
		}
		var notes []string
		if row.note != "" {
			notes = append(notes, row.note)
		}
		fmt.Fprintf(b, "| %s | %s", row.name, idleCell(row.results["idle"], &notes))
		for _, name := range []string{"rooms-10k", "rooms-50k"} {
			fmt.Fprint(b, roomsCells(name, row.results[name], &notes))
		}
		fmt.Fprintf(b, " | %s |\n", strings.ReplaceAll(strings.Join(notes, "; "), "|", "/"))
	}
	fmt.Fprint(b, "\n")
	var loads []string
	for _, row := range rows {
		if row.load != "" {
			loads = append(loads, fmt.Sprintf("%s %s", row.name, row.load))
		}
	}
	fmt.Fprintf(b, "The machine's load average (1 minute) before and after each server's runs: %s, on %d cores.\n",
		strings.Join(loads, ", "), runtime.NumCPU())
	if others != "" {
		fmt.Fprintf(b, "%s (Processes that started during a run, such as\n", others)
		fmt.Fprint(b, "builds and tests of other work, count in the load average only.)\n")
	}
	fmt.Fprint(b, "What else runs on the machine shows in every server's latency, most at 50,000 deliveries/s, and\n")
	fmt.Fprint(b, "servers measured minutes apart may have met different loads: compare rows with the load beside them.\n\n")
	writeNoDelay(b, rows)
	writePeerSetup(b, rows)
}

// idleCell is the idle run's memory per client.
func idleCell(res result, notes *[]string) string {
	rep := res.rep
	if rep == nil || rep.Server == nil || rep.Up == 0 {
		*notes = append(*notes, "idle: "+cmpOr(res.status, "no server figures"))
		return "-"
	}
	if rep.Failed > 0 || res.status != "" {
		*notes = append(*notes, fmt.Sprintf("idle: %d of %d up %s", rep.Up, rep.Sessions, res.status))
	}
	*notes = append(*notes, fmt.Sprintf("idle: ramp %.1f s, registration p50 %.0f ms, p99 %.0f ms",
		rep.RampSeconds, rep.LoginTime.P50, rep.LoginTime.P99))
	kb := (rep.Server.RSSHeldMB - rep.Server.RSSBeforeMB) * 1024 / float64(rep.Up)
	return fmt.Sprintf("%.2f (%.1f → %.1f MB)", kb, rep.Server.RSSBeforeMB, rep.Server.RSSHeldMB)
}

// roomsCells are a rooms run's latency, CPU and checks.
func roomsCells(name string, res result, notes *[]string) string {
	rep := res.rep
	if rep == nil {
		*notes = append(*notes, name+": "+cmpOr(res.status, "no report"))
		return " | - | - | -"
	}
	cpu := "-"
	if rep.Server != nil {
		cpu = fmt.Sprintf("%.0f", rep.Server.CPURun)
	}
	note := fmt.Sprintf("%s: %.0f deliveries/s", name, rep.DeliveriesPerSec)
	if rep.Failed > 0 {
		note += fmt.Sprintf(", %d of %d up", rep.Up, rep.Sessions)
	}
	if n := errCount(rep); n > 0 {
		note += fmt.Sprintf(", %d errors (%s)", n, errKinds(rep))
	}
	if res.status != "" {
		note += ", " + res.status
	}
	*notes = append(*notes, note)
	l := rep.Latency
	return fmt.Sprintf(" | %.2f / %.2f / %.2f | %s | %d/%d/%d", l.P50, l.P99, l.Max, cpu, rep.Lost, rep.Duplicates, rep.OutOfOrder)
}

func cmpOr(s, otherwise string) string {
	if s != "" {
		return s
	}
	return otherwise
}

// writeNoDelay says what each server does about Nagle's algorithm, as
// found on its own sockets during this run.
func writeNoDelay(b *bytes.Buffer, rows []*peerRow) {
	var found []string
	for _, row := range rows {
		if row.status == "" {
			found = append(found, fmt.Sprintf("%s %s", row.name, row.nodelay))
		}
	}
	fmt.Fprint(b, "Neither peer sets TCP_NODELAY on its client sockets, so the kernel may hold a small reply back\n")
	fmt.Fprint(b, "(Nagle's algorithm) until the client acknowledges the previous one; our server sets it on every\n")
	fmt.Fprint(b, "connection (`server/loop.go`). This was checked on the servers themselves during this run: two\n")
	fmt.Fprint(b, "connections were opened to each and the sockets it accepted for them asked for TCP_NODELAY\n")
	fmt.Fprintf(b, "(`loadgen.NoDelayCount`, through pidfd_getfd): %s sockets had it. In the sources, ngircd's\n", strings.Join(found, ", "))
	fmt.Fprint(b, "`Init_Socket` (src/ngircd/conn.c) sets only SO_REUSEADDR and IP_TOS.\n\n")
}

// writePeerSetup gives how each server ran: the commands of every row and
// the peers' configurations.
func writePeerSetup(b *bytes.Buffer, rows []*peerRow) {
	fmt.Fprint(b, "Flood limits: our server runs with `-msg-rate -1`, as in the Load section. ngircd throttles every\n")
	fmt.Fprint(b, "client by default (a client's socket is ignored for a second after more than 3 commands in one\n")
	fmt.Fprint(b, "pass of its loop or 256 bytes in a second, and after costly commands); `MaxPenaltyTime = 0` caps\n")
	fmt.Fprint(b, "those penalties at nothing. Left on: penalties of 10 s and more (its guard against password\n")
	fmt.Fprint(b, "guessing, which no run here triggers), and its cap of 3 commands per client per pass of its loop\n")
	fmt.Fprint(b, "(a burst waits for the next pass, not for a penalty). ngircd also listens with a backlog of 10,\n")
	fmt.Fprint(b, "fixed in its source, and accepts one connection per pass of a loop that visits every client:\n")
	fmt.Fprint(b, "opened at the others' pace (2000 a second), its clients overflow the backlog, the kernel drops\n")
	fmt.Fprint(b, "the handshake's last ACK, and their NICK waits for TCP retransmissions until registration times\n")
	fmt.Fprint(b, "out. So its runs open clients with `-setup-in-flight 8` (at most 8 between dial and channel at\n")
	fmt.Fprint(b, "once), which changes the ramp, not the measured load. InspIRCd completes a registration in its\n")
	fmt.Fprint(b, "once-a-second pass over its users (`UserManager::DoBackgroundUserStuff`), so its clients wait up\n")
	fmt.Fprint(b, "to a second for 001; that too is before the measured run. InspIRCd meters commands (a burst of 10, then 1 a\n")
	fmt.Fprint(b, "second) and delays (fakelag) or cuts (Excess Flood) a client beyond that; its connect class\n")
	fmt.Fprint(b, "allows 1000 commands a second with a burst of a million and no fakelag, which no run comes near.\n")
	fmt.Fprint(b, "Both allow thousands of clients from 127.0.0.1 (ngircd `MaxConnectionsIP = 0`, InspIRCd\n")
	fmt.Fprintf(b, "`localmax`/`globalmax`/`limit` %d). Each runs in the foreground from a temporary directory holding\n", peerMaxClients)
	fmt.Fprint(b, "its configuration, pid file and log, on a free loopback port, as the unprivileged user nobody\n")
	fmt.Fprint(b, "when this program runs as root.\n\n")
	fmt.Fprint(b, "Commands (each also given `-json FILE`; $PORT and $PID are the peer's, started for the run):\n\n```\n")
	for _, row := range rows {
		for _, r := range peerRuns {
			if res, ok := row.results[r.name]; ok && res.cmd != "" {
				fmt.Fprintf(b, "%s    # %s\n", res.cmd, row.name)
			}
		}
	}
	fmt.Fprint(b, "```\n\n")
	for _, row := range rows {
		if row.peer == nil || row.config == "" {
			continue
		}
		fmt.Fprintf(b, "%s ran as `%s` (as %s), with this configuration:\n\n```\n%s```\n\n",
			row.name, strings.ReplaceAll(row.command, os.TempDir()+"/", "$TMPDIR/"), row.user, row.config)
	}
}

// spliceSection puts section (which starts with heading, without its
// leading newline) in place of the one with that heading in old: up to the
// next heading of the same level. A report without it gets it before the
// hand-written Comparisons, or at its end.
func spliceSection(old []byte, heading string, section []byte) []byte {
	var out bytes.Buffer
	if i := bytes.Index(old, []byte(heading)); i >= 0 {
		start := i + 1 // the section's own "## "
		end := len(old)
		if j := bytes.Index(old[start:], []byte("\n## ")); j >= 0 {
			end = start + j + 1
		}
		out.Write(old[:start])
		out.Write(section)
		out.Write(old[end:])
		return out.Bytes()
	}
	at := len(old)
	if i := bytes.Index(old, []byte(keptHeading)); i >= 0 {
		at = i + 1
	}
	out.Write(old[:at])
	if at > 0 && !bytes.HasSuffix(old[:at], []byte("\n\n")) {
		out.WriteString("\n")
	}
	out.Write(section)
	out.Write(old[at:])
	return out.Bytes()
}
