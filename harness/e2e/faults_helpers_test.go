package e2e_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

// The fault specs (issue 3) run the real binaries with short timers, so a
// fault is noticed and survived within a second or two.
var (
	// fastServer: ping a connection silent for 500ms, declare it lost
	// 1.5s after that. (Shorter windows trip over a loaded machine: the
	// suite runs in parallel, and a process starved of CPU for a second
	// must not count as a lost peer.)
	fastServer = []string{"-ping-interval", "500ms", "-peer-timeout", "1500ms", "-shutdown-timeout", "1s"}
	// fastClient: first pause 100–200ms, doubling to 500ms; ping a server
	// silent for 1s, lost after 2s.
	fastClient = []string{"-retry-min", "100ms", "-retry-max", "500ms", "-ping", "1s"}
)

// retryReport matches a client's report of a failed connection or attempt
// and its announced pause (the group).
const retryReport = `(?:connection to 127\.0\.0\.1:\d+ lost|cannot connect to 127\.0\.0\.1:\d+): [^;\n]+; (?:reconnecting|retrying) in (\d+ms)`

// rig is a server keeping its rooms in a state directory, behind a fault
// proxy. Clients connect to the proxy, so the server can be stopped and
// started again on another port while they only ever see one address.
type rig struct {
	dir   string // holds the state directory
	args  []string
	srv   *harness.Server
	proxy *harness.Proxy
	// cert, when set, is the certificate the server serves over TLS on
	// its address, the same across restarts; clients pin it.
	cert *harness.Cert
}

// startRig starts a server with fastServer, a state directory and args
// (later flags win), and a proxy in front of it.
func startRig(args ...string) *rig {
	GinkgoHelper()
	return startRigOver(false, args...)
}

// startRigOver is startRig, the server speaking TLS if overTLS: the fault
// proxy then carries records it cannot read, and every fault must be
// survived as in plain TCP.
func startRigOver(overTLS bool, args ...string) *rig {
	GinkgoHelper()
	dir := GinkgoT().TempDir()
	r := &rig{dir: dir, args: append(append([]string{"-state", filepath.Join(dir, "state")}, fastServer...), args...)}
	if overTLS {
		cert, err := harness.WriteCert(dir, "localhost", "127.0.0.1")
		Expect(err).NotTo(HaveOccurred())
		r.cert = &cert
		r.args = append([]string{"-tls-cert", cert.CertFile, "-tls-key", cert.KeyFile}, r.args...)
	}
	r.start()
	p, err := harness.StartProxy(r.srv.Addr)
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(p.Close)
	r.proxy = p
	return r
}

// start starts the server (again) in the rig's directory with its flags.
func (r *rig) start() {
	GinkgoHelper()
	// A new users file each time (useradd refuses to add a name twice);
	// the state directory stays.
	srv, err := harness.StartServer(harness.ServerOptions{Users: accounts, Args: r.args, Dir: GinkgoT().TempDir()})
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		srv.Kill()
		if CurrentSpecReport().Failed() {
			AddReportEntry("server output", srv.Output())
		}
	})
	r.srv = srv
	if r.proxy != nil {
		r.proxy.SetTarget(srv.Addr)
	}
}

// restart stops the server with sig (SIGTERM: gracefully; SIGKILL: a
// crash), checks how it ended, and starts it again behind the proxy.
func (r *rig) restart(sig syscall.Signal) {
	GinkgoHelper()
	r.stop(sig)
	r.start()
}

func (r *rig) stop(sig syscall.Signal) {
	GinkgoHelper()
	code, err := r.srv.Stop(sig, 5*time.Second)
	Expect(err).NotTo(HaveOccurred())
	if sig == syscall.SIGKILL {
		Expect(code).To(Equal(128 + int(sig)))
	} else {
		Expect(code).To(Equal(0), "a graceful stop exits 0")
	}
}

