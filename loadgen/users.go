package loadgen

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"chat/internal/wire"
	"chat/server/auth"
)

// WriteUsers writes a users file (NAME:HASH a line, mode 0600) holding names,
// all with password. It is for load tests only: the password is hashed once
// and the same hash (same salt) is written for every name, because hashing
// ten thousand passwords with argon2id would take minutes, and a shared salt
// is exactly what a real users file must never have. The file is replaced
// atomically, so a server re-reading it never sees half of it.
func WriteUsers(path string, names []string, password string) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return fmt.Errorf("write users file: %w", err)
	}
	var buf bytes.Buffer
	for _, n := range names {
		if err := wire.ValidName(n); err != nil {
			return fmt.Errorf("write users file: bad name %q: %w", n, err)
		}
		fmt.Fprintf(&buf, "%s:%s\n", n, hash)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write users file: %w", err)
	}
	defer os.Remove(f.Name()) // fails harmlessly after the rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("write users file: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		return fmt.Errorf("write users file: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write users file: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write users file: %w", err)
	}
	return nil
}

// generatedNames returns the account names loadgen makes for n accounts:
// the stable sessions' names, then the churn sessions'.
func generatedNames(cfg *Config, n int) []string {
	guest := *cfg
	guest.Login = LoginGuest // the generated form of the names
	names := make([]string, 0, n)
	for i := 0; i < n && i < cfg.Sessions; i++ {
		names = append(names, guest.userName(uint32(i), false))
	}
	for c := 0; len(names) < n; c++ {
		names = append(names, guest.userName(uint32(c), true))
	}
	return names
}

// readUserNames returns the account names of a users file, in file order.
func readUserNames(path string) ([]string, error) {
	u, err := auth.LoadUsers(path)
	if err != nil {
		return nil, err
	}
	return u.Names(), nil
}
