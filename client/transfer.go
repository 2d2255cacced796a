package client

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"chat/internal/wire"
)

// File transfers (docs/PROTOCOL.md, "File transfer"). Each
// transfer has a data connection of its own to the server, a
// non-blocking socket polled by the same poll(2) loop as the keyboard and
// the chat connection: there is no goroutine per transfer, and chat goes on
// while files move. Reads and writes of the local files are
// ordinary blocking calls, one chunk of at most chunkSize at a time: a local
// disk answers in far less time than a person notices, so the loop stays
// responsive without a worker for them. A file is read once, hashed as it
// is read and never held whole in memory; a received file is written
// to a temporary file and kept under its name only once its size and
// SHA-256 digest are checked.

const (
	// chunkSize is how much of a file is read or written at once.
	chunkSize = 256 << 10
	// chunksPerTurn bounds the work one transfer does per turn of the
	// loop, so that chat and the other transfers get their turn.
	chunksPerTurn = 4
	// maxSending and maxReceiving bound the transfers at once: more
	// requests are refused (ErrBusy) or not sent.
	maxSending   = 8
	maxReceiving = 16
	// progressFrom is the size from which a received file's progress is
	// shown.
	progressFrom = 1 << 20
	// reasonWait is how long a requester whose data connection ended early
	// waits for the server's FileFailed, which says why.
	reasonWait = 2 * time.Second
	// drainWait bounds the wait for the server to close an owner's data
	// connection after the whole file went out.
	drainWait = 10 * time.Second
	// attachID is the ID of the Attach, the only request on a data
	// connection.
	attachID = 1
)

type xferState int

const (
	xConnecting xferState = iota // connect(2), or then the TLS handshake, in progress
	xAttaching                   // Attach sent, its Reply awaited
	xStreaming                   // owner: sending the file; requester: receiving it
	xDraining                    // owner: all sent, write side shut, waiting for the server to close
	xBroken                      // requester: the stream ended early; waiting briefly for the reason
)

// recvPhase is where a requester is in the owner's byte stream.
type recvPhase int

const (
	rHeader recvPhase = iota // a FileHeader comes next
	rData                    // file bytes
	rEnd                     // the FileEnd comes next
)

// transfer is one file on its way, in either direction.
type transfer struct {
	send     bool   // this client is the owner
	token    string // the server's name for the transfer
	peer     string // the requester (send) or the owner (receive)
	name     string // the file's name as requested
	server   server // where its data connection goes: the chat connection's server when it began
	cn       *conn
	state    xferState
	deadline time.Time // connecting, draining, broken
	started  time.Time
	out      []byte // bytes to write; what was written is sliced off
	in       []byte // bytes read and not yet parsed as frames
	h        hash.Hash
	size     int64 // from the file (send) or the FileHeader (receive)
	done     int64 // bytes read from the file (send) or written to it (receive)

	// Owner.
	file  *os.File
	chunk []byte // the read buffer; out often aliases it
	ended bool   // the FileEnd is in out

	// Requester.
	base     string // the local name to keep the file under
	phase    recvPhase
	part     *os.File // the temporary file
	partPath string
	why      string // xBroken: what is known of the failure so far
	prog     progress
}

// active reports whether t still counts as running: a drained owner
// connection only waits for the server to hang up.
func (t *transfer) active() bool { return t.state != xDraining }

// transferCount returns how many transfers run in direction send.
func (c *Client) transferCount(send bool) int {
	n := 0
	for _, t := range c.xfers {
		if t.send == send && t.active() {
			n++
		}
	}
	return n
}

// busyTransfers reports whether a transfer is still running (the end of a
// script's input waits for them).
func (c *Client) busyTransfers() bool {
	for _, t := range c.xfers {
		if t.active() {
			return true
		}
	}
	return false
}

// pollTransfers adds the data connections to the poll set and returns the
// transfers in the order they were added.
func (c *Client) pollTransfers(fds []unix.PollFd) ([]unix.PollFd, []*transfer) {
	c.polled = append(c.polled[:0], c.xfers...)
	for _, t := range c.polled {
		if t.cn == nil {
			// Broken: only waiting for the reason (a negative fd is
			// ignored by poll).
			fds = append(fds, unix.PollFd{Fd: -1})
			continue
		}
		ev := int16(0)
		if t.cn.wantRead() {
			ev |= unix.POLLIN
		}
		if t.cn.wantWrite() || t.cn.open() && (len(t.out) > 0 || t.send && t.state == xStreaming) {
			ev |= unix.POLLOUT
		}
		fds = append(fds, unix.PollFd{Fd: int32(t.cn.fd), Events: ev})
	}
	return fds, c.polled
}

