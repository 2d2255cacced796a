package hub

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"chat/internal/wire"
)

// A file transfer between users of two nodes of a cluster. Each node
// keeps its own user's half of the transfer, under the one token the
// requester's node made: the requester's node checks the Fetch and its
// limits as for any transfer, and tells the owner's node (a PipeNote,
// NoteOffer), which checks its own limits and offers the owner the file.
// From then on each node holds its own user's chat session and data
// connection, and the two halves tell each other what the other needs to
// know (notes): a data connection attached, the transfer ended and why,
// and that the half is alive. The requester gets the FileFailed texts it
// would get on one server: the owner's node says them, the requester's
// node shows them.
//
// The bytes go from the owner's data connection, read on its node, to
// the requester's node, which writes them to the requester's data
// connection and acknowledges what it wrote (the loop's relay, with flow
// control: server/relay_cluster.go). The hub sees no byte, as on one
// server: the loop tells it that the other node was heard from
// (PipeHeard), that the owner's stream ended there (PipeEnd), or that the
// path broke (PipeBroken). A node that dies or is cut off says nothing
// more: each half ends once it has heard nothing from the other for
// TransferConfig.PeerTimeout, while each sends a heartbeat every
// TransferConfig.Heartbeat (Tick).

// NoteKind says what a PipeNote tells the other node.
type NoteKind string

const (
	// NoteOffer: the requester's node asks the owner's node to offer
	// Owner the file File for Requester.
	NoteOffer NoteKind = "offer"
	// NoteAttached: the sender's user attached its data connection.
	NoteAttached NoteKind = "attached"
	// NoteEnd: the sender's half ended, with Code and Text: what the
	// requester is told (nothing when Code is OK).
	NoteEnd NoteKind = "end"
	// NoteBeat: the sender's half is alive.
	NoteBeat NoteKind = "beat"
)

// PipeNote is what one node tells the other about a transfer between
// their users.
type PipeNote struct {
	Kind      NoteKind  `json:"kind"`
	Node      string    `json:"node"` // the sender's
	Requester string    `json:"requester,omitempty"`
	Owner     string    `json:"owner,omitempty"`
	File      string    `json:"file,omitempty"`
	Code      wire.Code `json:"code,omitempty"`
	Text      string    `json:"text,omitempty"`
}

// note tells t's other node n.
func (h *Hub) note(out *outputs, t *transfer, n *PipeNote) {
	n.Node = h.cfg.Node
	*out = append(*out, Output{Relay: &RelayOp{Kind: RelayNote, Node: t.peer, Token: t.token, Note: n}})
}

// ownerIn reports whether the owner's data connection is attached, here
// or on the owner's node.
func (t *transfer) ownerIn() bool {
	if t.owner.local() {
		return t.ownerData != 0
	}
	return t.peerIn
}

// attachedHere follows the attach of this node's side of t: the other
// node is told, and once both sides are in, the owner's node pipes.
func (h *Hub) attachedHere(out *outputs, t *transfer) {
	h.note(out, t, &PipeNote{Kind: NoteAttached})
	h.pipeIfReady(out, t)
}

// pipeIfReady starts piping t once both sides are attached. On the
// owner's node the loop starts reading the owner; the requester's node
// waits for the bytes.
func (h *Hub) pipeIfReady(out *outputs, t *transfer) {
	if t.piping || !t.peerIn {
		return
	}
	if t.owner.local() && t.ownerData != 0 {
		t.piping = true
		*out = append(*out, Output{To: t.ownerData, Relay: &RelayOp{Kind: RelayPipe, Node: t.peer, Token: t.token}})
	} else if t.requester.local() && t.reqData != 0 {
		t.piping = true
	}
}

// PipeNote takes a note another node sent about the transfer token.
func (h *Hub) PipeNote(token string, n *PipeNote, now time.Time) []Output {
	var out outputs
	if n.Kind == NoteOffer {
		h.offered(&out, token, n, now)
		return out
	}
	t := h.xfer.byToken[token]
	if t == nil || t.peer == "" || t.peer != n.Node {
		return nil // ended here already
	}
	t.heard = now
	switch n.Kind {
	case NoteAttached:
		t.peerIn = true
		h.pipeIfReady(&out, t)
	case NoteEnd:
		if t.sent {
			return nil // the requester has the whole stream
		}
		t.peerDone = true
		h.endTransfer(&out, t, n.Code, n.Text, now)
	}
	return out
}

