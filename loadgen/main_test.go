package loadgen

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chat/server/auth"
)

// TestMain lets the test binary serve as a child worker, so the multi-process
// path runs in tests exactly as bin/loadgen runs it.
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == "-"+workerFlag {
		os.Exit(RunWorkerProcess(os.Stdin, os.Stdout))
	}
	code := m.Run()
	if serverBuildDir != "" {
		os.RemoveAll(serverBuildDir)
	}
	os.Exit(code)
}

func TestProfileDefaultsAndOverrides(t *testing.T) {
	tests := []struct {
		profile string
		set     map[string]bool
		cfg     Config
		rooms   int
		rate    float64
	}{
		{profile: ProfileRooms, rooms: 10, rate: 100},
		{profile: ProfileBigroom, rooms: 1, rate: 200},
		{profile: ProfileIdle, rooms: 10, rate: 0},
		{profile: ProfileRooms, set: map[string]bool{"sessions": true}, cfg: Config{Sessions: 5000}, rooms: 50, rate: 100},
		{profile: ProfileBigroom, set: map[string]bool{"rooms": true, "rate": true}, cfg: Config{Rooms: 4, Rate: 7}, rooms: 4, rate: 7},
		{profile: ProfileCrash, rooms: 2, rate: 100},
	}
	for _, tt := range tests {
		cfg := tt.cfg
		cfg.Profile = tt.profile
		set := tt.set
		if set == nil {
			set = map[string]bool{}
		}
		if err := applyDefaults(&cfg, set, 0); err != nil {
			t.Fatal(err)
		}
		if cfg.Rooms != tt.rooms || cfg.Rate != tt.rate || cfg.Procs < 1 || cfg.Duration <= 0 {
			t.Errorf("%s %v: rooms %d rate %v procs %d duration %v; want rooms %d rate %v",
				tt.profile, tt.set, cfg.Rooms, cfg.Rate, cfg.Procs, cfg.Duration, tt.rooms, tt.rate)
		}
		if cfg.Ramp != time.Duration(cfg.Sessions)*time.Second/2000 {
			t.Errorf("%s: default ramp %v for %d sessions", tt.profile, cfg.Ramp, cfg.Sessions)
		}
	}
	for _, tt := range []struct {
		profile string
		set     map[string]bool
		login   string
		procs   int
	}{
		{ProfileCrash, nil, LoginAccount, 1},
		{ProfileCrash, map[string]bool{"login": true}, LoginGuest, 1},
		{ProfileRooms, nil, LoginGuest, 0},
	} {
		cfg := Config{Profile: tt.profile, Login: LoginGuest}
		if tt.set == nil {
			tt.set = map[string]bool{}
		}
		applyDefaults(&cfg, tt.set, 0)
		if cfg.Login != tt.login || (tt.procs != 0 && cfg.Procs != tt.procs) {
			t.Errorf("%s %v: login %s, procs %d; want %s, %d", tt.profile, tt.set, cfg.Login, cfg.Procs, tt.login, tt.procs)
		}
	}
	cfg := Config{Profile: ProfileRooms}
	applyDefaults(&cfg, map[string]bool{}, 500)
	if cfg.Ramp != 2*time.Second {
		t.Errorf("1000 sessions at 500/s: ramp %v, want 2s", cfg.Ramp)
	}
	if err := applyDefaults(&Config{Profile: "nope"}, map[string]bool{}, 0); err == nil {
		t.Error("an unknown profile was accepted")
	}
}

func TestAutoProcsLeavesHeadroom(t *testing.T) {
	small := autoProcs(&Config{Profile: ProfileRooms, Sessions: 100})
	huge := autoProcs(&Config{Profile: ProfileRooms, Sessions: 1_000_000})
	if small != 1 || huge < 2 {
		t.Fatalf("procs for 100 sessions %d, for a million %d", small, huge)
	}
}

func TestValidateExplainsMistakes(t *testing.T) {
	cfg := Config{Profile: ProfileReconnect, Sessions: 10, Rooms: 20, Rate: 5, Duration: time.Second,
		Timeout: time.Second, Login: LoginAccount, Procs: 1, Prefix: "lg"}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"-addr", "-rooms", "-rate must be 0", "-password", "account names"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestMakeUsersWritesAServerUsersFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.db")
	var out, errOut bytes.Buffer
	if code := Main([]string{"-make-users", "3", "-users", path, "-password", "pw"}, nil, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("users file: %v, mode %v", err, st.Mode())
	}
	u, err := auth.LoadUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	names := u.Names()
	if strings.Join(names, ",") != "lg0000,lg0001,lg0002" {
		t.Fatalf("names %v", names)
	}
	h0, _ := u.Hash(names[0])
	h2, _ := u.Hash(names[2])
	if h0 != h2 || !auth.CheckPassword(h2, "pw") || auth.CheckPassword(h2, "wrong") {
		t.Fatal("every account should share the one hash of the password")
	}
	got, err := readUserNames(path)
	if err != nil || len(got) != 3 {
		t.Fatalf("readUserNames: %v %v", got, err)
	}
}

func TestMainRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-profile", "nope"},
		{"-make-users", "3"},
		{"-addr", "127.0.0.1:1", "-rooms", "0", "-sessions", "2"},
		{"stray"},
		{"-kills", "2"}, // for the crash profile only
		{"-profile", "crash", "-addr", "127.0.0.1:1"},             // it must start the server to kill it
		{"-profile", "crash", "-spawn-server", "x", "-rate", "0"}, // nothing to check
		{"-profile", "crash", "-spawn-server", "x", "-server-args", "-state /tmp"},
	} {
		var out, errOut bytes.Buffer
		if code := Main(args, nil, &out, &errOut); code != ExitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, ExitUsage, errOut.String())
		}
	}
}
