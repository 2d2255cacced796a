package loadgen

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

// buildServer returns the real chat-server, built once for all the tests
// of the package (linking it takes seconds), or skips the test when the
// server does not build (it is written alongside loadgen).
func buildServer(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end: skipped with -short")
	}
	b := serverBuild()
	if b.err != nil {
		t.Skipf("the server does not build yet, so loadgen cannot be tried against it: %v\n%s", b.err, b.out)
	}
	return b.bin
}

// runMain runs loadgen's command line with args and -json, logs what it
// printed, and reads its report into rep; it fails the test at once
// unless the exit status, which it returns, is one of want.
func runMain(t *testing.T, args []string, rep any, want ...int) int {
	t.Helper()
	jsonFile := filepath.Join(t.TempDir(), "report.json")
	var stdout, stderr bytes.Buffer
	code := Main(append(slices.Clip(args), "-json", jsonFile), nil, &stdout, &stderr)
	t.Logf("report:\n%s%s", stdout.String(), stderr.String())
	if !slices.Contains(want, code) {
		t.Fatalf("exit %d, want %v", code, want)
	}
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, rep); err != nil {
		t.Fatal(err)
	}
	return code
}

// builtServer is the outcome of building the chat-server: its path, or
// the go command's output and error.
type builtServer struct {
	bin string
	out []byte
	err error
}

// serverBuild builds the chat-server once, into serverBuildDir, which
// TestMain removes.
var serverBuild = sync.OnceValue(func() (b builtServer) {
	dir, err := os.MkdirTemp("", "loadgen-test-server-")
	if err != nil {
		b.err = err
		return b
	}
	serverBuildDir = dir
	b.bin = filepath.Join(dir, "chat-server")
	b.out, b.err = exec.Command("go", "build", "-o", dir+string(filepath.Separator), "chat/server/cmd/chat-server").CombinedOutput()
	return b
})

// serverBuildDir holds the server serverBuild built, if it ran.
var serverBuildDir string

// TestEndToEnd runs short profiles against a real server, in one process
// and in two (the test binary re-executes itself as a worker, see TestMain),
// over plain TCP and over TLS.
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
		name       string
		change     func(*Config)
		serverArgs []string
	}{
		{"rooms", func(*Config) {}, nil},
		// Three rooms, so that rooms span both processes.
		{"rooms in two processes", func(c *Config) { c.Procs, c.Rooms = 2, 3 }, nil},
		{"churn", func(c *Config) { c.Profile, c.ChurnRate = ProfileChurn, 20 }, nil},
		{"reconnect storm", func(c *Config) { c.Profile, c.Rate = ProfileReconnect, 0 }, nil},
		{"overload", func(c *Config) { c.Profile, c.Drain = ProfileOverload, 2*time.Second }, nil},
		{"login storm", func(c *Config) {
			c.Profile, c.Rate, c.Ramp, c.Login, c.Password = ProfileLogin, 0, 0, LoginAccount, "pw"
		}, nil},
		{"rooms over TLS", func(c *Config) { c.TLS = &TLSOptions{Resume: true} }, nil},
		// Every reconnect resumes: the sessions share their process's
		// session cache.
		{"reconnect storm over TLS", func(c *Config) {
			c.Profile, c.Rate, c.TLS = ProfileReconnect, 0, &TLSOptions{Resume: true}
		}, nil},
		// The handshake storm's worker is a child process, which builds
		// its TLS configuration from the Config it is sent. Its probe
		// sends 100 messages a second, more than the flood limit allows
		// once a slow storm outlasts the burst.
		{"handshake storm over TLS", func(c *Config) {
			c.Profile, c.Sessions, c.Rooms, c.Rate, c.Ramp, c.TLS = ProfileHandshake, 100, 2, 0, 0, &TLSOptions{}
		}, []string{"-msg-rate", "-1"}},
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
			srv, err := SpawnServer(bin, SpawnOptions{
				UsersFile: users, Guests: cfg.Login == LoginGuest, TLS: cfg.TLS != nil, Args: tt.serverArgs, Timeout: 10 * time.Second,
			})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := srv.Stop(); err != nil {
					t.Error(err)
				}
			}()
			cfg.Addr, cfg.ServerPID = srv.Addr, srv.PID
			if cfg.TLS != nil {
				cfg.TLS.CAPEM = srv.CertPEM
			}
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
			checkTLS(t, &cfg, r)
			switch cfg.Profile {
			case ProfileHandshake:
				if h := r.HandshakeStorm; h == nil || h.Connections != cfg.Sessions || h.Seconds <= 0 || h.Probes == 0 ||
					h.Probe.Count != int64(h.Probes) || h.ProbeError != "" || h.ProbeBeforeMS <= 0 {
					t.Errorf("handshake storm: %+v", h)
				}
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
				if cfg.TLS != nil && r.Storm.Resumed != cfg.Sessions {
					t.Errorf("%d of %d reconnects resumed their TLS session", r.Storm.Resumed, cfg.Sessions)
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

// checkTLS checks that a run's connections were TLS handshakes when it
// asked for TLS, resumed only when allowed, and none otherwise.
func checkTLS(t *testing.T, cfg *Config, r *Report) {
	t.Helper()
	if cfg.TLS == nil {
		if r.TLS != nil {
			t.Errorf("a plain run reports TLS: %+v", r.TLS)
		}
		return
	}
	connections := uint64(cfg.Sessions)
	if r.Storm != nil {
		connections += uint64(r.Storm.Back)
	}
	switch {
	case r.TLS == nil:
		t.Error("a TLS run reports no TLS")
	case r.TLS.Handshakes != connections:
		t.Errorf("%d TLS handshakes for %d connections", r.TLS.Handshakes, connections)
	case !cfg.TLS.Resume && r.TLS.Resumed != 0:
		t.Errorf("%d handshakes resumed with resumption off", r.TLS.Resumed)
	}
}
