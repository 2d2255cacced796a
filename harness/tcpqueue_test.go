package harness

import (
	"testing"
)

func TestSendQueueSeesUnreadBytes(t *testing.T) {
	ln := listenLoopback(t)
	c, err := DialRawSmallBuffer(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	// Write more than the small receive window takes: some must wait in
	// the sender's queue, unacknowledged.
	if _, err := peer.Write(make([]byte, 200<<10)); err != nil {
		t.Fatal(err)
	}
	n, err := SendQueue(peer.LocalAddr().String(), peer.RemoteAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("send queue empty after writing 200 KiB to a peer that does not read")
	}
}
