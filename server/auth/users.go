package auth

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"chat/internal/wire"

	"golang.org/x/crypto/argon2"
)

// The users file holds one account a line, NAME:HASH, where HASH is an
// argon2id PHC string. Names may not hold white space; the hash never holds
// a colon, so a line splits at its last colon.

// Argon2id parameters for new hashes (the OWASP minimum for argon2id).
const (
	argonMemory  = 19456 // KiB
	argonTime    = 2
	argonThreads = 1
	argonSaltLen = 16
	argonKeyLen  = 32
)

// Bounds on the parameters a stored hash may ask for, so a corrupt or
// hostile file cannot make one check take gigabytes or minutes.
const (
	maxArgonMemory  = 1 << 20 // KiB: 1 GiB
	maxArgonTime    = 16
	maxArgonThreads = 16
)

var b64 = base64.RawStdEncoding

// DefaultUsersFile is where the server and its user commands look for the
// users file unless told otherwise.
const DefaultUsersFile = "users.db"

// ErrNoSuchUser is returned by SetPassword and Delete for a missing account.
var ErrNoSuchUser = errors.New("no such user")

// ErrUserExists is returned by Add for an existing account.
var ErrUserExists = errors.New("user already exists")

// HashPassword returns an argon2id PHC string for password with a fresh
// random salt.
func HashPassword(password string) (string, error) {
	return hashWith(password, argonMemory, argonTime, argonThreads)
}

// HashWithCost is HashPassword at a cost of one's choosing (memory in KiB,
// iterations): for tests and tools that make throwaway accounts by the
// thousand. CheckPassword reads the cost from the hash itself.
func HashWithCost(password string, memoryKiB, iterations uint32) (string, error) {
	return hashWith(password, memoryKiB, iterations, 1)
}

func hashWith(password string, memory, time uint32, threads uint8) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, time, memory, threads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, memory, time, threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

type phc struct {
	memory, time uint32
	threads      uint8
	salt, key    []byte
}

func parsePHC(s string) (phc, error) {
	var p phc
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, errors.New("not an argon2id hash ($argon2id$v=19$m=...,t=...,p=...$SALT$KEY)")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	var m, t, th uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, th) != parts[3] {
		return p, fmt.Errorf("bad argon2 parameters %q", parts[3])
	}
	if m < 8*th || m > maxArgonMemory || t < 1 || t > maxArgonTime || th < 1 || th > maxArgonThreads {
		return p, fmt.Errorf("argon2 parameters out of range %q", parts[3])
	}
	// The decoder skips \r and \n, so a decoded value is accepted only if
	// it encodes back to exactly what the file holds: a hash then reads the
	// same whatever line endings the file was saved with.
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || b64.EncodeToString(salt) != parts[4] {
		return p, errors.New("bad salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 || b64.EncodeToString(key) != parts[5] {
		return p, errors.New("bad key")
	}
	return phc{memory: m, time: t, threads: uint8(th), salt: salt, key: key}, nil
}

// CheckPassword reports whether password matches the PHC hash, comparing
// in constant time.
func CheckPassword(hash, password string) bool {
	p, err := parsePHC(hash)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(password), p.salt, p.time, p.memory, p.threads, uint32(len(p.key)))
	return subtle.ConstantTimeCompare(key, p.key) == 1
}

// Users is the content of a users file: names and their hashes, in file
// order.
type Users struct {
	names  []string
	hashes map[string]string
}

// Len returns the number of accounts.
func (u *Users) Len() int { return len(u.names) }

// Names returns the account names in file order.
func (u *Users) Names() []string { return slices.Clone(u.names) }

// Has reports whether name is an account.
func (u *Users) Has(name string) bool {
	_, ok := u.hashes[name]
	return ok
}

// Hash returns name's stored hash.
func (u *Users) Hash(name string) (string, bool) {
	h, ok := u.hashes[name]
	return h, ok
}

// LoadUsers reads a users file. A missing file is an error wrapping
// fs.ErrNotExist; a bad line names its line number.
func LoadUsers(path string) (*Users, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read users file: %w", err)
	}
	return ParseUsers(path, data)
}

// ParseUsers parses the content of a users file; path is for messages.
func ParseUsers(path string, data []byte) (*Users, error) {
	u := &Users{hashes: make(map[string]string)}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" {
			continue
		}
		i := strings.LastIndexByte(text, ':')
		if i < 0 {
			return nil, fmt.Errorf("%s line %d: want NAME:HASH", path, line)
		}
		name, hash := text[:i], text[i+1:]
		if err := wire.ValidName(name); err != nil {
			return nil, fmt.Errorf("%s line %d: bad user name %s: %v", path, line, wire.QuoteName(name), err)
		}
		if _, err := parsePHC(hash); err != nil {
			return nil, fmt.Errorf("%s line %d: user %s: %v", path, line, name, err)
		}
		if u.Has(name) {
			return nil, fmt.Errorf("%s line %d: user %s appears twice", path, line, name)
		}
		u.names = append(u.names, name)
		u.hashes[name] = hash
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

// Add creates an account with the given password hash.
func (u *Users) Add(name, hash string) error {
	if err := wire.ValidName(name); err != nil {
		return fmt.Errorf("bad user name %s: %w", wire.QuoteName(name), err)
	}
	if u.Has(name) {
		return fmt.Errorf("%w: %s", ErrUserExists, name)
	}
	if u.hashes == nil {
		u.hashes = make(map[string]string)
	}
	u.names = append(u.names, name)
	u.hashes[name] = hash
	return nil
}

// SetPassword replaces an account's hash.
func (u *Users) SetPassword(name, hash string) error {
	if !u.Has(name) {
		return fmt.Errorf("%w: %s", ErrNoSuchUser, name)
	}
	u.hashes[name] = hash
	return nil
}

// Delete removes an account.
func (u *Users) Delete(name string) error {
	if !u.Has(name) {
		return fmt.Errorf("%w: %s", ErrNoSuchUser, name)
	}
	delete(u.hashes, name)
	u.names = slices.DeleteFunc(u.names, func(n string) bool { return n == name })
	return nil
}

// Save writes the users atomically: a temporary file in the same directory,
// fsync, rename over path, fsync of the directory. The file has mode 0600.
func (u *Users) Save(path string) (err error) {
	var buf bytes.Buffer
	for _, n := range u.names {
		fmt.Fprintf(&buf, "%s:%s\n", n, u.hashes[n])
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save users file: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("save users file: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("save users file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save users file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save users file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("save users file: %w", err)
	}
	// Make the rename itself durable; failure here loses nothing already
	// written, so it is not reported.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// usersModeWarning returns a warning when the users file's mode lets group
// or others read or write it, "" otherwise.
func usersModeWarning(path string, mode fs.FileMode) string {
	if mode.Perm()&0o066 == 0 {
		return ""
	}
	return fmt.Sprintf("warning: users file %s has mode %04o: others may read or change the password hashes; fix it with: chmod 600 %s",
		path, mode.Perm(), path)
}
