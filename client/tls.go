package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"chat/internal/certs"
	"chat/internal/tlspipe"
)

// TLS: the chat connection and the transfers' data connections are
// encrypted when Config.TLS is set. Each connection's handshake runs on
// its tlspipe.Pipe's goroutine, which checks the server's certificate
// (check.verify, trust.go) and wakes the loop through the wake pipe when
// it has records to send or has ended; the loop (tlsPass) sends the
// records and acts on the end. Everything else, the trust on first use
// question included, is the loop's.

// TLSConfig says how the client checks the server it connects to over
// TLS (Config.TLS). With neither CA nor Fingerprint, the system's
// authorities vouch for the server, or else the person does, once, for
// each server (trust on first use), and the known-servers file remembers
// it.
type TLSConfig struct {
	// CA, when set, holds the only authorities that may vouch for the
	// server (-tls-ca), read from CAFile.
	CA     *x509.CertPool
	CAFile string
	// Fingerprint pins the server's certificate (-tls-fingerprint):
	// exactly this one is accepted, whoever signed it. As
	// certs.Fingerprint writes it.
	Fingerprint string
	// KnownServers is the known-servers file (known.go); "" means
	// DefaultKnownServers.
	KnownServers string
}

// LoadCA reads the PEM certificates of the authorities in path, for
// TLSConfig.CA.
func LoadCA(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool, err := certs.Pool(data)
	if err != nil {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// trustPrompt is the input line's prompt while the person is asked whether
// to trust a server.
const trustPrompt = "Trust this server and connect? (yes/no) "

// secure is the TLS of a run: the settings every connection's handshake
// starts from, and what the run learnt about each server. The loop owns
// it.
type secure struct {
	cfg TLSConfig
	// knownFile is the known-servers file; "" when there is none to keep,
	// and knownErr says why.
	knownFile string
	knownErr  string
	warned    bool // the file's bad lines were reported
	// peers holds what the run learnt about each server, by the name
	// reports give it (server.String): each node of a cluster has a
	// certificate of its own.
	peers map[string]*peerTLS
	// asking is the certificate the person is being asked about, shown
	// by the server the rotation stands at; "" when no question is up.
	asking string
}

// peerTLS is the TLS of one server in a run.
type peerTLS struct {
	base *tls.Config // the server's name, and the session cache that lets reconnections resume
	// accepted is the fingerprint the person trusted in this run, trusted
	// even if it could not be written down.
	accepted string
	// ident is what the run's first handshake with this server
	// established: every later one (reconnections, data connections) is
	// held to it.
	ident identity
}

func newSecure(cfg TLSConfig) *secure {
	s := &secure{cfg: cfg, knownFile: cfg.KnownServers, peers: make(map[string]*peerTLS)}
	if s.knownFile == "" && cfg.CA == nil && cfg.Fingerprint == "" {
		f, err := DefaultKnownServers()
		if err != nil {
			s.knownErr = err.Error()
		}
		s.knownFile = f
	}
	return s
}

// peer returns what the run knows of sv's TLS, made on first use.
func (s *secure) peer(sv server) *peerTLS {
	p := s.peers[sv.String()]
	if p == nil {
		p = &peerTLS{base: &tls.Config{
			ServerName: sv.host(),
			MinVersion: tls.VersionTLS12,
			// The check is the client's own (verify, run by
			// VerifyConnection, which crypto/tls calls for resumed
			// sessions too): trust on first use and pinning are not what
			// crypto/tls verifies.
			InsecureSkipVerify: true,
			// A cache of its own: the nodes of a cluster share a name,
			// and a session resumed is one server's.
			ClientSessionCache: tls.NewLRUClientSessionCache(0),
		}}
		s.peers[sv.String()] = p
	}
	return p
}

// attempt is one connection's handshake: the check it is held to, made
// before it starts, and the identity the check found. The handshake's
// goroutine writes found; the loop reads it only after the Pipe reports
// the handshake ended, which orders the two.
type attempt struct {
	check check
	found identity
}

// startTLS starts the TLS handshake of a connection just made to sv.
func (c *Client) startTLS(cn *conn, sv server) {
	a := &attempt{check: c.tlsCheck(sv)}
	cfg := c.tls.peer(sv).base.Clone()
	cfg.VerifyConnection = func(st tls.ConnectionState) error {
		id, err := a.check.verify(st.PeerCertificates)
		a.found = id
		return err
	}
	cn.shake = a
	cn.tls = tlspipe.NewClient(&tlspipe.Config{TLS: cfg, Notify: func(uint64) { c.wake() }}, 0)
}

// tlsCheck makes the check of a handshake with sv. Without a CA or a pin
// it reads the known-servers file, so that a line the person removed
// while the client ran is forgotten at the next attempt.
func (c *Client) tlsCheck(sv server) check {
	s, p := c.tls, c.tls.peer(sv)
	keys := sv.knownKeys()
	ck := check{
		addr: keys[0], host: sv.host(), now: c.now(),
		ca: s.cfg.CA, caFile: s.cfg.CAFile, pin: s.cfg.Fingerprint,
		knownFile: s.knownFile, accepted: p.accepted, run: p.ident,
	}
	if s.cfg.CA != nil || s.cfg.Fingerprint != "" || s.knownFile == "" {
		return ck
	}
	ks, err := readKnown(s.knownFile)
	if err != nil && !s.warned {
		c.report(fmt.Sprintf("%s: %s; going on as if it were empty", s.knownFile, errText(err)))
	}
	for _, p := range ks.problems {
		if !s.warned {
			c.report(fmt.Sprintf("%s line %d: %s; that line is ignored", s.knownFile, p.line, p.text))
		}
	}
	s.warned = true
	for _, k := range keys {
		if ck.known = ks.lookup(k); len(ck.known) > 0 {
			break
		}
	}
	return ck
}

// tlsPass moves the handshakes on: it writes what they produced and acts
// on those that ended. The loop calls it after every poll: a handshake's
// goroutine wakes the loop through the wake pipe when it has something.
func (c *Client) tlsPass(buf []byte) {
	if c.tls == nil {
		return
	}
	if cn := c.conn; cn != nil && cn.handshaking() {
		c.chatHandshake(cn, buf)
	}
	for _, t := range append([]*transfer(nil), c.xfers...) {
		if t.cn != nil && t.cn.handshaking() && !c.done {
			c.dataHandshake(t)
		}
	}
}

// chatHandshake follows the chat connection's handshake.
func (c *Client) chatHandshake(cn *conn, buf []byte) {
	if err := cn.flush(); err != nil {
		c.connectFailed(err)
		return
	}
	done, err := cn.tls.Handshake()
	switch {
	case !done:
		return
	case err != nil:
		c.handshakeFailed(err)
		return
	}
	cn.secured = true
	if p := c.tls.peer(c.server); p.ident == (identity{}) {
		p.ident = cn.shake.found
	}
	c.connected()
	// Records that came with the server's last flight (a TLS 1.3 session
	// ticket, for the next reconnection) are read now: poll will not
	// report them.
	if err := cn.decrypt(buf, cn.feed); err != nil {
		c.lost(errText(err))
		return
	}
	c.frames()
}

// dataHandshake follows a data connection's handshake.
func (c *Client) dataHandshake(t *transfer) {
	if err := t.cn.flush(); err != nil {
		c.transferFailed(t, "cannot connect to "+t.server.String()+": "+errText(err))
		return
	}
	done, err := t.cn.tls.Handshake()
	switch {
	case !done:
		return
	case err != nil:
		c.transferFailed(t, "cannot connect to "+t.server.String()+": "+handshakeText(t.server.String(), err))
		return
	}
	t.cn.secured = true
	c.dataConnected(t)
}

// fate is what the client does about a failed handshake.
type fate int

const (
	fateRetry   fate = iota // as after any failed attempt: pause, then again
	fateAsk                 // ask the person whether to trust the certificate
	fateStop                // report and exit: the next attempt would fail the same way
	fateChanged             // the same, loudly: the server is not the one trusted
	fateNotTLS              // the server speaks the plain protocol
)

// handshakeFate decides, for each way a handshake fails, whether trying
// again can help. The stream ending or failing under the handshake is a
// network fault, or a server stopping: the next attempt may well succeed,
// as after any lost connection. Everything else is about what the two
// sides are: a certificate the client does not trust (the server shows the
// same one next time: retrying would only repeat the refusal, and would
// hide a changed certificate among reconnection reports), a server that
// does not speak TLS, or a server that refuses the handshake with an alert
// because it shares no version or cipher with this client.
func handshakeFate(err error) fate {
	var te *trustError
	var rh tls.RecordHeaderError
	var errno syscall.Errno
	switch {
	case errors.As(err, &te):
		switch te.kind {
		case trustUnknown:
			return fateAsk
		case trustChanged:
			return fateChanged
		}
		return fateStop
	case errors.As(err, &rh):
		return fateNotTLS
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &errno):
		return fateRetry
	}
	return fateStop
}

// handshakeText says why a handshake failed, completing "cannot connect to
// HOST:PORT: ".
func handshakeText(addr string, err error) string {
	var te *trustError
	switch {
	case errors.As(err, &te):
		return te.text
	case handshakeFate(err) == fateNotTLS:
		return addr + " does not speak TLS: connect without tls://"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return "the server closed the connection during the TLS handshake"
	}
	return "TLS handshake failed: " + strings.TrimPrefix(errText(err), "tls: ")
}

// handshakeFailed acts on the failed handshake of the chat connection.
func (c *Client) handshakeFailed(err error) {
	addr := c.server.String()
	f := handshakeFate(err)
	if f == fateRetry {
		c.attemptFailed(handshakeText(addr, err))
		return
	}
	c.dropConn()
	var te *trustError
	errors.As(err, &te)
	switch f {
	case fateAsk:
		c.askTrust(te)
		return
	case fateChanged:
		c.changedBanner(te)
	case fateNotTLS:
		c.report(handshakeText(addr, err) + "; exiting")
	default:
		c.report(fmt.Sprintf("cannot connect to %s: %s; not retrying, exiting", addr, handshakeText(addr, err)))
	}
	c.exit(ExitError)
}

// changedBanner tells, loudly, that the server shows another certificate
// than the one trusted before, and what to do if that is expected.
func (c *Client) changedBanner(e *trustError) {
	addr := c.server.String()
	c.report(fmt.Sprintf("cannot connect to %s: ITS CERTIFICATE HAS CHANGED; not connecting, exiting", addr))
	lines := []string{
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"@    WARNING: THE SERVER'S CERTIFICATE HAS CHANGED!          @",
		"@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@",
		"Someone may be intercepting your connection to " + addr + " (a man-in-the-middle",
		"attack), or the server's operator has replaced its certificate.",
	}
	if e.byCA {
		lines = append(lines,
			"This run's first connection was verified through an authority this system trusts;",
			"the certificate shown now is signed by none: "+e.fingerprint)
	} else {
		lines = append(lines,
			"Trusted before:  "+e.want,
			"Now shown:       "+e.fingerprint)
	}
	if e.knownLine > 0 {
		lines = append(lines,
			fmt.Sprintf("The trusted certificate is remembered on line %d of %s.", e.knownLine, e.knownFile),
			"If the server's operator confirms the new fingerprint, delete that line and connect again.")
	} else {
		lines = append(lines, "If the server's operator confirms the new fingerprint, connect again.")
	}
	lines = append(lines, "Not connecting to "+addr+"; exiting.")
	for _, l := range lines {
		c.r.Print(l)
	}
}

// askTrust asks the person whether to trust a certificate no authority
// vouches for, showing its fingerprint to compare with the one the
// server's operator gives. The connection is closed meanwhile (the server
// would not wait for a person), and made again after a yes. Without a
// terminal there is nobody to ask.
func (c *Client) askTrust(e *trustError) {
	addr := c.server.String()
	if !c.tty {
		c.report(fmt.Sprintf("cannot connect to %s: %s; the input is not a terminal to ask whether to trust it: "+
			"check the fingerprint with the server's operator and give it with -tls-fingerprint; exiting", addr, e.text))
		c.exit(ExitError)
		return
	}
	if c.pw != nil {
		// The login waits for the connection anyway; its password is
		// asked again once connected.
		c.pw.Wipe()
		c.pw = nil
		c.report("login cancelled: the server must be trusted first")
	}
	c.tls.asking = e.fingerprint
	c.report(fmt.Sprintf("the authenticity of %s cannot be established: its certificate is signed by no authority this system trusts, and it is not a known server", addr))
	c.report("its fingerprint is " + e.fingerprint)
	where := "for this run only: " + c.tls.knownErr
	if c.tls.knownFile != "" {
		where = "in " + c.tls.knownFile
	}
	c.report("compare it with the fingerprint the server's operator gives you (chat-server prints it when it starts); if you trust it, it is remembered " + where)
	c.ed.Reset()
	c.r.Invalidate()
}

// asking reports whether the person is being asked whether to trust a
// server: the next line typed is the answer.
func (c *Client) asking() bool { return c.tls != nil && c.tls.asking != "" }

// trustAnswer acts on the answer to askTrust: yes (or the fingerprint
// itself, pasted to compare) remembers the server and connects; no exits.
func (c *Client) trustAnswer(answer string) {
	s, addr, fp := c.tls, c.server.String(), c.tls.asking
	a := strings.ToLower(strings.TrimSpace(answer))
	pasted, perr := certs.ParseFingerprint(a)
	switch {
	case a == "yes" || a == "y" || perr == nil && pasted == fp:
	case a == "no" || a == "n":
		s.asking = ""
		c.report(fmt.Sprintf("%s is not trusted, so not connecting; exiting", addr))
		c.exit(ExitError)
		return
	case perr == nil:
		c.report(fmt.Sprintf("that is not its fingerprint: it shows %s; answer yes or no", fp))
		return
	default:
		c.report("answer yes or no (or paste the fingerprint to compare)")
		return
	}
	s.asking = ""
	s.peer(c.server).accepted = fp
	key := c.server.knownKeys()[0]
	if s.knownFile == "" {
		c.report(fmt.Sprintf("trusting %s for this run only: %s", addr, s.knownErr))
	} else if line, err := addKnown(s.knownFile, key, fp); err != nil {
		c.report(fmt.Sprintf("cannot remember %s in %s: %s; trusting it for this run only", addr, s.knownFile, errText(err)))
	} else {
		c.report(fmt.Sprintf("remembered %s as %s in %s (line %d)", key, fp, s.knownFile, line))
	}
	// The rotation still stands at the server asked about.
	c.startConnect()
}