// dataConn opens a data connection for t and queues its Attach. It goes
// to the server the chat connection is on: the transfer's token is that
// server's.
func (c *Client) dataConn(t *transfer, role wire.Code) error {
	t.server = c.server
	cn, err := dial(t.server.ip)
	if err != nil {
		return err
	}
	t.cn = cn
	t.started = c.now()
	t.state = xConnecting
	t.deadline = c.now().Add(c.cfg.ConnectTimeout)
	t.out = wire.Append(nil, &wire.Frame{Type: wire.TypeAttach, ID: attachID, Token: t.token, Code: role})
	c.xfers = append(c.xfers, t)
	if !cn.connecting {
		c.dataConnected(t)
	}
	return nil
}

// dataConnected runs when t's data connection is made: under TLS its
// handshake starts (tlsPass calls dataConnected again once it has ended
// well), otherwise the Attach goes out when the socket takes it.
func (c *Client) dataConnected(t *transfer) {
	if c.tls != nil && !t.cn.secured {
		c.startTLS(t.cn, t.server)
		return
	}
	t.state = xAttaching
	t.deadline = time.Time{}
}

// transferEvent handles poll events on t's data connection.
func (c *Client) transferEvent(t *transfer, rev int16) {
	if t.cn == nil {
		return // ended earlier in this turn
	}
	if t.state == xConnecting && t.cn.connecting {
		if err := t.cn.finishConnect(); err != nil {
			c.transferFailed(t, "cannot connect to "+t.server.String()+": "+errText(err))
			return
		}
		c.dataConnected(t)
	}
	if t.cn != nil && t.cn.handshaking() {
		c.handshakeEvent(t, rev)
		return
	}
	if rev&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
		c.transferRead(t)
	}
	if t.cn != nil && rev&unix.POLLOUT != 0 || t.cn != nil && len(t.out) > 0 {
		c.transferWrite(t)
	}
}

// transferWrite writes what t has to write; an owner streaming its file
// reads the next chunks as the socket takes them.
func (c *Client) transferWrite(t *transfer) {
	if err := t.cn.flush(); err != nil {
		c.transferFailed(t, c.cutOff(t, errText(err)))
		return
	}
	for i := 0; i < chunksPerTurn && t.cn != nil; i++ {
		if len(t.out) == 0 {
			if !t.send || t.state != xStreaming {
				return
			}
			if t.ended {
				c.sent(t)
				return
			}
			if !c.nextChunk(t) {
				return
			}
		}
		n, err := t.cn.write(t.out)
		if err != nil {
			c.transferFailed(t, c.cutOff(t, errText(err)))
			return
		}
		t.out = t.out[n:]
		if len(t.out) > 0 {
			return // the socket is full: wait for POLLOUT
		}
	}
}

// transferRead reads what the server sent on t's data connection.
func (c *Client) transferRead(t *transfer) {
	got := func(b []byte) bool {
		if t.send {
			c.ownerInput(t, b)
		} else {
			c.requesterInput(t, b)
		}
		return t.cn != nil
	}
	for i := 0; i < chunksPerTurn && t.cn != nil; i++ {
		n, err := t.cn.receive(c.xbuf, got)
		switch {
		case t.cn == nil:
			return // got ended the transfer
		case err == io.EOF:
			c.transferEOF(t, "")
			return
		case err != nil:
			c.transferEOF(t, errText(err))
			return
		}
		if n < len(c.xbuf) {
			return
		}
	}
}

// handshakeEvent handles poll events on a data connection during its TLS
// handshake: the bytes read are the handshake's, and its records go out.
// A failure of the stream shows as the handshake's own (tlsPass).
func (c *Client) handshakeEvent(t *transfer, rev int16) {
	if rev&(unix.POLLIN|unix.POLLHUP|unix.POLLERR) != 0 {
		if _, err := t.cn.receive(c.xbuf, nil); err != nil {
			c.transferFailed(t, "cannot connect to "+t.server.String()+": "+errText(err))
			return
		}
	}
	if rev&unix.POLLOUT != 0 {
		if err := t.cn.flush(); err != nil {
			c.transferFailed(t, "cannot connect to "+t.server.String()+": "+errText(err))
		}
	}
}

