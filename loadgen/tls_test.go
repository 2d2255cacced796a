package loadgen

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"chat/internal/certs"
)

// writeCA writes a self-signed certificate to a file, as a server's
// operator would hand it to loadgen, and returns its path.
func writeCA(t *testing.T) string {
	t.Helper()
	certPEM, _, err := certs.SelfSigned([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "server.pem")
	if err := os.WriteFile(path, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTLSFlags(t *testing.T) {
	ca := writeCA(t)
	tests := []struct {
		name   string
		args   []string
		tls    bool // cfg.TLS set
		resume bool
	}{
		{"plain by default", []string{"-addr", "h:1"}, false, false},
		{"-tls resumes", []string{"-addr", "h:1", "-tls"}, true, true},
		{"-tls-ca implies -tls", []string{"-addr", "h:1", "-tls-ca", ca}, true, true},
		{"-tls-resume=false", []string{"-addr", "h:1", "-tls", "-tls-resume=false"}, true, false},
		{"handshake storm: full handshakes", []string{"-addr", "h:1", "-tls", "-profile", ProfileHandshake}, true, false},
		{"handshake storm resuming", []string{"-addr", "h:1", "-tls", "-profile", ProfileHandshake, "-tls-resume"}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var errOut bytes.Buffer
			m, code := parseFlags(tt.args, &errOut)
			if m == nil {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if got := m.cfg.TLS != nil; got != tt.tls {
				t.Fatalf("TLS %v, want %v", got, tt.tls)
			}
			if tt.tls && m.cfg.TLS.Resume != tt.resume {
				t.Errorf("resume %v, want %v", m.cfg.TLS.Resume, tt.resume)
			}
		})
	}
}

func TestHandshakeStormDefaults(t *testing.T) {
	m, _ := parseFlags([]string{"-addr", "h:1", "-tls", "-profile", ProfileHandshake}, &bytes.Buffer{})
	if m == nil {
		t.Fatal("refused")
	}
	if c := m.cfg; c.Sessions != 1000 || c.Ramp != 0 || c.Rate != 0 || c.Validate() != nil {
		t.Errorf("sessions %d ramp %v rate %v: %v", c.Sessions, c.Ramp, c.Rate, c.Validate())
	}
}

func TestTLSFlagsRefused(t *testing.T) {
	ca := writeCA(t)
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644)
	for _, tt := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"-spawn-server", "bin/chat-server", "-tls-ca", ca}, ExitUsage, "-tls-ca is for a server of your own"},
		{[]string{"-addr", "h:1", "-tls-resume=false"}, ExitUsage, "-tls-resume needs -tls"},
		{[]string{"-addr", "h:1", "-tls", "-profile", ProfileHandshake, "-rate", "5"}, ExitUsage, "-rate must be 0"},
		{[]string{"-addr", "h:1", "-tls-ca", notPEM}, ExitError, "no PEM certificate"},
		{[]string{"-addr", "h:1", "-tls-ca", filepath.Join(t.TempDir(), "missing.pem")}, ExitError, "no such file"},
	} {
		var out, errOut bytes.Buffer
		if code := Main(tt.args, nil, &out, &errOut); code != tt.code || !strings.Contains(errOut.String(), tt.says) {
			t.Errorf("%v: exit %d, %q; want exit %d saying %q", tt.args, code, errOut.String(), tt.code, tt.says)
		}
	}
}

func TestClientConfig(t *testing.T) {
	certPEM, err := os.ReadFile(writeCA(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := (&TLSOptions{CAPEM: certPEM, Resume: true}).clientConfig("127.0.0.1:7777")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "127.0.0.1" || cfg.RootCAs == nil || cfg.ClientSessionCache == nil {
		t.Errorf("server name %q, roots %v, cache %v", cfg.ServerName, cfg.RootCAs != nil, cfg.ClientSessionCache != nil)
	}
	cfg, err = (&TLSOptions{ServerName: "chat.example"}).clientConfig("10.0.0.1:7777")
	if err != nil || cfg.ServerName != "chat.example" || cfg.RootCAs != nil || cfg.ClientSessionCache != nil {
		t.Errorf("%v: server name %q, roots %v, cache %v", err, cfg.ServerName, cfg.RootCAs != nil, cfg.ClientSessionCache != nil)
	}
	if _, err := (&TLSOptions{CAPEM: []byte("junk")}).clientConfig("127.0.0.1:1"); !errors.Is(err, certs.ErrNoCertificate) {
		t.Errorf("junk certificates: %v", err)
	}
}

// The handshake storm reports the probes that overlapped the storm: one
// that began before it and ended during it counts, as does one that began
// in it and ended after.
func TestDuringTakesTheProbesThatOverlap(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	samples := []probeSample{
		{at(0), 5 * time.Millisecond},   // before
		{at(10), 15 * time.Millisecond}, // ends in it
		{at(30), time.Millisecond},      // in it
		{at(45), 20 * time.Millisecond}, // begins in it
		{at(60), time.Millisecond},      // after
	}
	got := during(samples, at(20), at(50))
	if len(got) != 3 || !got[0].at.Equal(at(10)) || !got[2].at.Equal(at(45)) {
		t.Errorf("during: %v", got)
	}
	if p := percentiles(got); p.Count != 3 || p.Max < 19 || p.Max > 21 {
		t.Errorf("percentiles: %+v", p)
	}
}
