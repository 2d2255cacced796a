package server

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"chat/internal/wire"
	"chat/server/auth"
	"chat/server/hub"
)

func TestStateSaveLoad(t *testing.T) {
	dir := t.TempDir()
	rooms, exact, err := LoadState(dir)
	if err != nil || rooms != nil || exact {
		t.Fatalf("missing file: %v %v %v", rooms, exact, err)
	}
	want := []hub.RoomState{{Name: "lounge", Seq: 41, Topic: "tea at 5", TopicBy: "ann", TopicAt: 7, Modes: "+int",
		Key: "k", Limit: 9, Ops: []string{"ann"}, Bans: []string{"bob!*@*"}}, {Name: "日本語", Seq: 0}}
	for _, ex := range []bool{false, true} {
		if err := SaveState(dir, want, ex); err != nil {
			t.Fatal(err)
		}
		got, gotExact, err := LoadState(dir)
		if err != nil || !reflect.DeepEqual(got, want) || gotExact != ex {
			t.Fatalf("load: %v %v %v", got, gotExact, err)
		}
	}
	if err := SaveState(dir, nil, false); err != nil {
		t.Fatal(err)
	}
	if got, _, err := LoadState(dir); err != nil || len(got) != 0 {
		t.Fatalf("empty: %v %v", got, err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != StateFileName {
		t.Fatalf("temporary files left: %v", ents)
	}
}

func TestStateCorrupt(t *testing.T) {
	for name, content := range map[string]string{
		"truncated":   `{"version": 1, "rooms": [{"name": "lo`,
		"not json":    "lounge\n",
		"trailing":    `{"version": 1, "rooms": []} {}`,
		"unknown key": `{"version": 1, "rooms": [], "colour": "red"}`,
		"version":     `{"version": 7, "rooms": []}`,
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, StateFileName)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadState(dir)
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A directory where the file should be cannot be read.
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, StateFileName), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadState(dir); err == nil || !strings.Contains(err.Error(), "cannot read state file") {
		t.Errorf("unreadable: %v", err)
	}
}

func TestStateBadRoomsRefused(t *testing.T) {
	for name, rooms := range map[string][]hub.RoomState{
		"bad name":  {{Name: "a b"}},
		"duplicate": {{Name: "r"}, {Name: "r"}},
	} {
		dir := t.TempDir()
		if err := SaveState(dir, rooms, false); err != nil {
			t.Fatal(err)
		}
		_, err := New(Config{Addr: "127.0.0.1:0", UsersFile: writeUsers(t, t.TempDir(), nil), StateDir: dir})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, StateFileName)) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Without a message store the server writes the room list while it runs,
// the exact numbers at a graceful shutdown, and a restarted server
// continues from them.
func TestServerStateAcrossRestart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state") // created by the server
	users := writeUsers(t, t.TempDir(), map[string]string{"alice": "wonderland"})
	s := start(t, Config{UsersFile: users, StateDir: dir, Store: StoreMemory})
	c := dial(t, s.Addr())
	if r := c.login("alice", "wonderland"); r.Code != wire.OK {
		t.Fatalf("login: %+v", r)
	}
	for _, room := range []string{"lounge", "den"} {
		if r := c.call(&wire.Frame{Type: wire.TypeCreate, Room: room}); r.Code != wire.OK {
			t.Fatalf("create: %+v", r)
		}
	}
	waitFor(t, "the room list on disk", func() bool {
		rooms, exact, err := LoadState(dir)
		return err == nil && !exact && len(rooms) == 2
	})
	c.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"})
	for range 3 {
		c.call(&wire.Frame{Type: wire.TypeSay, Text: "hi"})
	}
	if err := s.stop(t); err != nil {
		t.Fatal(err)
	}
	rooms, exact, err := LoadState(dir)
	seqs := make([]hub.RoomState, 0, len(rooms))
	for _, r := range rooms {
		seqs = append(seqs, hub.RoomState{Name: r.Name, Seq: r.Seq})
	}
	if err != nil || !exact || !reflect.DeepEqual(seqs, []hub.RoomState{{Name: "den"}, {Name: "lounge", Seq: 3}}) {
		t.Fatalf("after shutdown: %+v %v %v", rooms, exact, err)
	}

	s2 := start(t, Config{UsersFile: users, StateDir: dir, Store: StoreMemory})
	// At once, before anything happens, the file reserves numbers again.
	if _, exact, err := LoadState(dir); err != nil || exact {
		t.Fatalf("after restart: %v %v", exact, err)
	}
	c2 := dial(t, s2.Addr())
	c2.login("alice", "wonderland")
	if r := c2.call(&wire.Frame{Type: wire.TypeEnter, Room: "lounge"}); r.Code != wire.OK || r.Seq != 3 {
		t.Fatalf("enter after restart: %+v", r)
	}
	if r := c2.call(&wire.Frame{Type: wire.TypeSay, Text: "again"}); r.Seq != 4 {
		t.Fatalf("say after restart: %+v", r)
	}
}

func TestServerRefusesCorruptState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, StateFileName)
	if err := os.WriteFile(path, []byte("{garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := countFds(t)
	_, err := New(Config{Addr: "127.0.0.1:0", UsersFile: writeUsers(t, t.TempDir(), nil), StateDir: dir})
	if err == nil || !strings.Contains(err.Error(), "corrupt state file "+path) {
		t.Fatalf("New: %v", err)
	}
	if data, _ := os.ReadFile(path); string(data) != "{garbage" {
		t.Fatalf("the corrupt file was changed: %q", data)
	}
	if after := countFds(t); after > before {
		t.Fatalf("descriptors leaked: %d before, %d after", before, after)
	}
}

// While a slow password check holds a session's frames, the server still
// shows the client it is alive.
func TestServerPingsWhileVerifying(t *testing.T) {
	dir := t.TempDir()
	slow, err := auth.HashWithCost("wonderland", 32<<10, 4) // a few hundred milliseconds
	if err != nil {
		t.Fatal(err)
	}
	u := &auth.Users{}
	if err := u.Add("alice", slow); err != nil {
		t.Fatal(err)
	}
	users := filepath.Join(dir, "users.db")
	if err := u.Save(users); err != nil {
		t.Fatal(err)
	}
	s := start(t, Config{UsersFile: users, PingInterval: 10 * time.Millisecond, PeerTimeout: 10 * time.Millisecond})
	c := dial(t, s.Addr())
	c.noPong = true
	// reply returns the next frame but pings, and how many pings came first.
	reply := func() (*wire.Frame, int) {
		pings := 0
		for {
			f := c.must()
			if f.Type != wire.TypeServerPing {
				return f, pings
			}
			pings++
		}
	}
	c.send(&wire.Frame{Type: wire.TypeHello, Version: wire.Version})
	if r, _ := reply(); r.Code != wire.OK {
		t.Fatalf("hello: %+v", r)
	}
	id := c.send(&wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "wonderland"})
	r, pings := reply()
	if r.Type != wire.TypeReply || r.ID != id || r.Code != wire.OK {
		t.Fatalf("login: %+v", r)
	}
	if pings < 2 {
		t.Fatalf("%d pings during the password check", pings)
	}
}