// attachReply handles the server's answer to t's Attach, found at the start
// of t.in. It reports whether the transfer goes on.
func (c *Client) attachReply(t *transfer) (rest []byte, ok bool, complete bool) {
	body, rest, err := wire.Split(t.in)
	if err != nil {
		c.transferFailed(t, "the server sent data that is not the chat protocol: "+err.Error())
		return nil, false, true
	}
	if body == nil {
		return t.in, false, false
	}
	var f wire.Frame
	if err := wire.Unmarshal(body, &f); err != nil || f.Type != wire.TypeReply {
		c.transferFailed(t, "the server did not answer the data connection as expected")
		return nil, false, true
	}
	if f.Code != wire.OK {
		c.transferFailed(t, textOr(f.Text, fmt.Sprintf("the server refused the data connection (code %d)", f.Code)))
		return nil, false, true
	}
	t.state = xStreaming
	return rest, true, true
}

// transferEOF handles the end of t's data connection.
func (c *Client) transferEOF(t *transfer, errMsg string) {
	switch {
	case t.state == xDraining:
		c.endTransfer(t)
	case t.send:
		c.transferFailed(t, c.cutOff(t, textOr(errMsg, "the server closed the data connection")))
	default:
		// The server says why on the chat connection (FileFailed); wait a
		// moment for it.
		why := c.cutOff(t, textOr(errMsg, "the data connection closed"))
		c.abandon(t)
		t.state = xBroken
		t.why = why
		t.deadline = c.now().Add(reasonWait)
	}
}

// cutOff describes a transfer that ended early: how far it got.
func (c *Client) cutOff(t *transfer, why string) string {
	switch {
	case t.state == xConnecting || t.state == xAttaching:
		return why + " before the transfer started"
	case t.size > 0 || t.done > 0:
		return fmt.Sprintf("%s after %s of %s", why, sizeText(t.done), sizeText(t.size))
	}
	return why
}

// transferFailed ends t with a report of why.
func (c *Client) transferFailed(t *transfer, why string) {
	if t.send {
		c.report(fmt.Sprintf("could not send %s to %s: %s", t.name, t.peer, why))
	} else {
		c.report(fmt.Sprintf("could not get %s from %s: %s%s", t.name, t.peer, why, c.partRemoved(t)))
	}
	c.abandon(t)
	c.endTransfer(t)
}

// partRemoved removes the partial file of a requester, if any, and says so.
func (c *Client) partRemoved(t *transfer) string {
	if t.part == nil && t.partPath == "" {
		return ""
	}
	if t.part != nil {
		t.part.Close()
		t.part = nil
	}
	if t.partPath != "" {
		_ = os.Remove(t.partPath)
		t.partPath = ""
		return "; the partial file was removed"
	}
	return ""
}

// abandon releases t's files; the partial file of a requester is removed.
func (c *Client) abandon(t *transfer) {
	if t.file != nil {
		t.file.Close()
		t.file = nil
	}
	c.partRemoved(t)
	if t.cn != nil {
		t.cn.close()
		t.cn = nil
	}
}

// endTransfer forgets t.
func (c *Client) endTransfer(t *transfer) {
	if t.cn != nil {
		t.cn.close()
		t.cn = nil
	}
	for i, x := range c.xfers {
		if x == t {
			c.xfers = append(c.xfers[:i], c.xfers[i+1:]...)
			c.xfers[len(c.xfers):cap(c.xfers)][0] = nil
			break
		}
	}
	if len(c.xfers) == 0 {
		c.xfers = nil
	}
}

// closeTransfers ends every transfer at once (the client is exiting):
// connections closed, partial files removed.
func (c *Client) closeTransfers() {
	for _, t := range c.xfers {
		c.abandon(t)
	}
	c.xfers = nil
}

// transferTimers runs the transfers' deadlines.
func (c *Client) transferTimers(now time.Time) {
	for _, t := range append([]*transfer(nil), c.xfers...) {
		if t.deadline.IsZero() || now.Before(t.deadline) {
			continue
		}
		switch t.state {
		case xConnecting:
			c.transferFailed(t, fmt.Sprintf("cannot connect to %s: no answer after %s", t.server, pause(c.cfg.ConnectTimeout)))
		case xDraining:
			c.endTransfer(t)
		case xBroken:
			c.report(fmt.Sprintf("could not get %s from %s: %s; the partial file was removed", t.name, t.peer, t.why))
			c.endTransfer(t)
		}
	}
}

