package loadgen

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Peers are other IRC servers that `make bench` runs the same IRC loads
// against (-proto irc), for a comparison made in one sitting: Debian's
// ngircd and InspIRCd. Each runs in the foreground from a configuration
// written into a temporary directory of its own, on a free loopback port,
// with its pid file and log there too, and nothing written anywhere else.
// Both limit what one address may do by default; the configurations lift
// those limits so thousands of clients from 127.0.0.1 connect and chat
// without being throttled or cut (see each config's comments and
// docs/BENCHMARKS.md).

// A Peer is an IRC server binary loadgen knows how to configure and run.
type Peer struct {
	Name    string // as reports show it
	Package string // the Debian package that installs it
	Binary  string // where that package puts it
	// config is the configuration for a server on 127.0.0.1:port whose
	// files go in dir, holding up to maxConns clients.
	config func(port int, dir string, maxConns int) string
	// args is the command line that runs the server in the foreground
	// from the configuration file conf.
	args func(conf string) []string
	// SetupInFlight is what loadgen's -setup-in-flight must be for this
	// server to take thousands of clients (0: no bound needed).
	SetupInFlight int
}

// Ngircd is Debian's ngircd (version 26 in bookworm).
var Ngircd = Peer{Name: "ngircd", Package: "ngircd", Binary: "/usr/sbin/ngircd", config: ngircdConfig,
	// ngircd listens with a backlog of 10, fixed in its source
	// (listen(2) in NewListener, src/ngircd/conn.c), and accepts one
	// connection per pass of its loop, a pass that visits every client.
	// Connections opened faster than that overflow the backlog: the
	// kernel drops the handshake's last ACK, the client believes it is
	// connected and its NICK waits for TCP retransmissions, up to tens of
	// seconds, so registrations time out. At most 8 clients setting up at
	// once keeps the backlog from overflowing.
	SetupInFlight: 8,
	// -n: foreground, logging to stderr (our log file). ngircd 26 logs to
	// syslog too and has no option against it; where no syslog daemon
	// listens (/dev/log), as on our machines, that goes nowhere.
	args: func(conf string) []string { return []string{"-n", "-f", conf} }}

// InspIRCd is Debian's InspIRCd (version 3 in bookworm).
var InspIRCd = Peer{Name: "InspIRCd", Package: "inspircd", Binary: "/usr/sbin/inspircd", config: inspircdConfig,
	args: func(conf string) []string { return []string{"--nofork", "--config", conf} }}

// Peers lists the peers, in the order reports show them.
var Peers = []Peer{Ngircd, InspIRCd}

// ngircdConfig lifts ngircd's limits for a load test from one address:
//   - MaxConnectionsIP = 0 and MaxConnections = 0: no limit on clients
//     (the default allows 5 per address);
//   - MaxPenaltyTime = 0: no penalty time. ngircd throttles every client
//     by default: a client that sends more than 3 commands in one pass of
//     its loop, or more than 256 bytes in a second, and most commands that
//     cost the server work, get its socket ignored for a second or two;
//     0 caps every such penalty at nothing. Penalties of 10 s or more
//     (the brute-force guard on a wrong OPER or PASS) are not capped, and
//     no load here sends either. The per-pass cap of 3 commands stays:
//     it spreads a burst over passes of the loop but adds no delay.
//   - MaxJoins = 0, MaxNickLength = 30: any number of channels, and nicks
//     as long as loadgen's;
//   - DNS, Ident and PAM off: no lookup or authentication per client,
//     which would only measure this machine's resolver.
func ngircdConfig(port int, dir string, _ int) string {
	return fmt.Sprintf(`[Global]
	Name = peer.loadgen
	Info = loadgen peer
	Listen = 127.0.0.1
	Ports = %d
	PidFile = %s
	MotdPhrase = "loadgen peer"

[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxNickLength = 30
	MaxPenaltyTime = 0
	PingTimeout = 120
	PongTimeout = 20

[Options]
	DNS = no
	Ident = no
	PAM = no
	ConnectIPv6 = no
`, port, filepath.Join(dir, "ngircd.pid"))
}