// roomsSaved waits until the server's state file lists every room: the
// file is written off the server's loop, a moment after the change. With
// a message store there is nothing to wait for: a room is acknowledged
// only once the store has it.
func (r *rig) roomsSaved(rooms ...string) {
	GinkgoHelper()
	if !r.inMemory() {
		return
	}
	file := filepath.Join(r.dir, "state", "rooms.json")
	Eventually(func() (string, error) {
		data, err := os.ReadFile(file)
		return string(data), err
	}, deadline, 10*time.Millisecond).Should(And(func() []OmegaMatcher {
		var ms []OmegaMatcher
		for _, room := range rooms {
			ms = append(ms, ContainSubstring(`"name": "`+room+`"`))
		}
		return ms
	}()...))
}

// inMemory reports whether the rig's server keeps messages in memory
// (-store memory) rather than in its embedded store.
func (r *rig) inMemory() bool {
	return slices.Contains(r.args, storeMemory[1])
}

// storeMemory is the flag that keeps messages in memory only.
var storeMemory = []string{"-store", "memory"}

// client starts a client with fastClient connected through the proxy.
func (r *rig) client() *harness.Terminal {
	GinkgoHelper()
	return r.fastClient(r.proxy.Addr())
}

// direct starts a client with fastClient connected to the server itself,
// past the proxy: a witness the proxy's faults do not touch.
func (r *rig) direct() *harness.Terminal {
	GinkgoHelper()
	return r.fastClient(r.srv.Addr)
}

// fastClient is startFastClient, over TLS pinning the rig's certificate
// if the rig's server speaks TLS.
func (r *rig) fastClient(addr string) *harness.Terminal {
	GinkgoHelper()
	if r.cert == nil {
		return startFastClient(addr)
	}
	args := append(append([]string{}, fastClient...), "-tls-fingerprint", r.cert.Fingerprint, "tls://"+addr)
	term := startClientProcess(args...)
	awaitConnected(term, addr)
	return term
}

// startFastClient is startClientAt with the short reconnect timers.
func startFastClient(addr string) *harness.Terminal {
	GinkgoHelper()
	term := startClientProcess(append(append([]string{}, fastClient...), addr)...)
	awaitConnected(term, addr)
	return term
}

// inRoom logs each client in as its name and puts them all in room, the
// first creating it. Each member sees the later ones enter.
func inRoom(room string, names []string, terms ...*harness.Terminal) {
	GinkgoHelper()
	for i, t := range terms {
		login(t, names[i])
		if i == 0 {
			createRoom(t, room)
		} else {
			enterRoom(t, room)
		}
		for _, earlier := range terms[:i] {
			expect(earlier, server(names[i]+` entered `+room))
		}
	}
}

// backIn waits for a client's reports of a complete automatic return:
// connected again, logged in again without a password prompt, back in
// room. It returns what the client printed on the way.
func backIn(t *harness.Terminal, name, room string) string {
	GinkgoHelper()
	start := len(t.Output())
	expect(t, client(`reconnected to 127\.0\.0\.1:\d+`))
	expect(t, client(`logged in as `+name+` again`))
	expect(t, client(`back in `+room))
	shown := t.Output()[start:]
	Expect(shown).NotTo(ContainSubstring("Password:"), "the client asked for the password again")
	return shown
}

// shows waits until re matches anything the terminal printed, before or
// after the cursor: for a line whose place among others is not fixed.
func shows(t *harness.Terminal, re string) {
	GinkgoHelper()
	Expect(t.WaitUntil(func() bool { return t.Contains(re) }, deadline)).To(Succeed(), "/%s/ not shown:\n%s", re, t.Output())
}

// pauses returns the pauses a client announced in its reports matching re
// (whose first group is the pause, as "150ms" or "1.5s"), in order.
func pauses(out, re string) []time.Duration {
	GinkgoHelper()
	var ds []time.Duration
	for _, m := range regexp.MustCompile(re).FindAllStringSubmatch(out, -1) {
		d, err := time.ParseDuration(m[1])
		Expect(err).NotTo(HaveOccurred())
		ds = append(ds, d)
	}
	return ds
}

// count returns how many times re matches in out.
func count(out, re string) int {
	return len(regexp.MustCompile(re).FindAllStringIndex(out, -1))
}

// overName names the Context of specs run in plain TCP and over TLS.
func overName(overTLS bool) string {
	if overTLS {
		return "over TLS"
	}
	return "in plain TCP"
}