// transferDeadline returns the earliest deadline of the transfers.
func (c *Client) transferDeadline() time.Time {
	var d time.Time
	for _, t := range c.xfers {
		if !t.deadline.IsZero() && (d.IsZero() || t.deadline.Before(d)) {
			d = t.deadline
		}
	}
	return d
}

// findTransfer returns the transfer named token, or nil.
func (c *Client) findTransfer(token string) *transfer {
	for _, t := range c.xfers {
		if t.token == token {
			return t
		}
	}
	return nil
}

// --- The owner's side. ---

// offer handles a FileOffer: serve the file or refuse.
// Nothing that goes wrong here ends the client.
func (c *Client) offer(f *wire.Frame) {
	who := textOr(f.From, "someone")
	if f.Token == "" || c.conn == nil {
		return
	}
	refuse := func(code wire.Code, text string) {
		c.report(fmt.Sprintf("refused %s's request for %s: %s", who, clip(f.Name), text))
		c.transmit(request{frame: wire.Frame{Type: wire.TypeRefuse, Token: f.Token, Code: code, Text: text}, auto: true, quiet: true})
	}
	if c.transferCount(true) >= maxSending {
		refuse(wire.ErrBusy, fmt.Sprintf("%s is sending %d files already; try again later", textOr(c.user, "the owner"), maxSending))
		return
	}
	root, err := sharedRoot(c.cfg.ShareDir)
	if err != nil {
		refuse(wire.ErrUnreadable, fmt.Sprintf("%s cannot read its shared directory: %s", textOr(c.user, "the owner"), errText(err)))
		return
	}
	path, serr := resolveShared(root, f.Name, c.user)
	if serr != nil {
		refuse(serr.code, serr.text)
		return
	}
	file, size, serr := openShared(path, f.Name, c.user)
	if serr != nil {
		refuse(serr.code, serr.text)
		return
	}
	t := &transfer{send: true, token: f.Token, peer: who, name: f.Name, file: file, size: size, h: sha256.New()}
	if err := c.dataConn(t, wire.RoleOwner); err != nil {
		file.Close()
		refuse(wire.ErrBusy, fmt.Sprintf("%s cannot open a data connection: %s", textOr(c.user, "the owner"), errText(err)))
		return
	}
	c.report(fmt.Sprintf("sending %s to %s (%s)", f.Name, who, sizeText(size)))
}

// ownerInput handles bytes the server sent on an owner's data connection:
// the answer to its Attach, then nothing.
func (c *Client) ownerInput(t *transfer, b []byte) {
	if t.state != xAttaching {
		return // nothing else is expected; ignore it
	}
	t.in = append(t.in, b...)
	rest, ok, complete := c.attachReply(t)
	if !complete {
		return
	}
	t.in = nil
	_ = rest
	if !ok {
		return
	}
	t.out = wire.Append(t.out, &wire.Frame{Type: wire.TypeFileHeader, Name: t.name, Count: uint64(t.size)})
	c.transferWrite(t)
}

// nextChunk puts the next piece of the file (or the FileEnd) in t.out. A
// file that changes size while it is read ends the transfer early, without
// a FileEnd, so the requester keeps nothing.
func (c *Client) nextChunk(t *transfer) bool {
	if t.done == t.size {
		var probe [1]byte
		if n, _ := t.file.Read(probe[:]); n > 0 {
			c.transferFailed(t, t.name+" grew while it was being sent")
			return false
		}
		t.out = wire.Append(t.out, &wire.Frame{Type: wire.TypeFileEnd, Text: hex.EncodeToString(t.h.Sum(nil))})
		t.ended = true
		return true
	}
	if t.chunk == nil {
		t.chunk = make([]byte, chunkSize)
	}
	want := min(int64(len(t.chunk)), t.size-t.done)
	n, err := io.ReadFull(t.file, t.chunk[:want])
	if n > 0 {
		t.h.Write(t.chunk[:n])
		t.done += int64(n)
		t.out = t.chunk[:n]
	}
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			c.transferFailed(t, t.name+" got shorter while it was being sent")
		} else {
			c.transferFailed(t, "cannot read "+t.name+": "+errText(err))
		}
		return false
	}
	return true
}

// sent runs when the whole stream is written: the write side is shut and
// the server closes the connection once it has passed everything on.
func (c *Client) sent(t *transfer) {
	if t.file != nil {
		t.file.Close()
		t.file = nil
	}
	t.chunk = nil
	_ = t.cn.closeWrite()
	t.state = xDraining
	t.deadline = c.now().Add(drainWait)
	c.report(fmt.Sprintf("sent %s to %s (%s)", t.name, t.peer, sizeText(t.size)))
}

