package e2e_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"chat/harness"
)

// These specs drive Debian's real irssi, on a pseudo-terminal as a person
// runs it, against the server's IRC listener, with a rooms client on the
// other side. irssi draws a full screen with cursor addressing, so the specs
// match its plain output stream (Terminal.Expect), where each line it draws
// appears in one piece, not its screen.
var _ = Describe("irssi on the IRC listener", Label("irc", "irssi"), func() {
	for _, overTLS := range []bool{true, false} {
		Context(map[bool]string{true: "over TLS, trusting the server's certificate", false: "in plain TCP"}[overTLS], func() {
			irssiSpecs(overTLS)
		})
	}
})

// irssiSpecs are the irssi specs, connecting over TLS or not.
func irssiSpecs(overTLS bool) {
	var (
		srv   *harness.Server
		irssi string
	)

	BeforeEach(func() {
		irssi = irssiBinary()
		srv = startServerWithIRC(accounts)
	})

	It("joins a room, talks with a rooms client both ways, sees it enter and quits", func() {
		alice := startIrssi(irssi, "alice", overTLS)
		alice.connect(srv, accounts["alice"])
		alice.join("lounge")

		// bob, a rooms client, enters the room alice's JOIN created.
		bob := loginClient(srv, "bob")
		send(bob, "enter lounge")
		expect(bob, server(`you entered lounge with alice\n`))
		alice.expect(`-!- bob \[[^\]]*\] has joined #lounge`)

		send(bob, "hello irssi, from the rooms client")
		alice.expect(`< ?bob> hello irssi, from the rooms client`)

		alice.say("hello rooms, from irssi")
		m := expect(bob, `alice (`+ts+`) hello rooms, from irssi\n`)
		Expect(clockSkew(m[1])).To(BeNumerically("<", 2*time.Minute), "the time shown is not the local time now")

		// bob's leaving and coming back show as a part and a join.
		send(bob, "leave")
		expect(bob, server(`you left lounge\n`))
		alice.expect(`-!- bob \[[^\]]*\] has left #lounge`)
		send(bob, "enter lounge")
		expect(bob, server(`you entered lounge with alice\n`))
		alice.expect(`-!- bob \[[^\]]*\] has joined #lounge`)

		alice.typeLine("/quit off to bed")
		expect(bob, server(`alice left lounge \((?i:quit): off to bed\)`))
		Expect(alice.term.Wait(deadline)).To(Equal(0), "irssi's exit status after /quit")
		Expect(alice.errorReplies()).To(BeEmpty(), "the server answered irssi with errors")
	})

	It("exchanges private messages with a rooms client", func() {
		alice := startIrssi(irssi, "alice", overTLS)
		alice.connect(srv, accounts["alice"])
		bob := loginClient(srv, "bob")

		// A private message opens a query window in irssi, in the
		// background; /query bob brings it to the front.
		send(bob, "tell alice psst, a secret for irssi")
		expect(bob, server(`message sent to alice`))
		alice.typeLine("/query bob")
		alice.expect(`<bob> psst, a secret for irssi`)

		alice.say("a secret back, from irssi")
		expect(bob, `alice `+ts+` \(private\) a secret back, from irssi\n`)
		Expect(alice.errorReplies()).To(BeEmpty(), "the server answered irssi with errors")
	})

	It("is told when its password is wrong and is not logged in", func() {
		alice := startIrssi(irssi, "alice", overTLS)
		alice.connectWith(srv, "not-"+accounts["alice"])
		alice.expect(`Password incorrect`)
		alice.expect(`Connection lost to (127\.0\.0\.1|localhost)`)
		Expect(alice.term.Contains(`-!- Welcome`)).To(BeFalse(), "irssi was welcomed with a wrong password")
		// The name is free: the account logs in from a rooms client.
		loginClient(srv, "alice")
	})
}

// startServerWithIRC starts a server with the IRC listener open, stopped
// when the spec ends.
func startServerWithIRC(users map[string]string, args ...string) *harness.Server {
	GinkgoHelper()
	srv, err := harness.StartServer(harness.ServerOptions{Users: users, Args: args, Dir: GinkgoT().TempDir(), IRC: true, IRCTLS: true})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		srv.Kill()
		if CurrentSpecReport().Failed() {
			AddReportEntry("server output", srv.Output())
		}
	})
	Expect(srv.IRCAddr).NotTo(BeEmpty(), "the server printed no %q line:\n%s", harness.IRCReadyPattern, srv.Output())
	Expect(srv.IRCTLSAddr).NotTo(BeEmpty(), "the server printed no %q line:\n%s", harness.IRCTLSReadyPattern, srv.Output())
	return srv
}