// inspircdConfig lifts InspIRCd's limits for a load test from one address,
// in its one connect class:
//   - localmax, globalmax and limit: clients per address and in the class
//     (the defaults allow 3 per address and 5000 in all);
//   - threshold, commandrate and fakelag="no": InspIRCd meters every
//     client's commands (1 a second after a burst of 10 by default) and
//     either delays them (fakelag, the default) or cuts the client
//     (Excess Flood); here the rate is 1000 commands a second with a
//     burst of a million, which no load here comes near, so neither
//     happens;
//   - softsendq, hardsendq and recvq: queues large enough that a burst
//     to a room is neither delayed (softsendq) nor cut (hardsendq);
//   - resolvehostnames and useident off, as for ngircd;
//   - performance softlimit: the most clients, which defaults to 1024.
func inspircdConfig(port int, dir string, maxConns int) string {
	return fmt.Sprintf(`<config format="xml">
<server name="peer.loadgen" description="loadgen peer" network="loadgen">
<admin name="loadgen" nick="loadgen" email="loadgen@localhost">
<bind address="127.0.0.1" port="%[1]d" type="clients">
<path configdir="%[2]s" datadir="%[2]s" logdir="%[2]s">
<pid file="%[3]s">
<connect name="loadgen" allow="*" maxchans="100" timeout="60" pingfreq="120"
         hardsendq="16M" softsendq="1M" recvq="64K"
         threshold="1000000" commandrate="1000000" fakelag="no"
         localmax="%[4]d" globalmax="%[4]d" limit="%[4]d"
         resolvehostnames="no" useident="no">
<channels users="100" opers="100">
<limits maxnick="30" maxchan="64">
<performance softlimit="%[4]d" somaxconn="4096" quietbursts="yes" clonesonconnect="no">
<options prefixquit="Quit: " syntaxhints="no" announcets="yes" hostintopic="yes" pingwarning="15" splitwhois="no" exemptchanops="">
<security hideserver="" userstats="Pu" customversion="" flatlinks="no" hidesplits="no" hideulines="no" hidebans="no" maxtargets="20">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="%[5]s">
`, port, dir, filepath.Join(dir, "inspircd.pid"), maxConns, filepath.Join(dir, "inspircd.log"))
}

// Installed reports whether the peer's binary is there.
func (p Peer) Installed() bool {
	st, err := os.Stat(p.Binary)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// PeerServer is a peer started by Start.
type PeerServer struct {
	Peer
	Addr    string // 127.0.0.1:PORT
	PID     int
	Command string // the command line it runs with (the config's path is the temporary directory's)
	Config  string // the configuration it was given
	User    string // whose uid it runs with

	cmd     *exec.Cmd
	dir     string
	logPath string
	exited  chan struct{}
}

// Start runs the peer on a free loopback port for up to maxConns clients
// and waits until it accepts connections. Run as root, the server runs as
// the unprivileged user nobody (InspIRCd refuses root; ngircd would only
// switch to its configured user): the temporary directory is given to it.
func (p Peer) Start(maxConns int, timeout time.Duration) (*PeerServer, error) {
	if !p.Installed() {
		return nil, fmt.Errorf("start %s: %s is not installed (Debian package %s)", p.Name, p.Binary, p.Package)
	}
	dir, err := os.MkdirTemp("", "loadgen-peer-")
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	s := &PeerServer{Peer: p, dir: dir, logPath: filepath.Join(dir, "server.log"), exited: make(chan struct{})}
	if err := s.start(maxConns, timeout); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	return s, nil
}

func (s *PeerServer) start(maxConns int, timeout time.Duration) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	conf := filepath.Join(s.dir, "server.conf")
	s.Config = s.config(port, s.dir, maxConns)
	if err := os.WriteFile(conf, []byte(s.Config), 0o644); err != nil {
		return err
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	args := s.args(conf)
	s.Command = strings.Join(append([]string{s.Binary}, args...), " ")
	s.cmd = exec.Command(s.Binary, args...)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.User = "the current user"
	if os.Geteuid() == 0 {
		cred, err := nobody()
		if err != nil {
			return err
		}
		for _, f := range []string{s.dir, conf, s.logPath} {
			if err := os.Chown(f, int(cred.Uid), int(cred.Gid)); err != nil {
				return err
			}
		}
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		s.User = "nobody"
	}
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.PID = s.cmd.Process.Pid
	go func() {
		s.cmd.Wait()
		close(s.exited)
	}()
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", s.Addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-s.exited:
			return fmt.Errorf("it exited before it listened on %s: %s", s.Addr, s.failure())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.cmd.Process.Kill()
			<-s.exited
			return fmt.Errorf("not listening on %s within %v: %s", s.Addr, timeout, s.failure())
		}
	}
}

// freePort returns a loopback port that was free a moment ago: the peers
// take a port number, not a socket, so another process could take it
// between this and the peer's bind, which then fails and says so.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// nobody is the credential of the unprivileged user nobody.
func nobody() (*syscall.Credential, error) {
	u, err := user.Lookup("nobody")
	if err != nil {
		return nil, fmt.Errorf("run as an unprivileged user: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("run as an unprivileged user: nobody has uid %q, gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil // and no supplementary groups
}

// Log returns the end of the server's output, to say what went wrong.
func (s *PeerServer) Log() string { return s.failure() }

func (s *PeerServer) failure() string { return logTail(s.logPath, s.cmd.ProcessState) }

// Stop ends the server (SIGTERM, SIGKILL after 10 s) and removes its
// directory. It returns an error if the server had died during the run.
func (s *PeerServer) Stop() error {
	defer os.RemoveAll(s.dir)
	select {
	case <-s.exited:
		return fmt.Errorf("%s died during the run: %s", s.Name, s.failure())
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return errors.New(s.Name + " did not stop within 10s of SIGTERM; killed")
	}
	return nil
}
