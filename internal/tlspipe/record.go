package tlspipe

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"slices"

	"golang.org/x/crypto/chacha20poly1305"
)

// A server Pipe's records after a TLS 1.3 handshake are protected here,
// as RFC 8446 section 5 says, rather than by crypto/tls: a *tls.Conn keeps
// buffers sized by the handshake's biggest messages and two ciphers for as
// long as the connection lives, some 7 KiB per connection, where a
// recordCipher keeps its traffic secret, key and IV, and builds its cipher
// only while the connection is busy (Trim drops it). The handshake, which
// is the hard part, stays crypto/tls's, as does everything TLS 1.2 and
// every client Pipe (a client needs crypto/tls for the session tickets
// that arrive after the handshake). This is what the kernel's TLS offload
// does with the keys a user-space handshake made.

// TLS record content types.
const (
	recordAlert       = 0x15
	recordHandshake   = 0x16
	recordApplication = 0x17
)

const (
	recordHeaderLen = 5
	// maxPlaintext is the most content one record carries.
	maxPlaintext = 1 << 14
	// maxCiphertext bounds a TLS 1.3 record's body: content, its type
	// byte, padding and the AEAD's tag, 2^14 + 256 at most.
	maxCiphertext = maxPlaintext + 256
	// handshakeKeyUpdate is the post-handshake message that changes a
	// direction's keys.
	handshakeKeyUpdate = 24
	alertCloseNotify   = 0
)

// errRecordOverflow: a record longer than TLS 1.3 allows.
var errRecordOverflow = errors.New("tls: record too long")

// recordCipher protects one direction of a TLS 1.3 connection.
type recordCipher struct {
	suite  uint16
	secret []byte // the traffic secret, for KeyUpdate
	key    []byte
	iv     [12]byte
	seq    uint64
	aead   cipher.AEAD // built when needed, dropped by trim
	used   bool        // since the last trim
}

// newRecordCipher derives the key and IV of a traffic secret of suite.
func newRecordCipher(suite uint16, secret []byte) (*recordCipher, error) {
	rc := &recordCipher{suite: suite}
	if err := rc.setSecret(secret); err != nil {
		return nil, err
	}
	return rc, nil
}

// suiteHash returns the hash and key length of a TLS 1.3 cipher suite.
func suiteHash(suite uint16) (func() hash.Hash, int, error) {
	switch suite {
	case tls.TLS_AES_128_GCM_SHA256:
		return sha256.New, 16, nil
	case tls.TLS_AES_256_GCM_SHA384:
		return sha512.New384, 32, nil
	case tls.TLS_CHACHA20_POLY1305_SHA256:
		return sha256.New, 32, nil
	}
	return nil, 0, fmt.Errorf("tls: no record protection for cipher suite %#04x", suite)
}

// setSecret makes secret the current traffic secret.
func (rc *recordCipher) setSecret(secret []byte) error {
	h, keyLen, err := suiteHash(rc.suite)
	if err != nil {
		return err
	}
	key, err := expandLabel(h, secret, "key", keyLen)
	if err != nil {
		return err
	}
	iv, err := expandLabel(h, secret, "iv", len(rc.iv))
	if err != nil {
		return err
	}
	rc.secret, rc.key, rc.seq, rc.aead = secret, key, 0, nil
	copy(rc.iv[:], iv)
	return nil
}

// update moves to the next traffic secret (a KeyUpdate).
func (rc *recordCipher) update() error {
	h, _, _ := suiteHash(rc.suite)
	next, err := expandLabel(h, rc.secret, "traffic upd", h().Size())
	if err != nil {
		return err
	}
	return rc.setSecret(next)
}

// expandLabel is HKDF-Expand-Label with an empty context (RFC 8446 7.1).
func expandLabel(h func() hash.Hash, secret []byte, label string, n int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 4+len(full))
	info = binary.BigEndian.AppendUint16(info, uint16(n))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0) // no context
	return hkdf.Expand(h, secret, string(info), n)
}

// cipher returns the AEAD, building it if a trim dropped it.
func (rc *recordCipher) cipher() (cipher.AEAD, error) {
	rc.used = true
	if rc.aead != nil {
		return rc.aead, nil
	}
	var err error
	if rc.suite == tls.TLS_CHACHA20_POLY1305_SHA256 {
		rc.aead, err = chacha20poly1305.New(rc.key)
	} else {
		var block cipher.Block
		if block, err = aes.NewCipher(rc.key); err == nil {
			rc.aead, err = cipher.NewGCM(block)
		}
	}
	return rc.aead, err
}

// cipherBytes is about what building an AEAD allocates (aes.NewCipher and
// cipher.NewGCM together: 1,280 bytes with Go 1.26), which trim lets go.
const cipherBytes = 1280

// trim drops the AEAD if it was not used since the last trim, and returns
// about how many bytes that let go.
func (rc *recordCipher) trim() int {
	n := 0
	if !rc.used && rc.aead != nil {
		rc.aead, n = nil, cipherBytes
	}
	rc.used = false
	return n
}

// nonce is the per-record nonce: the IV XOR the sequence number.
func (rc *recordCipher) nonce() [12]byte {
	n := rc.iv
	for i := range 8 {
		n[4+i] ^= byte(rc.seq >> (56 - 8*i))
	}
	return n
}

// seal appends to dst one record of type typ carrying content (at most
// maxPlaintext bytes).
func (rc *recordCipher) seal(dst []byte, typ byte, content []byte) ([]byte, error) {
	aead, err := rc.cipher()
	if err != nil {
		return dst, err
	}
	n := len(content) + 1 + aead.Overhead()
	dst = slices.Grow(dst, recordHeaderLen+n)
	start := len(dst)
	dst = append(dst, recordApplication, 0x03, 0x03, byte(n>>8), byte(n))
	dst = append(dst, content...)
	dst = append(dst, typ)
	header := dst[start : start+recordHeaderLen]
	body := dst[start+recordHeaderLen:]
	nonce := rc.nonce()
	sealed := aead.Seal(body[:0], nonce[:], body, header)
	rc.seq++
	return dst[:start+recordHeaderLen+len(sealed)], nil
}

// open decrypts a whole record (header and body) in place and returns its
// content type and content.
func (rc *recordCipher) open(record []byte) (byte, []byte, error) {
	if record[0] != recordApplication {
		return 0, nil, fmt.Errorf("tls: unexpected record type %d after the handshake", record[0])
	}
	aead, err := rc.cipher()
	if err != nil {
		return 0, nil, err
	}
	nonce := rc.nonce()
	plain, err := aead.Open(record[recordHeaderLen:recordHeaderLen], nonce[:], record[recordHeaderLen:], record[:recordHeaderLen])
	if err != nil {
		return 0, nil, errors.New("tls: bad record MAC")
	}
	rc.seq++
	// The content type is the last byte that is not padding.
	i := len(plain) - 1
	for i >= 0 && plain[i] == 0 {
		i--
	}
	if i < 0 {
		return 0, nil, errors.New("tls: record without a content type")
	}
	if i > maxPlaintext {
		return 0, nil, errRecordOverflow
	}
	return plain[i], plain[:i], nil
}

// wholeRecord returns the length of the whole record at the start of b, 0
// if it has not all arrived.
func wholeRecord(b []byte) (int, error) {
	if len(b) < recordHeaderLen {
		return 0, nil
	}
	n := int(binary.BigEndian.Uint16(b[3:5]))
	if n > maxCiphertext {
		return 0, errRecordOverflow
	}
	if len(b) < recordHeaderLen+n {
		return 0, nil
	}
	return recordHeaderLen + n, nil
}
