package hub

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"chat/internal/wire"
)

// The hub's side of broadcast and file transfer (docs/PROTOCOL.md, "File
// transfer"). The hub keeps the transfers and their rules; it never sees a
// file byte. A transfer pairs two chat sessions (owner and requester) and,
// once they attach, two data sessions: connections whose first frame was an
// Attach instead of a Hello. A data session is not a chat session: it never
// logs in, gets no notices and counts as no user; the hub moves it out of
// its sessions into the transfer. The loop (relay.go) does the piping and
// tells the hub when a data connection ends.

// TransferConfig bounds file transfers. Zero values take defaults.
type TransferConfig struct {
	// NewToken returns a fresh, unguessable transfer token of at most
	// wire.MaxTokenBytes bytes (default RandomToken: 16 bytes from
	// crypto/rand in hex). Tests inject a deterministic source.
	NewToken func() string
	// MaxTransfers bounds the transfers under way on the server (default 256).
	MaxTransfers int
	// PerOwner bounds the transfers one session serves at once (default 8).
	PerOwner int
	// PerRequester bounds the transfers one session asked for that are
	// under way (default 16).
	PerRequester int
	// AttachTimeout is how long a transfer may wait for both data
	// connections (default 30s).
	AttachTimeout time.Duration
	// Heartbeat is how often a node tells the other node of a transfer
	// between their users that its half is alive (default 1s), and
	// PeerTimeout how long it waits without a word from the other
	// node before it takes the path as broken (default 5s).
	// (transfer_cluster.go)
	Heartbeat   time.Duration
	PeerTimeout time.Duration
}

func (c *TransferConfig) defaults() {
	if c.NewToken == nil {
		c.NewToken = RandomToken
	}
	if c.MaxTransfers <= 0 {
		c.MaxTransfers = 256
	}
	if c.PerOwner <= 0 {
		c.PerOwner = 8
	}
	if c.PerRequester <= 0 {
		c.PerRequester = 16
	}
	if c.AttachTimeout <= 0 {
		c.AttachTimeout = 30 * time.Second
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = time.Second
	}
	if c.PeerTimeout <= 0 {
		c.PeerTimeout = 5 * time.Second
	}
}

// RandomToken returns 16 random bytes from crypto/rand in hex. It is the
// default TransferConfig.NewToken; the hub only calls what it is given.
func RandomToken() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	return hex.EncodeToString(b[:])
}

// MaxFileNameBytes bounds the file name of a Fetch.
const MaxFileNameBytes = 255

// RelayKind says what a RelayOp asks of the loop.
type RelayKind int

const (
	// RelayAttach: the session To is now a data connection with Role; the
	// loop stops decoding frames from it. An owner's bytes wait (read
	// interest off) until RelayPipe; a requester must send nothing more.
	RelayAttach RelayKind = iota + 1
	// RelayPipe: both sides are attached: pipe the bytes of To (the
	// owner's data connection) to Peer (the requester's), with
	// back-pressure.
	RelayPipe
	// RelayAbort: the transfer failed: close the data connection To at
	// once, dropping whatever is queued for it. The hub has forgotten it.
	RelayAbort
	// RelayNote: tell Node, the other node of a transfer between users
	// of two nodes, Note about the transfer Token. To is 0.
	RelayNote
)

// RelayOp is an Output's instruction about a data connection, or a note
// for another node.
type RelayOp struct {
	Kind RelayKind
	Role wire.Code // RelayAttach: wire.RoleOwner or wire.RoleRequester
	Peer SessionID // RelayPipe: the requester's data session
	// Node and Token: the other side of the transfer is on Node, which
	// keeps its half under Token (transfer_cluster.go). With
	// RelayAttach and RelayPipe, the bytes go to or come from there,
	// not another data session here.
	Node  string
	Token string
	Note  *PipeNote // RelayNote
}

// DataEnd says how a data connection ended, for Hub.DataClosed.
type DataEnd int

const (
	// DataEOF: the peer closed its side. For an owner that is piping this
	// is the normal end of its stream (the server cannot tell the end of a
	// file from the bytes; the requester checks size and digest).
	DataEOF DataEnd = iota
	// DataError: a read or write failed, or the loop closed it.
	DataError
	// DataSpoke: a requester sent bytes after its Attach.
	DataSpoke
)

