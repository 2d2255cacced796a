package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"chat/harness"
)

// Two ways to run several chat servers as one chat (I17.2) and what
// `chat-server status` says of them (I17.4), with the real binary.

// proc is a chat-server process: its standard output line by line, its
// standard error kept for failures.
type proc struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *lockedBuffer
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startProc starts bin with args; the test's cleanup kills it.
func startProc(t *testing.T, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bin, args...), lines: make(chan string, 64), stderr: &lockedBuffer{}}
	p.cmd.Stderr = p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
	}()
	return p
}

func (p *proc) stop() {
	p.cmd.Process.Kill()
	p.cmd.Wait()
}

// ready waits until deadline for the ready line and returns the lines
// before it; the lines after it are read and dropped.
func (p *proc) ready(deadline time.Time) ([]string, error) {
	var before []string
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		select {
		case line, ok := <-p.lines:
			switch {
			case !ok:
				p.cmd.Wait()
				return before, fmt.Errorf("exited (%v) before its ready line; output %q, errors %q", p.cmd.ProcessState, before, p.stderr.String())
			case readyRE.MatchString(line):
				go func() {
					for range p.lines {
					}
				}()
				return before, nil
			}
			before = append(before, line)
		case <-timer.C:
			return before, fmt.Errorf("no ready line by the deadline; output %q, errors %q", before, p.stderr.String())
		}
	}
}

// clusterNode is a chat-server started as node of an embedded cluster.
type clusterNode struct {
	name, listen string   // n1, 127.0.0.1:PORT of its routes
	before       []string // what it printed before its ready line
	metrics      string   // its -metrics address
}

// freeLoopbackPorts finds n ports free on 127.0.0.1, listening on all
// at once so that they differ: the nodes of a cluster must know each
// other's route address before they start. Another process may take
// one before a node listens on it; startCluster then starts again.
func freeLoopbackPorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// errPortTaken: a node could not listen on the route port chosen for it.
var errPortTaken = errors.New("route port taken")

// startCluster starts n chat-server processes as the nodes n1, n2 ...
// of the embedded cluster "chat", each with its own state directory and
// every node's route, and waits for every ready line: a node is ready
// only once a majority of the cluster is up, so all start at once.
func startCluster(t *testing.T, bin string, n int) []*clusterNode {
	t.Helper()
	for try := 1; ; try++ {
		nodes, err := tryCluster(t, bin, n)
		if err == nil {
			return nodes
		}
		if !errors.Is(err, errPortTaken) || try == 3 {
			t.Fatal(err)
		}
		t.Logf("try %d: %v; again with other ports", try, err)
	}
}

func tryCluster(t *testing.T, bin string, n int) ([]*clusterNode, error) {
	var routes []string
	nodes := make([]*clusterNode, n)
	for i, port := range freeLoopbackPorts(t, n) {
		nodes[i] = &clusterNode{name: fmt.Sprintf("n%d", i+1), listen: fmt.Sprintf("127.0.0.1:%d", port)}
		routes = append(routes, "nats://"+nodes[i].listen)
	}
	dir := t.TempDir()
	procs := make([]*proc, n)
	for i, node := range nodes {
		procs[i] = startProc(t, bin, "-guests", "-users", filepath.Join(dir, "users.db"), "-addr", "127.0.0.1:0",
			"-metrics", "127.0.0.1:0", "-state", filepath.Join(dir, node.name),
			"-cluster", "chat", "-cluster-listen", node.listen, "-routes", strings.Join(routes, ","), "-server-name", node.name)
	}
	deadline := time.Now().Add(60 * time.Second)
	var failed error
	for i, p := range procs {
		before, err := p.ready(deadline)
		if err != nil {
			failed = fmt.Errorf("node %s: %w", nodes[i].name, err)
			if strings.Contains(err.Error(), "cannot listen for routes on "+nodes[i].listen) {
				failed = fmt.Errorf("%w: %v", errPortTaken, failed)
			}
			break
		}
		nodes[i].before = before
		if m := metricsRE.FindStringSubmatch(strings.Join(before, "\n")); m != nil {
			nodes[i].metrics = m[1]
		}
	}
	if failed != nil {
		for _, p := range procs {
			p.stop()
		}
		return nil, failed
	}
	return nodes, nil
}

var metricsRE = regexp.MustCompile(`(?m)^chat-server: metrics on http://(\S+)/metrics$`)

// runStatus runs `chat-server status addr` and returns its exit status
// and output.
func runStatus(t *testing.T, bin, addr string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, "status", addr)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("chat-server status: %v", err)
	return 0, "", ""
}

