package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"chat/internal/certs"
)

// TestServers: the argument list makes the servers' addresses. One port
// alone, and a host and a port, keep their meaning only as the whole list;
// anything else is a list of HOST:PORT, and what could be read two ways is
// refused.
func TestServers(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   []string
		scheme int // addresses with tls://
		bad    bool
	}{
		{"none: the default", nil, []string{"localhost:7777"}, 0, false},
		{"a port alone: on localhost", []string{"8000"}, []string{"localhost:8000"}, 0, false},
		{"HOST:PORT", []string{"example.org:8000"}, []string{"example.org:8000"}, 0, false},
		{"port 0", []string{"127.0.0.1:0"}, []string{"127.0.0.1:0"}, 0, false},
		{":PORT on localhost", []string{":8000"}, []string{"localhost:8000"}, 0, false},
		{"IPv6", []string{"[::1]:8000"}, []string{"[::1]:8000"}, 0, false},
		{"HOST PORT", []string{"example.org", "8000"}, []string{"example.org:8000"}, 0, false},
		{"IPv6 PORT", []string{"::1", "8000"}, []string{"[::1]:8000"}, 0, false},
		{"[IPv6] PORT", []string{"[::1]", "8000"}, []string{"[::1]:8000"}, 0, false},
		{"two servers", []string{"a.example:1", "b.example:2"}, []string{"a.example:1", "b.example:2"}, 0, false},
		{"three, one on localhost", []string{"a:1", ":2", "[::1]:3"}, []string{"a:1", "localhost:2", "[::1]:3"}, 0, false},
		{"tls://", []string{"tls://example.org:8000"}, []string{"example.org:8000"}, 1, false},
		{"TLS:// with a slash", []string{"TLS://example.org:8000/"}, []string{"example.org:8000"}, 1, false},
		{"tls:// IPv6", []string{"tls://[::1]:8000"}, []string{"[::1]:8000"}, 1, false},
		{"tls://HOST PORT", []string{"tls://example.org", "8000"}, []string{"example.org:8000"}, 1, false},
		{"tls:// alone: the default", []string{"tls://"}, []string{"localhost:7777"}, 1, false},
		{"tls:// on both", []string{"tls://a:1", "tls://b:2"}, []string{"a:1", "b:2"}, 2, false},
		{"tls:// on one of two (refused by run)", []string{"tls://a:1", "b:2"}, []string{"a:1", "b:2"}, 1, false},

		{"a host without a port", []string{"example.org"}, nil, 0, true},
		{"a port by name", []string{"example.org:http"}, nil, 0, true},
		{"HOST and a port by name", []string{"host", "port"}, nil, 0, true},
		{"a port too large", []string{"99999"}, nil, 0, true},
		{"three words", []string{"a", "1", "b"}, nil, 0, true},
		{"two ports: not HOST PORT with host 8000", []string{"8000", "8001"}, nil, 0, true},
		{"HOST:PORT and a port", []string{"a:1", "8000"}, nil, 0, true},
		{"a port and HOST:PORT", []string{"8000", "a:1"}, nil, 0, true},
		{"HOST PORT among servers", []string{"a", "1", "b:2"}, nil, 0, true},
		{"a host without a port among servers", []string{"a:1", "b"}, nil, 0, true},
		{"tls:// alone among servers", []string{"tls://", "a:1"}, nil, 0, true},
		{"tls://PORT", []string{"tls://a", "tls://8000"}, nil, 0, true},
		{"another scheme", []string{"http://example.org:8000"}, nil, 0, true},
		{"another scheme second", []string{"a:1", "ws://b:2"}, nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, scheme, err := servers(tt.args)
			if tt.bad {
				if err == nil {
					t.Fatalf("servers(%q) = %q, want an error", tt.args, got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) || scheme != tt.scheme {
				t.Errorf("servers(%q) = %q, %d, %v; want %q, %d", tt.args, got, scheme, err, tt.want, tt.scheme)
			}
		})
	}
}

func TestRunBadUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-mode", "menu", "-l", "port"},
		{"-mode", "menu", "-1", "port"},
		{"-p", "99999"},
		{"-p", "8000", "host", "8001"},
		{"-share", "/nonexistent/dir"},
		{"-mode", "nonsense"},
		{"-retry-min", "soon"},
		{"-retry-max", "0s"},
		{"a", "b", "c"},
		{"http://localhost:7777"},
		{"8000", "8001"},
		{"localhost:8000", "8001"},
		{"tls://a:1", "b:2"}, // TLS on one server, plain TCP on another
		{"-p", "8000", "host:1"},
		{"-tls-fingerprint", "SHA256:abc", "tls://localhost:7777"},
		{"-tls-ca", "/nonexistent/ca.pem", "localhost:7777"},
	} {
		if code := run(args); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	certPEM, _, err := certs.SelfSigned([]string{"localhost"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o644)
	fp := "SHA256:" + strings.Repeat("ab", 32)

	tests := []struct {
		name                   string
		on                     bool
		caFile, pin, known     string
		plain, bad             bool
		wantCA                 bool
		wantPin, wantKnownFile string
	}{
		{name: "plain", plain: true},
		{name: "-tls", on: true},
		{name: "-tls -known-servers", on: true, known: "k", wantKnownFile: "k"},
		{name: "-known-servers alone stays plain", known: "k", plain: true},
		{name: "-tls-ca implies -tls", caFile: ca, wantCA: true},
		{name: "-tls-fingerprint implies -tls", pin: fp, wantPin: fp},
		{name: "a fingerprint as openssl prints it", on: true, pin: strings.ToUpper(strings.Repeat("ab:", 31) + "ab"), wantPin: fp},
		{name: "a bad fingerprint", pin: "SHA256:abc", bad: true},
		{name: "both", caFile: ca, pin: fp, bad: true},
		{name: "a missing CA file", caFile: filepath.Join(dir, "none"), bad: true},
		{name: "a CA file without certificates", caFile: notPEM, bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := tlsConfig(tt.on, tt.caFile, tt.pin, tt.known)
			switch {
			case tt.bad:
				if err == nil {
					t.Fatalf("tlsConfig = %+v, want an error", cfg)
				}
				return
			case err != nil:
				t.Fatal(err)
			case tt.plain:
				if cfg != nil {
					t.Fatalf("tlsConfig = %+v, want plain", cfg)
				}
				return
			case cfg == nil:
				t.Fatal("tlsConfig = nil, want TLS")
			}
			if (cfg.CA != nil) != tt.wantCA || cfg.Fingerprint != tt.wantPin || cfg.KnownServers != tt.wantKnownFile {
				t.Errorf("tlsConfig = %+v", cfg)
			}
		})
	}
}