type transfer struct {
	token     string
	file      string
	owner     *session // chat sessions; the hub keeps them while the transfer lives
	requester *session
	ownerData SessionID // data sessions, 0 until attached (and once gone)
	reqData   SessionID
	deadline  time.Time // to be attached on both sides by
	piping    bool
	sent      bool // the owner's stream ended normally; the requester is flushing
	// A transfer between users of two nodes (transfer_cluster.go): peer
	// is the other user's node, which keeps the other half of the
	// transfer under the same token; "" when both users are here.
	peer     string
	peerIn   bool      // the other side's data connection is attached there
	peerDone bool      // the other half ended first: nothing to tell it
	heard    time.Time // the last word from peer about this transfer
}

type transferState struct {
	byToken     map[string]*transfer
	data        map[SessionID]*transfer // data session -> its transfer
	asOwner     map[*session]int
	asRequester map[*session]int
	// expiry lists transfers in order of deadline (deadlines are now plus a
	// constant, so creation order); ended or piping ones are skipped.
	expiry []*transfer
	// failed remembers why recent transfers failed, by token, oldest first
	// in failedOrder, at most maxFailedTransfers of them. The requester's
	// client opens its data connection as soon as it has the token, and
	// the owner may refuse before that connection attaches: the attach is
	// then told the owner's reason, not "unknown token", whichever of the
	// two the client reads first.
	failed      map[string]failedTransfer
	failedOrder []string
	// remote counts the transfers with a peer, which Tick keeps alive
	// and watches at nextBeat.
	remote   int
	nextBeat time.Time
}

// failedTransfer is why a transfer failed, and when.
type failedTransfer struct {
	code wire.Code
	text string
	at   time.Time
}

// How many failed transfers are remembered, and for how long.
const (
	maxFailedTransfers = 256
	failedTransferKeep = time.Minute
)

// rememberFailure records why the transfer with token failed.
func (x *transferState) rememberFailure(token string, code wire.Code, text string, now time.Time) {
	if x.failed == nil {
		x.failed = make(map[string]failedTransfer)
	}
	if len(x.failedOrder) >= maxFailedTransfers {
		delete(x.failed, x.failedOrder[0])
		x.failedOrder = slices.Delete(x.failedOrder, 0, 1)
	}
	x.failed[token] = failedTransfer{code: code, text: text, at: now}
	x.failedOrder = append(x.failedOrder, token)
}

// failure returns why the transfer with token failed, if it did lately.
func (x *transferState) failure(token string, now time.Time) (failedTransfer, bool) {
	f, ok := x.failed[token]
	return f, ok && token != "" && now.Sub(f.at) < failedTransferKeep
}

func (x *transferState) init() {
	if x.byToken == nil {
		x.byToken = make(map[string]*transfer)
		x.data = make(map[SessionID]*transfer)
		x.asOwner = make(map[*session]int)
		x.asRequester = make(map[*session]int)
	}
}

// Transfers returns the number of transfers under way.
func (h *Hub) Transfers() int { return len(h.xfer.byToken) }

// IsData reports whether sid is an attached data connection.
func (h *Hub) IsData(sid SessionID) bool { return h.xfer.data[sid] != nil }

func (h *Hub) fileFailed(now time.Time, t *transfer, code wire.Code, text string) *wire.Frame {
	return &wire.Frame{Type: wire.TypeFileFailed, From: t.owner.name, Name: t.file, Token: t.token,
		Code: code, Text: text, Time: ms(now)}
}

// broadcast sends a message to every other logged-in session.
func (h *Hub) broadcast(out *outputs, s *session, f *wire.Frame, now time.Time) {
	if code, text := checkText(f.Text); code != wire.OK {
		out.send(s.id, h.reply(now, f.ID, code, text))
		return
	}
	to := make([]*session, 0, len(h.names))
	for _, u := range h.names {
		if u != s && !u.closing {
			to = append(to, u)
		}
	}
	slices.SortFunc(to, func(a, b *session) int { return int(a.id - b.id) })
	m := &wire.Frame{Type: wire.TypeMessage, From: s.name, Text: f.Text, Time: ms(now)}
	for _, u := range to {
		h.sendTo(out, u, m)
	}
	r := h.reply(now, f.ID, wire.OK, "")
	r.Count = uint64(len(to))
	out.send(s.id, r)
}

// checkFileName applies the rules for the file name of a Fetch. What the
// name may reach is the owner's business; the server only keeps
// it printable and bounded.
func checkFileName(name string) string {
	switch {
	case name == "":
		return "a file request needs a file name"
	case len(name) > MaxFileNameBytes:
		return fmt.Sprintf("file name too long: %d bytes, the limit is %d", len(name), MaxFileNameBytes)
	case !utf8.ValidString(name):
		return "the file name is not valid UTF-8"
	case strings.ContainsRune(name, 0):
		return "the file name contains a NUL character"
	}
	return ""
}