// irssiSession is irssi running on a terminal with a home directory of its
// own.
type irssiSession struct {
	term *harness.Terminal
	home string
	nick string
	tls  bool // it connects over TLS, trusting the server's certificate
}

// irssiConfig is the whole of irssi's configuration: no servers, networks
// or channels to connect to or join by themselves, no settings written back,
// no log, and no paste detection (which holds back lines typed in quick
// succession until a key confirms them).
const irssiConfig = `servers = ( );
chatnets = { };
channels = ( );
aliases = { };
settings = {
  core = {
    nick = "%[1]s";
    user_name = "%[1]s";
    real_name = "%[1]s on irssi";
    settings_autosave = "no";
  };
  "fe-common/core" = { autolog = "no"; };
  "fe-text" = { paste_detect_time = "0"; };
};
`

// startIrssi runs irssi for nick on a terminal, in a new home directory (so
// no configuration, script or log of the machine's is used), and waits for
// its screen. The terminal is closed when the spec ends; if the spec failed,
// what irssi showed and its raw log of the IRC traffic are reported.
func startIrssi(irssi, nick string, overTLS bool) *irssiSession {
	GinkgoHelper()
	home := GinkgoT().TempDir()
	Expect(os.WriteFile(filepath.Join(home, "config"), fmt.Appendf(nil, irssiConfig, nick), 0o600)).To(Succeed())
	// -! : no automatic connection, whatever the configuration says.
	term, err := harness.StartTerminal(irssi, "--home="+home, "-n", nick, "-!")
	Expect(err).NotTo(HaveOccurred())
	s := &irssiSession{term: term, home: home, nick: nick, tls: overTLS}
	DeferCleanup(func() {
		if CurrentSpecReport().Failed() {
			AddReportEntry("irssi output", term.Tail(4000))
			AddReportEntry("irssi raw log", s.rawlog())
		}
		term.Close()
	})
	// The status window's bar: irssi has drawn its screen and reads keys
	// raw, so nothing typed from now on is lost to the terminal's set-up.
	expect(term, `\[\(status\)\]`)
	return s
}

// connect connects to the server's IRC listener with nick and password, as
// the account of that name, and waits for the server's welcome.
func (s *irssiSession) connect(srv *harness.Server, password string) {
	GinkgoHelper()
	s.connectWith(srv, password)
	s.expect(`-!- Welcome`)
}

// connectWith types /connect HOST PORT PASSWORD NICK, with the raw IRC
// traffic logged to a file in irssi's home; over TLS, to the IRC TLS
// listener as localhost (irssi matches the host name it was given against
// the certificate's DNS names only), verifying the certificate with the
// certificate itself as the authority.
func (s *irssiSession) connectWith(srv *harness.Server, password string) {
	GinkgoHelper()
	addr, tlsArgs := srv.IRCAddr, ""
	if s.tls {
		addr, tlsArgs = srv.IRCTLSAddr, "-tls -tls_verify -tls_cafile "+srv.Cert.CertFile+" "
	}
	host, port, err := net.SplitHostPort(addr)
	Expect(err).NotTo(HaveOccurred())
	if s.tls {
		host = "localhost"
	}
	s.typeLine(fmt.Sprintf("/connect -rawlog %s %s%s %s %s %s", s.rawlogFile(), tlsArgs, host, port, password, s.nick))
}

// join joins #room and waits until irssi shows itself in the channel.
func (s *irssiSession) join(room string) {
	GinkgoHelper()
	s.typeLine("/join #" + room)
	s.expect(`-!- ` + s.nick + ` \[[^\]]*\] has joined #` + room)
	// irssi shows the NAMES reply once it has the channel.
	s.expect(`#` + room + `: Total of \d+ nicks`)
}

// say types text into the active window and waits for irssi to show it
// as the nick's own line.
func (s *irssiSession) say(text string) {
	GinkgoHelper()
	s.typeLine(text)
	s.expect(`<[ @+]?` + s.nick + `> ` + regexp.QuoteMeta(text))
}

// typeLine types a line and Enter.
func (s *irssiSession) typeLine(line string) {
	GinkgoHelper()
	send(s.term, line)
}

// expect waits for re in irssi's output; irssi itself gets a little longer
// than the chat client, for it starts perl and redraws whole windows.
func (s *irssiSession) expect(re string) []string {
	GinkgoHelper()
	return expectWithin(s.term, re, 2*deadline)
}

