package loadgen

import (
	"os"
	"testing"
	"time"
)

// ircRun is the short rooms run the IRC end-to-end tests make: 40
// sessions in rooms of 20 (two processes' worth of rooms in one), 200
// messages a second for a second.
func ircRun(addr string, pid int) Config {
	return Config{
		Addr: addr, ServerPID: pid, Proto: ProtoIRC, Profile: ProfileRooms, Sessions: 40, Rooms: 2, Rate: 200,
		Duration: time.Second, Ramp: 100 * time.Millisecond, Drain: 5 * time.Second, Timeout: 10 * time.Second,
		Login: LoginGuest, Prefix: "lg", Size: 64, Procs: 1, Quiet: true,
	}
}

// checkIRCRun runs cfg and checks every session came up, every message
// reached every other member of its room once and in order, and nothing
// else went wrong.
func checkIRCRun(t *testing.T, cfg Config) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(cfg, exe, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	if r.Up != cfg.Sessions || r.Failed != 0 || len(r.Errors) != 0 {
		t.Errorf("up %d of %d, failed %d, errors %v", r.Up, cfg.Sessions, r.Failed, r.Errors)
	}
	if r.Connect.Count < int64(cfg.Sessions) || r.LoginTime.Count < int64(cfg.Sessions) {
		t.Errorf("connect %d and registration %d times recorded, want %d each", r.Connect.Count, r.LoginTime.Count, cfg.Sessions)
	}
	if r.Lost != 0 || r.Duplicates != 0 || r.OutOfOrder != 0 || r.Misrouted != 0 || r.Unexpected != 0 {
		t.Errorf("lost %d dup %d out of order %d misrouted %d unexpected %d",
			r.Lost, r.Duplicates, r.OutOfOrder, r.Misrouted, r.Unexpected)
	}
	// 200 messages in rooms of 20: 19 deliveries each.
	if r.Sent < 200 || r.Expected < 200*19 || r.Deliveries < r.Expected || r.Latency.Count == 0 {
		t.Errorf("sent %d deliveries %d expected %d latency %+v", r.Sent, r.Deliveries, r.Expected, r.Latency)
	}
	if r.Server == nil || r.Server.RSSHeldMB <= 0 {
		t.Errorf("no server stats: %+v", r.Server)
	}
	if r.Proto != ProtoIRC {
		t.Errorf("the report says protocol %q", r.Proto)
	}
}

// TestIRCEndToEnd runs the rooms profile over IRC against our server's IRC
// listener, plain and over TLS.
func TestIRCEndToEnd(t *testing.T) {
	bin := buildServer(t)
	for _, useTLS := range []bool{false, true} {
		name := "plain"
		if useTLS {
			name = "TLS"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, err := SpawnServer(bin, SpawnOptions{
				UsersFile: t.TempDir() + "/users.db", Guests: true, TLS: useTLS, IRC: true, Timeout: 10 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := srv.Stop(); err != nil {
					t.Error(err)
				}
			}()
			cfg := ircRun(srv.IRCAddr, srv.PID)
			if useTLS {
				cfg.TLS = &TLSOptions{CAPEM: srv.CertPEM, Resume: true}
			}
			checkIRCRun(t, cfg)
		})
	}
}

// TestIRCEndToEndNgircd runs the same against Debian's ngircd, configured
// as `make bench` runs it, when it is installed.
func TestIRCEndToEndNgircd(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	if !Ngircd.Installed() {
		t.Skipf("%s is not installed (Debian package %s; `make bench` installs it): skipped", Ngircd.Binary, Ngircd.Package)
	}
	t.Parallel()
	srv, err := Ngircd.Start(1000, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := srv.Stop(); err != nil {
			t.Error(err)
		}
	}()
	cfg := ircRun(srv.Addr, srv.PID)
	cfg.SetupInFlight = Ngircd.SetupInFlight
	checkIRCRun(t, cfg)
}