func (h *Hub) fetch(out *outputs, s *session, f *wire.Frame, now time.Time) {
	reply := func(code wire.Code, text string) *wire.Frame {
		r := h.reply(now, f.ID, code, text)
		out.send(s.id, r)
		return r
	}
	x := &h.xfer
	x.init()
	if wire.ValidName(f.To) != nil {
		reply(wire.ErrBadName, wire.BadNameText("user", f.To))
		return
	}
	if f.To == s.name {
		reply(wire.ErrSelf, "you cannot ask yourself for a file")
		return
	}
	if msg := checkFileName(f.Name); msg != "" {
		reply(wire.ErrBadRequest, msg)
		return
	}
	owner := h.user(f.To)
	if owner == nil || owner.closing {
		reply(wire.ErrNoSuchUser, "no user named "+f.To+" is connected")
		return
	}
	switch {
	case x.asOwner[owner] >= h.cfg.Transfer.PerOwner:
		reply(wire.ErrBusy, fmt.Sprintf("%s is already sending %d files; try again later", owner.name, x.asOwner[owner]))
		return
	case x.asRequester[s] >= h.cfg.Transfer.PerRequester:
		reply(wire.ErrBusy, fmt.Sprintf("you already have %d transfers under way; wait for one to finish", x.asRequester[s]))
		return
	case len(x.byToken) >= h.cfg.Transfer.MaxTransfers:
		reply(wire.ErrBusy, fmt.Sprintf("the server has too many transfers under way (%d); try again later", len(x.byToken)))
		return
	}
	token := ""
	for range 3 {
		tok := h.cfg.Transfer.NewToken()
		if tok != "" && len(tok) <= wire.MaxTokenBytes && x.byToken[tok] == nil {
			token = tok
			break
		}
	}
	if token == "" {
		reply(wire.ErrUnavailable, "the server could not start the transfer; try again")
		return
	}
	t := &transfer{token: token, file: f.Name, owner: owner, requester: s, deadline: now.Add(h.cfg.Transfer.AttachTimeout), peer: owner.node}
	h.addTransfer(t, now)
	r := reply(wire.OK, "asking "+owner.name+" for "+f.Name)
	r.Token, r.Name, r.To = token, f.Name, owner.name
	if t.peer != "" {
		h.note(out, t, &PipeNote{Kind: NoteOffer, Requester: s.name, Owner: owner.name, File: f.Name})
		return
	}
	out.send(owner.id, h.fileOffer(t, now))
}

// addTransfer makes t one of the transfers under way.
func (h *Hub) addTransfer(t *transfer, now time.Time) {
	x := &h.xfer
	x.byToken[t.token] = t
	x.asOwner[t.owner]++
	x.asRequester[t.requester]++
	x.expiry = append(x.expiry, t)
	if t.peer != "" {
		if x.remote++; x.remote == 1 {
			x.nextBeat = now.Add(h.cfg.Transfer.Heartbeat)
		}
		t.heard = now
	}
}

// fileOffer is what the owner of t is asked.
func (h *Hub) fileOffer(t *transfer, now time.Time) *wire.Frame {
	return &wire.Frame{Type: wire.TypeFileOffer, From: t.requester.name, Name: t.file, Token: t.token,
		Text: t.requester.name + " asks for " + t.file, Time: ms(now)}
}

// refuse: the owner cannot serve a file. It is accepted at any time while
// the transfer lives, so an owner that fails mid-stream can say why.
func (h *Hub) refuse(out *outputs, s *session, f *wire.Frame, now time.Time) {
	t := h.xfer.byToken[f.Token]
	if f.Token == "" || t == nil || t.owner != s {
		out.send(s.id, h.reply(now, f.ID, wire.ErrNoSuchToken, "no transfer of yours has that token: it is unknown or has ended"))
		return
	}
	text := f.Text
	switch f.Code {
	case wire.ErrNoSuchFile:
		if text == "" {
			text = s.name + " has no file named " + t.file
		}
	case wire.ErrUnreadable:
		if text == "" {
			text = s.name + " cannot read " + t.file
		}
	case wire.ErrBusy:
		if text == "" {
			text = s.name + " is busy; ask for " + t.file + " again later"
		}
	default:
		out.send(s.id, h.reply(now, f.ID, wire.ErrBadRequest,
			fmt.Sprintf("a refusal's code must be %d (no such file), %d (unreadable) or %d (busy)", wire.ErrNoSuchFile, wire.ErrUnreadable, wire.ErrBusy)))
		return
	}
	if code, msg := checkText(text); code != wire.OK {
		out.send(s.id, h.reply(now, f.ID, wire.ErrBadRequest, "the refusal's text: "+msg))
		return
	}
	h.endTransfer(out, t, f.Code, text, now)
	out.send(s.id, h.reply(now, f.ID, wire.OK, "told "+t.requester.name+" that "+t.file+" cannot be sent"))
}