// --- The requester's side. ---

// fetchReply handles the answer to a Fetch: open the data connection.
func (c *Client) fetchReply(f *wire.Frame, req *request) {
	owner, name := req.frame.To, req.frame.Name
	if f.Code != wire.OK {
		c.report(fmt.Sprintf("could not get %s from %s: %s", name, owner, textOr(f.Text, fmt.Sprintf("refused (code %d)", f.Code))))
		return
	}
	base, err := localName(name)
	if err != nil || f.Token == "" {
		c.report(fmt.Sprintf("could not get %s from %s: the server gave no transfer token", name, owner))
		return
	}
	t := &transfer{token: f.Token, peer: owner, name: name, base: base, h: sha256.New()}
	if err := c.dataConn(t, wire.RoleRequester); err != nil {
		c.report(fmt.Sprintf("could not get %s from %s: cannot connect to %s: %s", name, owner, c.server, errText(err)))
		return
	}
}

// fileFailed handles the server's word that a transfer will not happen or
// did not finish.
func (c *Client) fileFailed(f *wire.Frame) {
	t := c.findTransfer(f.Token)
	if t == nil {
		return // over already, and said so
	}
	why := f.Text
	if why == "" {
		switch f.Code {
		case wire.ErrOwnerGone:
			why = "the owner left before the transfer completed"
		case wire.ErrNoSuchFile:
			why = "no such file"
		case wire.ErrUnreadable:
			why = "the owner cannot read it"
		case wire.ErrBusy:
			why = "too many transfers at once; try again later"
		default:
			why = fmt.Sprintf("the transfer failed (code %d)", f.Code)
		}
	}
	if t.send {
		c.transferFailed(t, why)
		return
	}
	if t.state == xBroken {
		c.report(fmt.Sprintf("could not get %s from %s: %s (%s); the partial file was removed", t.name, t.peer, why, t.why))
		c.endTransfer(t)
		return
	}
	if t.state == xStreaming && (t.done > 0 || t.size > 0) {
		why = fmt.Sprintf("%s (%s of %s had arrived)", why, sizeText(t.done), sizeText(t.size))
	}
	c.transferFailed(t, why)
}

// requesterInput parses what the owner sends through the server: the
// Attach's Reply, a FileHeader, the file's bytes, a FileEnd.
func (c *Client) requesterInput(t *transfer, b []byte) {
	for len(b) > 0 && t.cn != nil {
		if t.state == xStreaming && t.phase == rData && len(t.in) == 0 {
			n := int(min(int64(len(b)), t.size-t.done))
			if !c.store(t, b[:n]) {
				return
			}
			b = b[n:]
			continue
		}
		t.in = append(t.in, b...)
		b = nil
		for t.cn != nil && len(t.in) > 0 {
			if t.state == xAttaching {
				rest, ok, complete := c.attachReply(t)
				if !complete || !ok {
					return
				}
				t.in = rest
				continue
			}
			if t.phase == rData {
				// The rest is file data: parse it as such.
				b, t.in = t.in, nil
				break
			}
			body, rest, err := wire.Split(t.in)
			if err != nil {
				c.transferFailed(t, "the stream from the owner is not a file transfer: "+err.Error())
				return
			}
			if body == nil {
				break
			}
			var f wire.Frame
			if err := wire.Unmarshal(body, &f); err != nil {
				c.transferFailed(t, "the stream from the owner is not a file transfer: "+err.Error())
				return
			}
			t.in = rest
			if !c.streamFrame(t, &f) {
				return
			}
		}
		if len(t.in) == 0 {
			t.in = nil
		}
	}
}

// streamFrame handles a FileHeader or FileEnd from the owner.
func (c *Client) streamFrame(t *transfer, f *wire.Frame) bool {
	switch {
	case t.phase == rHeader && f.Type == wire.TypeFileHeader:
		t.size = int64(f.Count)
		if t.size < 0 {
			c.transferFailed(t, "the owner announced an impossible size")
			return false
		}
		if err := c.createPart(t); err != nil {
			c.transferFailed(t, "cannot create a file in "+c.downloadDir()+": "+errText(err))
			return false
		}
		t.phase = rData
		if t.size == 0 {
			t.phase = rEnd
		}
		t.prog = progress{last: c.now()}
		if t.size >= progressFrom {
			c.report(fmt.Sprintf("receiving %s from %s (%s)", t.name, t.peer, sizeText(t.size)))
		}
		return true
	case t.phase == rEnd && f.Type == wire.TypeFileEnd:
		c.received(t, f.Text)
		return false
	}
	c.transferFailed(t, fmt.Sprintf("the owner sent a %s frame where the file was expected", f.Type))
	return false
}

