package client

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
)

// These tests run two whole clients in mode menu, an owner and a requester,
// against the fake server, which plays the relay of docs/PROTOCOL.md ("File
// transfer"): it pairs the two data connections of a transfer by token and
// copies the owner's bytes to the requester, whole, cut short or damaged.

// dataPair accepts the two data connections of transfer token and answers
// both Attach requests; it returns the owner's and the requester's.
func dataPair(t *testing.T, srv *fakeServer, token string) (owner, requester *peer) {
	t.Helper()
	for owner == nil || requester == nil {
		p := srv.next()
		f := p.expect(wire.TypeAttach)
		if f.Token != token {
			t.Fatalf("attach of token %q, want %q", f.Token, token)
		}
		switch f.Code {
		case wire.RoleOwner:
			owner = p
		case wire.RoleRequester:
			requester = p
		default:
			t.Fatalf("attach with role %d", f.Code)
		}
		p.send(wire.Frame{Type: wire.TypeReply, ID: f.ID})
		if p.dec.Buffered() != 0 {
			t.Fatalf("bytes after the attach")
		}
		_ = p.c.SetReadDeadline(time.Time{})
	}
	return owner, requester
}

// relay copies the owner's stream to the requester: the first limit bytes
// (all when limit < 0), with the byte at offset flip inverted (none when
// flip < 0); then it closes both.
func relay(owner, requester *peer, limit, flip int64) {
	defer owner.c.Close()
	defer requester.c.Close()
	var src io.Reader = owner.c
	if limit >= 0 {
		src = io.LimitReader(src, limit)
	}
	buf := make([]byte, 32<<10)
	var off int64
	for {
		n, err := src.Read(buf)
		if flip >= off && flip < off+int64(n) {
			buf[flip-off] ^= 0xff
		}
		off += int64(n)
		if n > 0 {
			if _, werr := requester.c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// fetch types the menu's f, owner and file on the requester and answers the
// Fetch with token; the owner is offered the file.
func fetch(t *testing.T, in io.Writer, pr, po *peer, owner, file, token string) {
	t.Helper()
	typeLine(t, in, "f")
	typeLine(t, in, owner)
	typeLine(t, in, file)
	req := pr.expect(wire.TypeFetch)
	if req.To != owner || req.Name != file {
		t.Fatalf("fetch %q from %q", req.Name, req.To)
	}
	pr.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Token: token})
	po.send(wire.Frame{Type: wire.TypeFileOffer, From: "alice", Name: file, Token: token})
}

func TestTransferSession(t *testing.T) {
	share, down := t.TempDir(), t.TempDir()
	data := make([]byte, 3<<20+17)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	must(t, os.WriteFile(filepath.Join(share, "report.bin"), data, 0o644))
	must(t, os.WriteFile(filepath.Join(share, "empty"), nil, 0o644))
	must(t, os.WriteFile(filepath.Join(down, "empty"), []byte("mine"), 0o644))

	srv := newFakeServer(t)
	ownIn, ownOut, ownDone := runClientConfig(t, Config{Addr: srv.addr, Mode: &menuMode{}, ShareDir: share})
	po := srv.next()
	po.hello()
	typeLine(t, ownIn, "bob")
	po.answer(wire.TypeClaim, "welcome bob", func(f *wire.Frame) { f.Name = "bob" })
	ownOut.waitFor(t, "  e(x)it\n")

	reqIn, reqOut, reqDone := runClientConfig(t, Config{Addr: srv.addr, Mode: &menuMode{}, DownloadDir: down})
	pr := srv.next()
	pr.hello()
	typeLine(t, reqIn, "alice")
	pr.answer(wire.TypeClaim, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	reqOut.waitFor(t, "  e(x)it\n")

	// A whole file (S2.7, S2.12).
	fetch(t, reqIn, pr, po, "bob", "report.bin", "t1")
	o, r := dataPair(t, srv, "t1")
	go relay(o, r, -1, -1)
	reqOut.waitFor(t, "! received report.bin from bob (3 MiB, sha256 ok)\n")
	ownOut.waitFor(t, "! sending report.bin to alice (3 MiB)\n")
	ownOut.waitFor(t, "! sent report.bin to alice (3 MiB)\n")
	if got, _ := os.ReadFile(filepath.Join(down, "report.bin")); !bytes.Equal(got, data) {
		t.Fatalf("the received file differs (%d bytes)", len(got))
	}

	// An empty file whose name is taken: kept under a new name.
	fetch(t, reqIn, pr, po, "bob", "empty", "t2")
	o, r = dataPair(t, srv, "t2")
	go relay(o, r, -1, -1)
	reqOut.waitFor(t, "! received empty from bob (0 bytes, sha256 ok); empty exists already, so it was saved as empty (1)\n")
	if b, _ := os.ReadFile(filepath.Join(down, "empty")); string(b) != "mine" {
		t.Errorf("the existing file was changed to %q", b)
	}
	if st, err := os.Stat(filepath.Join(down, "empty (1)")); err != nil || st.Size() != 0 {
		t.Errorf("empty (1): %v", err)
	}

	// A name outside the shared directory: the owner refuses (S2.16), the
	// server passes it on (S2.10).
	fetch(t, reqIn, pr, po, "bob", "../x", "t3")
	refuse := po.expect(wire.TypeRefuse)
	if refuse.Token != "t3" || refuse.Code != wire.ErrNoSuchFile {
		t.Fatalf("refuse %+v", refuse)
	}
	po.send(wire.Frame{Type: wire.TypeReply, ID: refuse.ID})
	ownOut.waitFor(t, "! refused alice's request for ../x: ../x has a .. in it: only files in bob's shared directory are served\n")
	pr.send(wire.Frame{Type: wire.TypeFileFailed, From: "bob", Name: "../x", Token: "t3", Code: refuse.Code, Text: refuse.Text})
	reqOut.waitFor(t, "! could not get ../x from bob: ../x has a .. in it: only files in bob's shared directory are served\n")
	srv.next().c.Close() // the requester's data connection, attached or not

	// Cut off halfway: the partial file is removed and the reason told.
	fetch(t, reqIn, pr, po, "bob", "report.bin", "t4")
	o, r = dataPair(t, srv, "t4")
	relay(o, r, 1<<20, -1)
	pr.send(wire.Frame{Type: wire.TypeFileFailed, From: "bob", Name: "report.bin", Token: "t4", Code: wire.ErrOwnerGone, Text: "bob left before the transfer completed"})
	// (Whether the partial file was begun depends on which connection the
	// client reads first; either way none is left, as checked below.)
	reqOut.waitFor(t, "! could not get report.bin from bob: bob left before the transfer completed")
	// The owner may have handed the whole file to its kernel before the
	// cut: it says sent or could not send, and goes on either way.

	// Damaged on the way: the digest does not match.
	fetch(t, reqIn, pr, po, "bob", "report.bin", "t5")
	o, r = dataPair(t, srv, "t5")
	go relay(o, r, -1, 100_000)
	reqOut.waitFor(t, "! could not get report.bin from bob: the SHA-256 digest does not match (the file was damaged on the way); the partial file was removed\n")

	// Chat goes on meanwhile, and nothing partial is left behind.
	typeLine(t, reqIn, "m")
	typeLine(t, reqIn, "done?")
	if b := pr.answer(wire.TypeBroadcast, ""); b.Text != "done?" {
		t.Errorf("broadcast %q", b.Text)
	}
	po.send(wire.Frame{Type: wire.TypeMessage, From: "alice", Text: "done?"})
	ownOut.waitFor(t, "alice: done?\n")
	entries, _ := os.ReadDir(down)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "empty,empty (1),report.bin" {
		t.Errorf("download directory holds %q", names)
	}

	for _, c := range []struct {
		in   io.Writer
		p    *peer
		out  *screen
		done <-chan int
	}{{reqIn, pr, reqOut, reqDone}, {ownIn, po, ownOut, ownDone}} {
		typeLine(t, c.in, "x")
		c.p.answer(wire.TypeLogout, "")
		exitsWith(t, c.done, c.out, 0)
		c.out.waitFor(t, "closing your sockets...goodbye\n")
	}
}

// TestTransferClosesOnExit checks that leaving with x in the middle of a
// transfer closes the data connection and removes the partial file.
func TestTransferClosesOnExit(t *testing.T) {
	down := t.TempDir()
	srv := newFakeServer(t)
	in, out, done := runClientConfig(t, Config{Addr: srv.addr, Mode: &menuMode{}, DownloadDir: down})
	p := srv.next()
	p.hello()
	typeLine(t, in, "alice")
	p.answer(wire.TypeClaim, "welcome alice", func(f *wire.Frame) { f.Name = "alice" })
	typeLine(t, in, "f")
	typeLine(t, in, "bob")
	typeLine(t, in, "big")
	req := p.expect(wire.TypeFetch)
	p.send(wire.Frame{Type: wire.TypeReply, ID: req.ID, Token: "t"})
	d := srv.next()
	f := d.expect(wire.TypeAttach)
	d.send(wire.Frame{Type: wire.TypeReply, ID: f.ID})
	d.send(wire.Frame{Type: wire.TypeFileHeader, Name: "big", Count: 10 << 20})
	if _, err := d.c.Write(make([]byte, 2<<20)); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, "! receiving big from bob (10 MiB)\n")
	typeLine(t, in, "x")
	p.answer(wire.TypeLogout, "")
	exitsWith(t, done, out, 0)
	_ = d.c.SetReadDeadline(time.Now().Add(waitLimit))
	if _, err := d.c.Read(make([]byte, 1)); err == nil {
		t.Errorf("the data connection is still open")
	}
	if entries, _ := os.ReadDir(down); len(entries) != 0 {
		t.Errorf("left behind: %v", entries)
	}
}
