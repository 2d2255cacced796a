package auth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"chat/internal/wire"
)

// A well-formed argon2id hash (its key is not the hash of anything; parsing
// never computes one).
const fuzzHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"

// FuzzParseUsers feeds arbitrary users-file contents to ParseUsers. It must
// never panic; what it accepts must hold valid names, each once, with hashes
// that parse; and written back in the file's format (as Save writes it) it
// must parse again to exactly the same accounts in the same order.
func FuzzParseUsers(f *testing.F) {
	for _, s := range []string{
		"alice:" + fuzzHash + "\n",
		"alice:" + fuzzHash + "\nbob:" + fuzzHash + "\r\n\n   \n",
		"a:b:" + fuzzHash + "\n",                                           // a name holding a colon
		"alice:" + fuzzHash + "\nalice:" + fuzzHash + "\n",                 // twice
		"al ice:" + fuzzHash + "\n",                                        // a space in the name
		"alice:" + strings.Replace(fuzzHash, "m=19456", "m=9999999999", 1), // out of range
		"alice\n",
		"alice:$argon2id$v=19$m=8,t=1,p=1$$",
		"é:" + fuzzHash,
		"\xff:" + fuzzHash,
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := ParseUsers("users.db", data)
		if err != nil {
			if u != nil {
				t.Fatalf("error %v with users %+v", err, u)
			}
			if !strings.HasPrefix(err.Error(), "users.db") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		names := u.Names()
		if u.Len() != len(names) {
			t.Fatalf("Len %d, %d names", u.Len(), len(names))
		}
		for i, n := range names {
			if err := wire.ValidName(n); err != nil {
				t.Fatalf("accepted bad name %q: %v", n, err)
			}
			if slices.Index(names, n) != i {
				t.Fatalf("accepted %q twice", n)
			}
			h, ok := u.Hash(n)
			if !ok || !u.Has(n) {
				t.Fatalf("%q listed but not found", n)
			}
			if _, err := parsePHC(h); err != nil {
				t.Fatalf("accepted bad hash %q for %q: %v", h, n, err)
			}
		}
		again, err := ParseUsers("users.db", formatUsers(u))
		if err != nil {
			t.Fatalf("written back, it does not parse: %v\n%q", err, formatUsers(u))
		}
		if !slices.Equal(again.Names(), names) {
			t.Fatalf("names %q became %q", names, again.Names())
		}
		for _, n := range names {
			h1, _ := u.Hash(n)
			h2, _ := again.Hash(n)
			if h1 != h2 {
				t.Fatalf("hash of %q %q became %q", n, h1, h2)
			}
		}
	})
}

// formatUsers writes u the way Users.Save does, in memory (Save's fsyncs
// would slow the fuzzer to a crawl); TestFormatUsersIsSave keeps the two in
// step.
func formatUsers(u *Users) []byte {
	var b bytes.Buffer
	for _, n := range u.Names() {
		h, _ := u.Hash(n)
		fmt.Fprintf(&b, "%s:%s\n", n, h)
	}
	return b.Bytes()
}

func TestFormatUsersIsSave(t *testing.T) {
	u, err := ParseUsers("users.db", []byte("alice:"+fuzzHash+"\r\n\na:b:"+fuzzHash+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "users.db")
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(saved, formatUsers(u)) {
		t.Fatalf("Save wrote %q, the fuzz target assumes %q", saved, formatUsers(u))
	}
}