// store writes received file bytes.
func (c *Client) store(t *transfer, b []byte) bool {
	if _, err := t.part.Write(b); err != nil {
		c.transferFailed(t, "cannot write "+t.partPath+": "+errText(err))
		return false
	}
	t.h.Write(b)
	t.done += int64(len(b))
	if t.done == t.size {
		t.phase = rEnd
	}
	if t.prog.due(c.now(), t.done, t.size) {
		c.report(fmt.Sprintf("%s from %s: %d%% (%s of %s)", t.name, t.peer, t.done*100/t.size, sizeText(t.done), sizeText(t.size)))
	}
	return true
}

// received checks the finished file and keeps it.
func (c *Client) received(t *transfer, digest string) {
	sum := hex.EncodeToString(t.h.Sum(nil))
	if digest != sum {
		c.transferFailed(t, "the SHA-256 digest does not match (the file was damaged on the way)")
		return
	}
	if err := t.part.Close(); err != nil {
		t.part = nil
		c.transferFailed(t, "cannot write "+t.partPath+": "+errText(err))
		return
	}
	t.part = nil
	name, err := keepFile(t.partPath, c.downloadDir(), t.base)
	if err != nil {
		c.transferFailed(t, "cannot keep it as "+t.base+": "+errText(err))
		return
	}
	t.partPath = ""
	line := fmt.Sprintf("received %s from %s (%s, sha256 ok)", t.name, t.peer, sizeText(t.size))
	if name != t.base {
		line += fmt.Sprintf("; %s exists already, so it was saved as %s", t.base, name)
	} else if t.base != t.name {
		line += "; saved as " + name
	}
	c.report(line)
	c.endTransfer(t)
}

// downloadDir is where received files go: -download, or the current
// directory.
func (c *Client) downloadDir() string { return textOr(c.cfg.DownloadDir, ".") }

// createPart creates the temporary file of t in the download directory,
// never over an existing file: .NAME.part-NNNNNN.
func (c *Client) createPart(t *transfer) error {
	stem := t.base
	if len(stem) > 100 {
		stem = stem[:100]
	}
	for i := 0; ; i++ {
		p := filepath.Join(c.downloadDir(), "."+stem+".part-"+strconv.FormatUint(uint64(randFloat()*1e9), 36))
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		if err == nil {
			t.part, t.partPath = f, p
			return nil
		}
		if !errors.Is(err, os.ErrExist) || i > 100 {
			return err
		}
	}
}

// progress throttles the progress lines of one transfer: a line when at
// least a second has passed and ten more percent are done, or when ten
// seconds have passed with any progress; never at 0% or 100% (the final
// line says that), never for a small file.
type progress struct {
	last time.Time
	pct  int64
}

func (p *progress) due(now time.Time, done, size int64) bool {
	if size < progressFrom || done >= size || done <= 0 {
		return false
	}
	pct := done * 100 / size
	since := now.Sub(p.last)
	if since >= time.Second && pct >= p.pct+10 || since >= 10*time.Second && pct > p.pct {
		p.last, p.pct = now, pct
		return true
	}
	return false
}

// fetchCommand makes the Command of a file request typed as WORD OWNER
// FILE (rooms: get; names: GETFILE; course: getfile); usage is the usage
// line shown when something is missing.
func fetchCommand(usage, rest string) Command {
	owner, file := cutWord(rest)
	file = trimRightSpace(file)
	report := func(text string) Command { return Command{Kind: CmdReport, Text: text} }
	switch {
	case owner == "" || file == "":
		return report("usage: " + usage)
	case runeCount(owner) > wire.MaxNameRunes:
		return report(fmt.Sprintf("no file requested: a name has at most %d characters, this one has %d", wire.MaxNameRunes, runeCount(owner)))
	}
	if _, err := localName(file); err != nil {
		return report("no file requested: " + err.Error())
	}
	return Command{Kind: CmdSend, Frame: wire.Frame{Type: wire.TypeFetch, To: owner, Name: file}}
}
