package harness

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ChatClusterOptions says how to start a ChatCluster.
type ChatClusterOptions struct {
	// Servers is how many chat servers (default 3).
	Servers int
	// Users are the accounts, name → password, the same on every server.
	Users map[string]string
	// Args are extra flags for every server, after the cluster's own
	// (later flags win).
	Args []string
	// IRC also opens an IRC listener on every server, on 127.0.0.1 at a
	// port the kernel chooses (-irc), kept across a restart.
	IRC bool
	// Replicas is -replicas, how many NATS nodes keep each stream and
	// bucket (default 3: every node of the NATS cluster, as on a
	// deployment with R3 streams).
	Replicas int
	// Proxies puts a Proxy on every route between the NATS nodes
	// (NATSClusterOptions.Proxies), so that a spec can cut one off.
	Proxies bool
}

// ChatCluster is one chat served by several chat-server processes, the
// nodes of a chat cluster, on one NATS cluster run in this process (a
// NATSCluster of 3 nodes). Server i is named c<i+1> (-server-name) and
// keeps its state in a directory of its own, kept across Kill and
// Restart, as are its ports.
//
// Its methods may be called from any goroutine.
type ChatCluster struct {
	NATS *NATSCluster

	dir   string // every node's directory and the users file; removed by Stop
	users string // the users file each node copies
	opts  ChatClusterOptions

	mu      sync.Mutex
	nodes   []*chatNode
	stopped bool
}

// chatNode is one chat server of a ChatCluster, across its restarts.
type chatNode struct {
	name  string
	dir   string // holds state/ and each life's users file
	urls  []string
	srv   *Server   // the running process, or the last one
	lives []*Server // every process it ran, oldest first, for Output
	// addr and ircAddr are where its first process listened: a restart
	// listens there again, so clients given these addresses find it.
	addr, ircAddr string
}

// chatStopTimeout bounds a graceful stop of one server.
const chatStopTimeout = 10 * time.Second

// StartChatCluster starts the NATS cluster and the chat servers, and
// returns once every server has printed its ready line. On an error
// everything it started is stopped.
func StartChatCluster(opts ChatClusterOptions) (c *ChatCluster, err error) {
	if opts.Servers <= 0 {
		opts.Servers = 3
	}
	if opts.Replicas <= 0 {
		opts.Replicas = 3
	}
	bin, err := Binaries()
	if err != nil {
		return nil, err
	}
	c = &ChatCluster{opts: opts}
	if c.dir, err = os.MkdirTemp("", "chatcluster-"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			c.kill()
		}
	}()
	nats, err := StartNATSCluster(NATSClusterOptions{Dir: filepath.Join(c.dir, "nats"), Proxies: opts.Proxies})
	if err != nil {
		return nil, err // it stopped what it started
	}
	c.NATS = nats
	// One users file, made once: useradd hashes each password, a quarter
	// of a second each, and every server and restart gets a copy.
	c.users = filepath.Join(c.dir, "users.db")
	if err := WriteUsers(bin, c.users, opts.Users); err != nil {
		return nil, err
	}
	urls := c.NATS.ClientURLs()
	for i := range opts.Servers {
		n := &chatNode{name: "c" + strconv.Itoa(i+1), dir: filepath.Join(c.dir, "c"+strconv.Itoa(i+1))}
		// Each server is given every NATS node, a different one first,
		// so their connections spread over the cluster.
		k := i % len(urls)
		n.urls = append(append(n.urls, urls[k:]...), urls[:k]...)
		if err := os.MkdirAll(filepath.Join(n.dir, "state"), 0o700); err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	// The first server makes the streams and buckets alone; the others,
	// which only find them, start together.
	if err := c.start(0); err != nil {
		return nil, err
	}
	errs := make([]error, len(c.nodes))
	var wg sync.WaitGroup
	for i := 1; i < len(c.nodes); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.start(i)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// start starts node i's server: on the ports of its first life if it had
// one, else on ports the kernel chooses.
func (c *ChatCluster) start(i int) error {
	c.mu.Lock()
	n := c.nodes[i]
	if c.stopped {
		c.mu.Unlock()
		return errors.New("chat cluster: stopped")
	}
	if n.srv != nil && !n.srv.hasExited() {
		c.mu.Unlock()
		return fmt.Errorf("chat cluster: %s already runs", n.name)
	}
	addr, ircAddr := n.addr, n.ircAddr
	c.mu.Unlock()

	life, err := os.MkdirTemp(n.dir, "users-")
	if err != nil {
		return err
	}
	// Not users.db, which StartServer writes in Dir, empty.
	users := filepath.Join(life, "accounts.db")
	if err := copyFile(c.users, users); err != nil {
		return err
	}
	args := []string{
		"-state", filepath.Join(n.dir, "state"),
		"-nats", strings.Join(n.urls, ","),
		"-server-name", n.name,
		"-replicas", strconv.Itoa(c.opts.Replicas),
		// Later flags win: the copy of the users file made once, not
		// StartServer's.
		"-users", users,
	}
	if addr != "" {
		args = append(args, "-addr", addr)
	}
	if ircAddr != "" {
		args = append(args, "-irc", ircAddr)
	}
	srv, err := StartServer(ServerOptions{Dir: life, IRC: c.opts.IRC, Args: append(args, c.opts.Args...)})
	if err != nil {
		return fmt.Errorf("chat cluster: start %s: %w", n.name, err)
	}
	srv.UsersFile = users

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		srv.Kill()
		return errors.New("chat cluster: stopped")
	}
	n.srv = srv
	n.lives = append(n.lives, srv)
	if n.addr == "" {
		n.addr, n.ircAddr = srv.Addr, srv.IRCAddr
	}
	return nil
}

