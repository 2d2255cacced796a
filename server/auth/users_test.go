package auth

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"chat/server/hub"
)

func TestHashAndCheck(t *testing.T) {
	h, err := HashPassword("s3cret")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	p, err := parsePHC(h)
	if err != nil || len(p.salt) != 16 || len(p.key) != 32 {
		t.Fatalf("parse: %+v %v", p, err)
	}
	if !CheckPassword(h, "s3cret") || CheckPassword(h, "s3cret ") || CheckPassword(h, "") {
		t.Fatal("check is wrong")
	}
	h2, _ := HashPassword("s3cret")
	if h2 == h {
		t.Fatal("two hashes share a salt")
	}
	for _, bad := range []string{"", "x", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", strings.Replace(h, "m=19456", "m=99999999", 1), strings.Replace(h, "t=2", "t=0", 1)} {
		if CheckPassword(bad, "s3cret") {
			t.Fatalf("%q accepted", bad)
		}
	}
}

func TestUsersFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.db")
	if _, err := LoadUsers(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	var u Users
	if err := u.Add("alice", cheapHash(t, "a")); err != nil {
		t.Fatal(err)
	}
	if err := u.Add("bob", cheapHash(t, "b")); err != nil {
		t.Fatal(err)
	}
	if err := u.Add("alice", cheapHash(t, "a")); !errors.Is(err, ErrUserExists) {
		t.Fatalf("add twice: %v", err)
	}
	if err := u.Add("a b", "x"); err == nil {
		t.Fatal("bad name added")
	}
	if err := u.SetPassword("carol", "x"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("set missing: %v", err)
	}
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("mode: %v %v", st.Mode(), err)
	}
	got, err := LoadUsers(path)
	if err != nil || got.Len() != 2 || strings.Join(got.Names(), ",") != "alice,bob" {
		t.Fatalf("load: %v %v", got, err)
	}
	h, _ := got.Hash("bob")
	if !CheckPassword(h, "b") {
		t.Fatal("bob's hash does not check")
	}
	if err := got.SetPassword("bob", cheapHash(t, "new")); err != nil {
		t.Fatal(err)
	}
	if err := got.Delete("alice"); err != nil {
		t.Fatal(err)
	}
	if err := got.Delete("alice"); !errors.Is(err, ErrNoSuchUser) {
		t.Fatalf("delete twice: %v", err)
	}
	if err := got.Save(path); err != nil {
		t.Fatal(err)
	}
	again, err := LoadUsers(path)
	if err != nil || again.Len() != 1 || again.Has("alice") {
		t.Fatalf("reload: %v %v", again, err)
	}
	h, _ = again.Hash("bob")
	if !CheckPassword(h, "new") {
		t.Fatal("new password not saved")
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("directory holds %d entries", len(ents))
	}
}

func TestUsersFileBadLines(t *testing.T) {
	good := cheapHash(t, "x")
	cases := map[string]string{
		"alice:" + good + "\nnocolon\n":                      "line 2",
		"\n\nalice:" + good + "\nbob:notahash\n":             "line 4",
		"a b:" + good + "\n":                                 "line 1",
		"alice:" + good + "\nalice:" + good + "\n":           "twice",
		"alice:" + strings.Replace(good, "$v=19", "$v=1", 1): "version",
	}
	for content, want := range cases {
		_, err := ParseUsers("users.db", []byte(content))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "users.db") {
			t.Errorf("%q: got %v, want %q", content, err, want)
		}
	}
	u, err := ParseUsers("users.db", []byte("a:b:"+good+"\r\n\n"))
	if err != nil || !u.Has("a:b") {
		t.Fatalf("colon in name, CRLF: %v", err)
	}
}

func TestVerifier(t *testing.T) {
	dir := t.TempDir()
	path := writeUsers(t, dir, map[string]string{"alice": "wonderland"})
	var wakes atomic.Int32
	v, err := NewVerifier(path, 2, nil, func() { wakes.Add(1) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	check := func(name, pw string) hub.Verdict {
		t.Helper()
		if !v.Submit(hub.VerifyRequest{Session: 1, ReqID: 2, Name: name, Secret: pw}) {
			t.Fatal("submit refused")
		}
		select {
		case r := <-v.Results():
			if r.Session != 1 || r.ReqID != 2 || r.Name != name {
				t.Fatalf("result %+v", r)
			}
			return r.Verdict
		case <-time.After(10 * time.Second):
			t.Fatal("no result")
		}
		return 0
	}
	if got := check("alice", "wonderland"); got != hub.VerdictOK {
		t.Fatalf("right password: %v", got)
	}
	if got := check("alice", "nope"); got != hub.VerdictWrong {
		t.Fatalf("wrong password: %v", got)
	}
	if got := check("zed", "x"); got != hub.VerdictWrong {
		t.Fatalf("unknown user: %v", got)
	}
	waitFor(t, "a wake per result", func() bool { return wakes.Load() == 3 })
	if !v.Registered("alice") || v.Registered("bob") {
		t.Fatal("registered")
	}
	// Adding a user to the file takes effect without a restart. Give the
	// file a distinct modification time in case the clock is coarse.
	u, _ := LoadUsers(path)
	u.Add("bob", cheapHash(t, "builder"))
	if err := u.Save(path); err != nil {
		t.Fatal(err)
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(path, future, future)
	if got := check("bob", "builder"); got != hub.VerdictOK {
		t.Fatalf("added user: %v", got)
	}
	if !v.Registered("bob") {
		t.Fatal("bob not registered after reload")
	}
	// A broken file keeps the last good copy.
	os.WriteFile(path, []byte("garbage\n"), 0o600)
	os.Chtimes(path, future.Add(time.Hour), future.Add(time.Hour))
	if got := check("bob", "builder"); got != hub.VerdictOK {
		t.Fatalf("after a bad rewrite: %v", got)
	}
}

// The hash unknown names are checked against costs what a real account's
// does: the parameters of new hashes.
func TestDummyHashHasCurrentParameters(t *testing.T) {
	p, err := parsePHC(dummyHash)
	if err != nil {
		t.Fatalf("dummy hash: %v", err)
	}
	if p.memory != argonMemory || p.time != argonTime || p.threads != argonThreads || len(p.key) != argonKeyLen {
		t.Errorf("dummy hash parameters m=%d t=%d p=%d key %d bytes; new hashes use m=%d t=%d p=%d, %d bytes",
			p.memory, p.time, p.threads, len(p.key), argonMemory, argonTime, argonThreads, argonKeyLen)
	}
	if !CheckPassword(dummyHash, "not a password") {
		t.Error("the dummy hash is not of its documented password")
	}
}
