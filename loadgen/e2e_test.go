package loadgen

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// buildServer builds the real chat-server, or skips the test when the
// server does not build (it is written alongside loadgen).
func buildServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	dir := t.TempDir()
	out, err := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "chat/server/cmd/chat-server").CombinedOutput()
	if err != nil {
		t.Skipf("the server does not build yet, so loadgen cannot be tried against it:\n%s", out)
	}
	return filepath.Join(dir, "chat-server")
}

// TestEndToEnd runs short profiles against a real server, in one process
// and in two (the test binary re-executes itself as a worker, see TestMain).
func TestEndToEnd(t *testing.T) {
	bin := buildServer(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base := Config{
		Profile: ProfileRooms, Sessions: 20, Rooms: 2, Rate: 200, Duration: time.Second,
		Ramp: 100 * time.Millisecond, Drain: 5 * time.Second, Timeout: 10 * time.Second,
		Login: LoginGuest, Prefix: "lg", ChurnMsgs: 3, Size: 64, Procs: 1, Quiet: true,
	}
	tests := []struct {
		name   string
		change func(*Config)
	}{
		{"rooms", func(*Config) {}},
		// Three rooms, so that rooms span both processes.
		{"rooms in two processes", func(c *Config) { c.Procs, c.Rooms = 2, 3 }},
		{"churn", func(c *Config) { c.Profile, c.ChurnRate = ProfileChurn, 20 }},
		{"reconnect storm", func(c *Config) { c.Profile, c.Rate = ProfileReconnect, 0 }},
		{"overload", func(c *Config) { c.Profile, c.Drain = ProfileOverload, 2*time.Second }},
		{"login storm", func(c *Config) {
			c.Profile, c.Rate, c.Ramp, c.Login, c.Password = ProfileLogin, 0, 0, LoginAccount, "pw"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			users := filepath.Join(t.TempDir(), "users.db")
			cfg := base
			tt.change(&cfg)
			var names []string
			if cfg.Login == LoginAccount {
				names = generatedNames(&cfg, cfg.Sessions+cfg.probeAccounts())
				cfg.Names = names
			}
			if err := WriteUsers(users, names, cfg.Password); err != nil {
				t.Fatal(err)
			}
			srv, err := SpawnServer(bin, users, cfg.Login == LoginGuest, nil, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := srv.Stop(); err != nil {
					t.Error(err)
				}
			}()
			cfg.Addr, cfg.ServerPID = srv.Addr, srv.PID
			r, err := Run(cfg, exe, os.Stderr)
			if err != nil {
				t.Fatal(err)
			}
			if r.Up != cfg.Sessions || r.Failed != 0 || len(r.Errors) != 0 {
				t.Errorf("up %d of %d, failed %d, errors %v", r.Up, cfg.Sessions, r.Failed, r.Errors)
			}
			if r.Connect.Count < int64(cfg.Sessions) || r.LoginTime.Count < int64(cfg.Sessions) {
				t.Errorf("connect %d and login %d times recorded, want %d each", r.Connect.Count, r.LoginTime.Count, cfg.Sessions)
			}
			if r.Server == nil || r.Server.RSSEndMB <= 0 || r.Server.RSSHeldMB <= 0 {
				t.Errorf("no server stats: %+v", r.Server)
			}
			if r.Lost != 0 || r.Duplicates != 0 || r.OutOfOrder != 0 || r.Misrouted != 0 || r.Unexpected != 0 {
				t.Errorf("lost %d dup %d out of order %d misrouted %d unexpected %d",
					r.Lost, r.Duplicates, r.OutOfOrder, r.Misrouted, r.Unexpected)
			}
			switch cfg.Profile {
			case ProfileLogin:
				if l := r.LoginStorm; l == nil || l.Logins != cfg.Sessions || l.Pings == 0 || l.ProbeError != "" || l.LoginsPerSec <= 0 {
					t.Errorf("login storm: %+v", l)
				}
			case ProfileOverload:
				if o := r.Overload; o == nil || !o.Recovered() || o.Stayed != cfg.Sessions || o.RSSPeakMB <= 0 {
					t.Errorf("overload: %+v", o)
				}
				if r.Sent < 200 || r.Deliveries < r.Expected {
					t.Errorf("sent %d deliveries %d expected %d", r.Sent, r.Deliveries, r.Expected)
				}
			case ProfileReconnect:
				if !r.AllBack() || r.Storm.Reconnect.Count != int64(cfg.Sessions) {
					t.Errorf("storm: %+v", r.Storm)
				}
			case ProfileChurn:
				if r.ChurnDone == 0 || r.ChurnDone != r.ChurnStarted {
					t.Errorf("churn: %d started, %d done", r.ChurnStarted, r.ChurnDone)
				}
				fallthrough
			default:
				// 200 msgs/s for 1 s in rooms of 6 to 10: 200 messages, at
				// least 5 deliveries each.
				if r.Sent < 200 || r.Acked != r.Sent || r.Expected < 1000 || r.Deliveries < r.Expected || r.Latency.Count == 0 {
					t.Errorf("sent %d acked %d deliveries %d expected %d latency %+v",
						r.Sent, r.Acked, r.Deliveries, r.Expected, r.Latency)
				}
			}
		})
	}
}