// errorReplies returns the error numerics (4xx, 5xx) irssi received, but
// for the 451 "You have not registered" that answers the bare "JOIN :" it
// sends before registering, on purpose, to every server.
func (s *irssiSession) errorReplies() []string {
	var errs []string
	for _, line := range strings.Split(s.rawlog(), "\n") {
		if m := irssiErrorReply.FindStringSubmatch(line); m != nil && m[1] != "451 *" {
			errs = append(errs, line)
		}
	}
	return errs
}

var irssiErrorReply = regexp.MustCompile(`^>> :\S+ ([45]\d\d \S+) `)

func (s *irssiSession) rawlogFile() string { return filepath.Join(s.home, "rawlog") }

// rawlog returns the IRC traffic irssi logged: "<< " lines it sent, ">> "
// lines it received.
func (s *irssiSession) rawlog() string {
	b, err := os.ReadFile(s.rawlogFile())
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// Programs are looked for, and installed if need be, once per test
// process each.
var installs = struct {
	sync.Mutex
	byName map[string]*installed
}{byName: map[string]*installed{}}

type installed struct {
	once sync.Once
	path string
	why  string
}

// programFromApt returns the path of the program name, installing Debian's
// package pkg with apt-get when it is missing and the tests run as root (a
// fresh CI machine); it skips the spec when the program cannot be had.
func programFromApt(name, pkg string) string {
	GinkgoHelper()
	installs.Lock()
	in := installs.byName[name]
	if in == nil {
		in = &installed{}
		installs.byName[name] = in
	}
	installs.Unlock()
	in.once.Do(func() { in.path, in.why = findOrInstall(name, pkg, installTimeout) })
	if in.path == "" {
		Skip(fmt.Sprintf("%s is not installed and could not be installed with apt-get: %s", name, in.why))
	}
	return in.path
}

func irssiBinary() string { return programFromApt("irssi", "irssi") }

// installTimeout bounds an installation, apt-get update included, well
// inside the suite's own timeout.
const installTimeout = 3 * time.Minute

// findOrInstall returns the path of the program name, or why there is none.
// Parallel test processes take turns through a lock file, so one installs
// and the others find it installed (apt-get will not run twice at once).
func findOrInstall(name, pkg string, timeout time.Duration) (path, why string) {
	if p, err := exec.LookPath(name); err == nil {
		return p, ""
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", "there is no apt-get"
	}
	if os.Geteuid() != 0 {
		return "", "the tests do not run as root"
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	unlock, err := lockFile(ctx, filepath.Join(os.TempDir(), "chat-e2e-apt-get.lock"))
	if err != nil {
		return "", err.Error()
	}
	defer unlock()
	if p, err := exec.LookPath(name); err == nil {
		return p, "" // another test process installed it
	}
	install := []string{"install", "-y", "-q", "--no-install-recommends", pkg}
	if _, err := aptGet(ctx, install...); err != nil {
		// A fresh image has empty package lists ("Unable to locate
		// package"), and old lists may name files the mirror no longer
		// has: read them anew and try again.
		if _, err := aptGet(ctx, "update", "-q"); err != nil {
			return "", err.Error()
		}
		if _, err := aptGet(ctx, install...); err != nil {
			return "", err.Error()
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Sprintf("apt-get installed %s but %s is not on PATH: %v", pkg, name, err)
	}
	return p, ""
}

// aptGet runs apt-get with args, non-interactively, until ctx is done. Its
// error carries the end of apt-get's output.
func aptGet(ctx context.Context, args ...string) (string, error) {
	// Wait a while for dpkg's lock if something else holds it.
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"-o", "DPkg::Lock::Timeout=60"}, args...)...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// On timeout ask apt-get to stop, so it can leave dpkg consistent.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		text := strings.TrimSpace(out.String())
		if len(text) > 1500 {
			text = "…" + text[len(text)-1500:]
		}
		return out.String(), fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, text)
	}
	return out.String(), nil
}

// lockFile takes an exclusive lock on path, waiting until ctx is done, and
// returns its release. The lock goes with the process if it dies.
func lockFile(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open the install lock: %w", err)
	}
	locked := make(chan error, 1)
	go func() { locked <- unix.Flock(int(f.Fd()), unix.LOCK_EX) }()
	select {
	case err := <-locked:
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		// The waiting flock goes on; closing the file ends it (and frees
		// the lock should it be granted meanwhile).
		go func() { <-locked; f.Close() }()
		return nil, fmt.Errorf("waiting for another test process running apt-get: %w", ctx.Err())
	}
}