// attach handles an Attach, the first frame of a data connection.
func (h *Hub) attach(out *outputs, s *session, f *wire.Frame, now time.Time) {
	refuse := func(code wire.Code, text string) {
		out.send(s.id, h.reply(now, f.ID, code, text))
		*out = append(*out, Output{To: s.id, Close: true})
		h.detach(s)
	}
	if f.Code != wire.RoleOwner && f.Code != wire.RoleRequester {
		refuse(wire.ErrBadRequest, fmt.Sprintf("an attach's code must be its role: %d (owner) or %d (requester)", wire.RoleOwner, wire.RoleRequester))
		return
	}
	x := &h.xfer
	x.init()
	t := x.byToken[f.Token]
	if f.Token == "" || t == nil {
		if why, ok := x.failure(f.Token, now); ok {
			refuse(why.code, why.text)
			return
		}
		refuse(wire.ErrNoSuchToken, "no transfer has that token: it is unknown or has ended")
		return
	}
	slot, text, here := &t.reqData, "waiting for "+t.file+" from "+t.owner.name, t.requester
	if f.Code == wire.RoleOwner {
		slot, text, here = &t.ownerData, "send "+t.file+" to "+t.requester.name, t.owner
	}
	if !here.local() {
		// Its user is on the other node: so is its data connection.
		refuse(wire.ErrNoSuchToken, "that side of the transfer is on another server: attach there")
		return
	}
	if *slot != 0 || t.piping || t.sent {
		refuse(wire.ErrNoSuchToken, "that transfer already has its data connection")
		return
	}
	*slot = s.id
	delete(h.sessions, s.id) // a data session is not a chat session
	x.data[s.id] = t
	r := h.reply(now, f.ID, wire.OK, text)
	r.Name, r.Token = t.file, t.token
	out.send(s.id, r)
	op := &RelayOp{Kind: RelayAttach, Role: f.Code}
	if t.peer != "" {
		op.Node, op.Token = t.peer, t.token
	}
	*out = append(*out, Output{To: s.id, Relay: op})
	if t.peer != "" {
		h.attachedHere(out, t)
		return
	}
	if t.ownerData != 0 && t.reqData != 0 {
		t.piping = true
		*out = append(*out, Output{To: t.ownerData, Relay: &RelayOp{Kind: RelayPipe, Peer: t.reqData}})
	}
}

// endTransfer forgets t: the requester is told why (when code is not OK
// and its chat session is there) and the data connections still attached
// are closed at once.
func (h *Hub) endTransfer(out *outputs, t *transfer, code wire.Code, text string, now time.Time) {
	x := &h.xfer
	if code != wire.OK {
		x.rememberFailure(t.token, code, text, now)
		if !t.requester.closing && h.sessions[t.requester.id] == t.requester {
			out.send(t.requester.id, h.fileFailed(now, t, code, text))
		}
	}
	for _, sid := range []SessionID{t.ownerData, t.reqData} {
		if sid != 0 {
			delete(x.data, sid)
			*out = append(*out, Output{To: sid, Relay: &RelayOp{Kind: RelayAbort}})
		}
	}
	t.ownerData, t.reqData = 0, 0
	if t.peer != "" {
		if !t.peerDone && !t.sent {
			// The other half ends too; the requester's is told why.
			h.note(out, t, &PipeNote{Kind: NoteEnd, Code: code, Text: text})
		}
		x.remote--
	}
	delete(x.byToken, t.token)
	if x.asOwner[t.owner]--; x.asOwner[t.owner] <= 0 {
		delete(x.asOwner, t.owner)
	}
	if x.asRequester[t.requester]--; x.asRequester[t.requester] <= 0 {
		delete(x.asRequester, t.requester)
	}
}

// endTransfersOf ends the transfers of a chat session that is leaving
// (disconnect, logout): as owner, the requester is told the owner left
// (unless the owner's stream had already ended normally); as requester,
// the data connections are closed.
func (h *Hub) endTransfersOf(out *outputs, s *session, now time.Time) {
	x := &h.xfer
	if x.asOwner[s] == 0 && x.asRequester[s] == 0 {
		return
	}
	var mine []*transfer
	for _, t := range x.byToken {
		if t.owner == s || t.requester == s {
			mine = append(mine, t)
		}
	}
	slices.SortFunc(mine, func(a, b *transfer) int { return strings.Compare(a.token, b.token) })
	for _, t := range mine {
		switch {
		case t.requester == s:
			h.endTransfer(out, t, wire.OK, "", now)
		case !t.sent:
			h.endTransfer(out, t, wire.ErrOwnerGone, s.name+" left before sending "+t.file, now)
		}
	}
}