// offered takes a Fetch of another node's user for a file of a user here:
// this node keeps the owner's half, under the requester's node's token,
// or tells that node why not, in the words a Fetch would have had.
func (h *Hub) offered(out *outputs, token string, n *PipeNote, now time.Time) {
	x := &h.xfer
	x.init()
	if n.Node == "" || n.Node == h.cfg.Node || token == "" || len(token) > wire.MaxTokenBytes {
		return // not a transfer between nodes: nobody to answer
	}
	refuse := func(code wire.Code, text string) {
		x.rememberFailure(token, code, text, now)
		*out = append(*out, Output{Relay: &RelayOp{Kind: RelayNote, Node: n.Node, Token: token,
			Note: &PipeNote{Kind: NoteEnd, Node: h.cfg.Node, Code: code, Text: text}}})
	}
	owner := h.user(n.Owner)
	switch {
	case checkFileName(n.File) != "":
		refuse(wire.ErrBadRequest, checkFileName(n.File))
	case x.byToken[token] != nil:
		refuse(wire.ErrUnavailable, "the server could not start the transfer; try again")
	case owner == nil || !owner.local() || owner.closing || h.sessions[owner.id] != owner:
		refuse(wire.ErrNoSuchUser, "no user named "+n.Owner+" is connected")
	case x.asOwner[owner] >= h.cfg.Transfer.PerOwner:
		refuse(wire.ErrBusy, fmt.Sprintf("%s is already sending %d files; try again later", owner.name, x.asOwner[owner]))
	case len(x.byToken) >= h.cfg.Transfer.MaxTransfers:
		refuse(wire.ErrBusy, fmt.Sprintf("the server has too many transfers under way (%d); try again later", len(x.byToken)))
	default:
		// The requester is a session of n.Node's, known here only as
		// this transfer's: it is never sent anything from here.
		h.remoteSerial--
		requester := &session{id: SessionID(h.remoteSerial), name: n.Requester, node: n.Node}
		t := &transfer{token: token, file: n.File, owner: owner, requester: requester, peer: n.Node,
			deadline: now.Add(h.cfg.Transfer.AttachTimeout)}
		h.addTransfer(t, now)
		out.send(owner.id, h.fileOffer(t, now))
	}
}

// PipeHeard is told by the loop that the other node sent something about
// the transfer token (its bytes, an acknowledgement). It returns this
// node's data session of the transfer, 0 if there is none (the transfer
// ended here, or its data connection is not attached).
func (h *Hub) PipeHeard(token string, now time.Time) SessionID {
	t := h.xfer.byToken[token]
	if t == nil || t.peer == "" {
		return 0
	}
	t.heard = now
	if t.owner.local() {
		return t.ownerData
	}
	return t.reqData
}

// PipeEnd is told by the loop on the requester's node that the owner's
// stream ended normally on the owner's node, which has forgotten the
// transfer. As an owner's EOF on one server, the transfer ends once the
// requester's data connection is flushed and closed. It returns the
// requester's data session, 0 if there is none.
func (h *Hub) PipeEnd(token string, now time.Time) SessionID {
	t := h.xfer.byToken[token]
	if t == nil || t.peer == "" || !t.requester.local() || !t.piping || t.reqData == 0 {
		return 0
	}
	t.heard, t.sent = now, true
	return t.reqData
}

// PipeBroken is told by the loop that the path to the other node of the
// transfer token broke: NATS refused a message, or some of the stream was
// lost on the way; detail says which. The transfer ends on both nodes.
func (h *Hub) PipeBroken(token, detail string, now time.Time) []Output {
	t := h.xfer.byToken[token]
	if t == nil || t.peer == "" || t.sent {
		return nil
	}
	var out outputs
	h.endTransfer(&out, t, wire.ErrUnavailable, "the transfer of "+t.file+" broke off: the link to "+t.other().name+"'s server failed ("+detail+")", now)
	return out
}

// other is the user of t on the other node.
func (t *transfer) other() *session {
	if t.owner.local() {
		return t.requester
	}
	return t.owner
}

// beat keeps the transfers between nodes alive, once every Heartbeat:
// each gets a heartbeat, and one whose other node was silent for
// PeerTimeout ends (the node died, or is cut off). A transfer whose
// owner's stream ended needs neither: the owner's node has forgotten it.
func (h *Hub) beat(out *outputs, now time.Time) {
	x := &h.xfer
	if x.remote == 0 || now.Before(x.nextBeat) {
		return
	}
	x.nextBeat = now.Add(h.cfg.Transfer.Heartbeat)
	var ts []*transfer
	for _, t := range x.byToken {
		if t.peer != "" && !t.sent {
			ts = append(ts, t)
		}
	}
	slices.SortFunc(ts, func(a, b *transfer) int { return strings.Compare(a.token, b.token) })
	for _, t := range ts {
		if now.Sub(t.heard) < h.cfg.Transfer.PeerTimeout {
			h.note(out, t, &PipeNote{Kind: NoteBeat})
			continue
		}
		code := wire.ErrOwnerGone
		if t.owner.local() {
			code = wire.ErrUnavailable
		}
		h.endTransfer(out, t, code, "the transfer of "+t.file+" broke off: "+t.other().name+"'s server stopped answering", now)
	}
}