// waitStatus runs `chat-server status addr` until it exits 0 with every
// line of want in its output, and fails with the last run if the
// deadline passes first.
func waitStatus(t *testing.T, bin, addr string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out, errs := runStatus(t, bin, addr)
		missing := ""
		for _, w := range want {
			if !regexp.MustCompile(`(?m)^` + w + `$`).MatchString(out) {
				missing += "\n" + w
			}
		}
		if code == 0 && missing == "" {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("chat-server status %s: exit %d, without the lines:%s\nits output:\n%s%s", addr, code, missing, out, errs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Three chat servers, each with its own -state, form one embedded NATS
// cluster through -cluster, -cluster-listen and -routes. Each says which
// node it is and where its routes go before its ready line, and
// `chat-server status` on one node's -metrics address names it and sees
// the two others connected.
func TestBinaryClusterOfThree(t *testing.T) {
	bin := buildBinary(t)
	nodes := startCluster(t, bin, 3)
	for i, n := range nodes {
		var others []string
		for j, o := range nodes {
			if j != i {
				others = append(others, "nats://"+o.listen)
			}
		}
		want := fmt.Sprintf("chat-server: node %s of cluster chat, routes on %s to %s (3 replicas)", n.name, n.listen, strings.Join(others, ", "))
		if len(n.before) != 2 || n.before[1] != want || n.metrics == "" {
			t.Errorf("node %s printed before its ready line %q; want the metrics line, then %q", n.name, n.before, want)
		}
	}
	n1, n2, n3 := nodes[0], nodes[1], nodes[2]
	out := waitStatus(t, bin, n1.metrics,
		`peer n2 nats://`+n2.listen+` connected, .*ROOMS (leader|replica current).*`,
		`peer n3 nats://`+n3.listen+` connected, .*ROOMS (leader|replica current).*`)
	head := "ok\nnode n1\ncluster chat\nreplicas 3\nroutes on nats://" + n1.listen + "\npeer n1 nats://" + n1.listen + " this node"
	if !strings.HasPrefix(out, head) || strings.Count(out, "\npeer ") != 3 {
		t.Errorf("chat-server status of n1:\n%s\nwant it to start\n%s\nand name three servers", out, head)
	}
	t.Logf("chat-server status %s:\n%s", n1.metrics, out)
}

// Chat servers on an external NATS cluster (-nats) are each a node named
// by -server-name; the ready lines say so with the replicas asked for,
// and `chat-server status` sees the NATS servers: the one its store is
// connected to and the others its connection learnt of.
func TestBinaryNodeOnNATS(t *testing.T) {
	bin := buildBinary(t)
	c, err := harness.StartNATSCluster(harness.NATSClusterOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	urls := strings.Join(c.ClientURLs(), ",")
	dir := t.TempDir()
	p := startProc(t, bin, "-guests", "-users", filepath.Join(dir, "users.db"), "-addr", "127.0.0.1:0", "-metrics", "127.0.0.1:0",
		"-nats", urls, "-server-name", "web1", "-replicas", "3")
	before, err := p.ready(time.Now().Add(30 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	want := "chat-server: node web1 on NATS " + urls + " (3 replicas)"
	if len(before) != 2 || before[1] != want {
		t.Fatalf("printed before the ready line %q; want the metrics line, then %q", before, want)
	}
	var lines []string
	for _, n := range c.Nodes {
		lines = append(lines, `peer `+n.Name+` `+n.ClientURL+` (connected|answers), .*ROOMS (leader|replica current).*`)
	}
	out := waitStatus(t, bin, metricsRE.FindStringSubmatch(before[0])[1], lines...)
	head := "ok\nnode web1\ncluster " + c.Name + "\nreplicas 3\nnats " + urls + "\n"
	if !strings.HasPrefix(out, head) || strings.Count(out, " connected, ") != 1 {
		t.Errorf("chat-server status:\n%s\nwant it to start\n%s\nwith one server connected", out, head)
	}
	t.Logf("chat-server status:\n%s", out)
}

// `chat-server status` refuses a command line it cannot use (exit
// status 2), and says so when there is nothing to ask or what answers
// is not a chat server's endpoint (1).
func TestStatusCommandErrors(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := closed.Addr().String()
	closed.Close()
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	notChat := httptest.NewServer(http.NotFoundHandler())
	defer notChat.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "chat-server status: give the server's -metrics address, HOST:PORT"},
		{[]string{"a:1", "b:2"}, 2, "give the server's -metrics address"},
		{[]string{"9100"}, 2, `chat-server status: bad address "9100": give HOST:PORT`},
		{[]string{refused}, 1, "chat-server status: cannot reach " + refused + ": connection refused (is a chat-server running there with -metrics " + refused + "?)"},
		{[]string{"-timeout", "200ms", silent.Addr().String()}, 1, "chat-server status: no answer from " + silent.Addr().String() + " within 200ms (is a chat-server running there"},
		{[]string{notChat.Listener.Addr().String()}, 1, "answered 404 Not Found to GET /status: is it a chat-server's -metrics address?"},
	} {
		code, out, errs := runCmd(t, "", append([]string{"status"}, tc.args...)...)
		if code != tc.code || out != "" || !strings.Contains(errs, tc.want) {
			t.Errorf("status %q: exit %d, %q %q; want %d saying %q", tc.args, code, out, errs, tc.code, tc.want)
		}
	}
}