// copyFile copies the file from to a new file to, mode 0600.
func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// hasExited reports whether the process has ended.
func (s *Server) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// Len is how many chat servers the cluster has.
func (c *ChatCluster) Len() int { return len(c.nodes) }

// Name is server i's -server-name: c1, c2, ...
func (c *ChatCluster) Name(i int) string { return c.nodes[i].name }

// Server is server i's process: the running one, or the last one after
// Kill.
func (c *ChatCluster) Server(i int) *Server {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].srv
}

// Addr is the chat protocol's address of server i, the same across its
// restarts.
func (c *ChatCluster) Addr(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].addr
}

// IRCAddr is the address of server i's IRC listener (ChatClusterOptions.IRC),
// the same across its restarts.
func (c *ChatCluster) IRCAddr(i int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i].ircAddr
}

// Addrs are every server's chat address, in order: a client's list of
// servers.
func (c *ChatCluster) Addrs() []string {
	var addrs []string
	for i := range c.nodes {
		addrs = append(addrs, c.Addr(i))
	}
	return addrs
}

// Kill ends server i with SIGKILL, as a crashed machine would, and waits
// for it to be gone. Its state directory stays, for Restart.
func (c *ChatCluster) Kill(i int) error {
	srv := c.Server(i)
	code, err := srv.Stop(syscall.SIGKILL, chatStopTimeout)
	if err != nil {
		return fmt.Errorf("chat cluster: kill %s: %w", c.Name(i), err)
	}
	if code != 128+int(syscall.SIGKILL) {
		return fmt.Errorf("chat cluster: %s had exited with status %d before it was killed\n%s", c.Name(i), code, srv.Output())
	}
	return nil
}

// Restart starts server i again, after Kill, on the same state directory
// and the same ports. A port another process took meanwhile fails it.
func (c *ChatCluster) Restart(i int) error {
	return c.start(i)
}

// Stop ends every server with SIGTERM, as an operator stops them, then
// the NATS cluster, and removes the directories. It reports a server
// that did not exit with status 0 within chatStopTimeout (killed then);
// one killed by Kill and not restarted is not an error. It is safe to
// call more than once.
func (c *ChatCluster) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	nodes := c.nodes
	c.mu.Unlock()

	errs := make([]error, len(nodes))
	var wg sync.WaitGroup
	for i, n := range nodes {
		if n.srv == nil || n.srv.hasExited() {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, err := n.srv.Stop(syscall.SIGTERM, chatStopTimeout)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("chat cluster: stop %s: %w", n.name, err)
			case code != 0:
				errs[i] = fmt.Errorf("chat cluster: %s exited with status %d after SIGTERM\n%s", n.name, code, n.srv.Output())
			}
		}()
	}
	wg.Wait()
	c.kill()
	return errors.Join(errs...)
}

// kill ends whatever still runs, at once, and removes the directories.
func (c *ChatCluster) kill() {
	c.mu.Lock()
	c.stopped = true
	nodes := c.nodes
	c.mu.Unlock()
	for _, n := range nodes {
		if n.srv != nil {
			n.srv.Kill()
		}
	}
	if c.NATS != nil {
		c.NATS.Close()
	}
	os.RemoveAll(c.dir)
}

// Output is what every server printed, each life of each in turn, for
// the report of a failed spec.
func (c *ChatCluster) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var b strings.Builder
	for _, n := range c.nodes {
		for k, s := range n.lives {
			fmt.Fprintf(&b, "=== %s, process %d of %d (pid %d)\n%s\n", n.name, k+1, len(n.lives), s.Pid(), s.Output())
		}
	}
	return b.String()
}
