package tlspipe

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// keyLog takes the lines crypto/tls logs for a server Pipe's handshake
// (NSS key log format: LABEL CLIENT_RANDOM SECRET) and keeps the two
// application traffic secrets. They never leave the Pipe.
type keyLog Pipe

func (k *keyLog) Write(line []byte) (int, error) {
	p := (*Pipe)(k)
	fields := bytes.Fields(line)
	if len(fields) != 3 {
		return len(line), nil
	}
	secret := make([]byte, hex.DecodedLen(len(fields[2])))
	if _, err := hex.Decode(secret, fields[2]); err != nil {
		return len(line), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hs == nil {
		return len(line), nil
	}
	switch string(fields[0]) {
	case "CLIENT_TRAFFIC_SECRET_0":
		p.hs.clientSecret = secret
	case "SERVER_TRAFFIC_SECRET_0":
		p.hs.serverSecret = secret
	}
	return len(line), nil
}

// sealed counts a record crypto/tls seals with the server's traffic
// secret.
func (k *keyLog) sealed() {
	p := (*Pipe)(k)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hs != nil {
		p.hs.serverRecords++
	}
}

// detach makes a server Pipe protect its records itself from now on, and
// lets crypto/tls's connection go. A Pipe without both secrets (a client,
// or a configuration that does not log them) keeps crypto/tls. p.mu is
// held; the handshake has just ended well.
func (p *Pipe) detach() {
	hs := p.hs
	if hs == nil || hs.clientSecret == nil || hs.serverSecret == nil {
		return
	}
	st := p.tc.ConnectionState()
	rd, err := newRecordCipher(st.CipherSuite, hs.clientSecret)
	if err != nil {
		return
	}
	wr, err := newRecordCipher(st.CipherSuite, hs.serverSecret)
	if err != nil {
		return
	}
	wr.seq = hs.serverRecords
	p.rd, p.wr = rd, wr
	p.version, p.suite, p.resumed = st.Version, st.CipherSuite, st.DidResume
	p.tc = nil
}

// readRecords is Read for a Pipe that protects its own records.
func (p *Pipe) readRecords(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.pend) == 0 {
		if p.rdErr != nil {
			return 0, p.rdErr
		}
		n, err := wholeRecord(p.in)
		switch {
		case err != nil:
			p.rdErr = err
		case n == 0 && p.inEOF && len(p.in) > 0:
			p.rdErr = io.ErrUnexpectedEOF
		case n == 0 && p.inEOF:
			p.rdErr = io.EOF
		case n == 0:
			return 0, nil
		default:
			record := p.in[:n]
			p.in = p.in[n:]
			p.rdErr = p.openRecord(record)
			if len(p.in) == 0 {
				p.in = drained(p.in[:0])
			}
		}
	}
	n := copy(b, p.pend)
	p.pend = p.pend[n:]
	return n, nil
}

// openRecord decrypts one record into p.pend, or acts on it: a
// close_notify ends the stream (io.EOF), another alert is an error, a
// KeyUpdate changes the keys. p.mu is held.
func (p *Pipe) openRecord(record []byte) error {
	typ, content, err := p.rd.open(record)
	if err != nil {
		return err
	}
	switch typ {
	case recordApplication:
		p.pend = content
		return nil
	case recordAlert:
		if len(content) == 2 && content[1] == alertCloseNotify {
			return io.EOF
		}
		if len(content) == 2 {
			return fmt.Errorf("tls: the peer sent alert %d", content[1])
		}
		return errors.New("tls: malformed alert")
	case recordHandshake:
		return p.keyUpdate(content)
	}
	return fmt.Errorf("tls: unexpected content type %d", typ)
}

// keyUpdate handles a post-handshake message from the client: only a
// KeyUpdate may come (RFC 8446 4.6.3). Asked to, the Pipe answers with a
// KeyUpdate of its own, which waits for Flush. p.mu is held.
func (p *Pipe) keyUpdate(msg []byte) error {
	if len(msg) != 5 || msg[0] != handshakeKeyUpdate || msg[1] != 0 || msg[2] != 0 || msg[3] != 1 || msg[4] > 1 {
		return errors.New("tls: unexpected handshake message after the handshake")
	}
	if err := p.rd.update(); err != nil {
		return err
	}
	if msg[4] == 1 {
		var err error
		p.out, err = p.wr.seal(p.out, recordHandshake, []byte{handshakeKeyUpdate, 0, 0, 1, 0})
		if err != nil {
			return err
		}
		return p.wr.update()
	}
	return nil
}

// sealBuffers hold the records of one Write while they are written, so
// that a connection holds no buffer of its own between writes.
var sealBuffers = sync.Pool{New: func() any { b := make([]byte, 0, maxPlaintext+recordHeaderLen+64); return &b }}

// writeRecords is Write for a Pipe that protects its own records: b in
// records of up to 16 KiB, written with write while the socket takes them
// and nothing waits before them, the rest kept for Flush.
func (p *Pipe) writeRecords(b []byte, write func([]byte) (int, error)) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return net.ErrClosed
	}
	buf := sealBuffers.Get().(*[]byte)
	defer sealBuffers.Put(buf)
	for len(b) > 0 {
		chunk := b[:min(len(b), maxPlaintext)]
		b = b[len(chunk):]
		rec, err := p.wr.seal((*buf)[:0], recordApplication, chunk)
		if err != nil {
			return err
		}
		*buf = rec[:0]
		if len(p.out) == 0 && write != nil {
			n, err := write(rec)
			if err != nil {
				return err
			}
			rec = rec[n:]
		}
		p.out = append(p.out, rec...)
	}
	return nil
}

// writeAlert queues an alert record for Flush.
func (p *Pipe) writeAlert(desc byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	level := byte(2) // fatal
	if desc == alertCloseNotify {
		level = 1 // warning
	}
	var err error
	p.out, err = p.wr.seal(p.out, recordAlert, []byte{level, desc})
	return err
}

// Trim lets a quiet connection hold less: empty buffers go, and the
// ciphers of a Pipe that protects its own records are dropped if not used
// since the last Trim, to be built again when needed. It returns about how
// many bytes it let go, for an owner that collects garbage when there is
// enough of it. The owner calls it every few seconds.
func (p *Pipe) Trim() (released int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rd != nil {
		released += p.rd.trim() + p.wr.trim()
	}
	if len(p.pend) == 0 {
		released += cap(p.pend)
		p.pend = nil
	}
	if len(p.in) == 0 {
		released += cap(p.in)
		p.in = nil
	}
	if len(p.out) == 0 {
		released += cap(p.out)
		p.out = nil
	}
	return released
}