// DataClosed is told by the loop that a data connection ended, and how.
// An owner's EOF while piping is the normal end of its stream: the
// requester's connection is flushed and closed by the loop, and the
// transfer ends when it is gone. Anything else fails the transfer.
func (h *Hub) DataClosed(sid SessionID, how DataEnd, now time.Time) []Output {
	t := h.xfer.data[sid]
	if t == nil {
		return nil
	}
	delete(h.xfer.data, sid)
	var out outputs
	owner := sid == t.ownerData
	if owner {
		t.ownerData = 0
	} else {
		t.reqData = 0
	}
	switch {
	case owner && how == DataEOF && t.piping:
		t.sent = true
		if t.reqData == 0 {
			h.endTransfer(&out, t, wire.OK, "", now)
		}
	case t.sent: // the requester's side, after the owner finished
		h.endTransfer(&out, t, wire.OK, "", now)
	case owner:
		h.endTransfer(&out, t, wire.ErrOwnerGone, fmt.Sprintf("the transfer of %s broke off: %s's data connection closed", t.file, t.owner.name), now)
	case how == DataSpoke:
		h.endTransfer(&out, t, wire.ErrBadRequest, "your data connection for "+t.file+" sent data; a requester's data connection must only receive", now)
	default:
		h.endTransfer(&out, t, wire.ErrUnavailable, "your data connection for "+t.file+" closed before the transfer finished", now)
	}
	return out
}

// TransferDeadline returns when the next transfer that is not attached on
// both sides times out, or the transfers between nodes are next due a
// heartbeat, zero if neither. The loop calls Tick then.
func (h *Hub) TransferDeadline() time.Time {
	d := h.attachDeadline()
	if x := &h.xfer; x.remote > 0 && (d.IsZero() || x.nextBeat.Before(d)) {
		return x.nextBeat
	}
	return d
}

// attachDeadline returns when the next transfer that is not attached on
// both sides times out, zero if none is waiting.
func (h *Hub) attachDeadline() time.Time {
	x := &h.xfer
	for len(x.expiry) > 0 {
		t := x.expiry[0]
		if x.byToken[t.token] == t && !t.piping && !t.sent {
			return t.deadline
		}
		x.expiry[0] = nil
		x.expiry = x.expiry[1:]
	}
	x.expiry = nil
	return time.Time{}
}

// Tick ends the transfers not attached on both sides by their deadline,
// and keeps those between nodes alive (transfer_cluster.go).
func (h *Hub) Tick(now time.Time) []Output {
	var out outputs
	h.beat(&out, now)
	for {
		d := h.attachDeadline()
		if d.IsZero() || now.Before(d) {
			return out
		}
		t := h.xfer.expiry[0]
		text := t.owner.name + " did not start sending " + t.file + " within " + wire.RoundDuration(h.cfg.Transfer.AttachTimeout).String()
		if t.ownerIn() {
			text = "your data connection for " + t.file + " was not opened within " + wire.RoundDuration(h.cfg.Transfer.AttachTimeout).String()
		}
		h.endTransfer(&out, t, wire.ErrUnavailable, text, now)
	}
}

// shutdownTransfers ends every transfer: the server is stopping.
func (h *Hub) shutdownTransfers(out *outputs, now time.Time) {
	ts := make([]*transfer, 0, len(h.xfer.byToken))
	for _, t := range h.xfer.byToken {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, func(a, b *transfer) int { return strings.Compare(a.token, b.token) })
	for _, t := range ts {
		code, text := wire.ErrUnavailable, "the server is shutting down"
		if t.sent && t.reqData != 0 {
			// The owner's stream is complete: the requester's connection
			// is flushed within the shutdown deadline like any other.
			delete(h.xfer.data, t.reqData)
			t.reqData, code = 0, wire.OK
		}
		if t.peer != "" && t.owner.local() {
			// Said to a requester on another server, which goes on.
			code, text = wire.ErrOwnerGone, "the transfer of "+t.file+" broke off: "+t.owner.name+"'s server is shutting down"
		}
		h.endTransfer(out, t, code, text, now)
	}
}

// dataGone handles Disconnect of a data session: as DataClosed with
// DataError (the loop closed it, or a write to it failed).
func (h *Hub) dataGone(sid SessionID, now time.Time) []Output {
	return h.DataClosed(sid, DataError, now)
}
