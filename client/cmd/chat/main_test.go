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

func TestAddress(t *testing.T) {
	tests := []struct {
		args []string
		want string
		bad  bool
	}{
		{nil, "localhost:7777", false},
		{[]string{"8000"}, "localhost:8000", false},
		{[]string{"example.org:8000"}, "example.org:8000", false},
		{[]string{"127.0.0.1:0"}, "127.0.0.1:0", false},
		{[]string{":8000"}, "localhost:8000", false},
		{[]string{"[::1]:8000"}, "[::1]:8000", false},
		{[]string{"example.org", "8000"}, "example.org:8000", false},
		{[]string{"::1", "8000"}, "[::1]:8000", false},
		{[]string{"example.org"}, "", true},
		{[]string{"example.org:http"}, "", true},
		{[]string{"host", "port"}, "", true},
		{[]string{"99999"}, "", true},
		{[]string{"a", "1", "b"}, "", true},
	}
	for _, tt := range tests {
		got, err := address(tt.args)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("address(%q) = %q, %v; want %q, bad %v", tt.args, got, err, tt.want, tt.bad)
		}
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
		{"-tls-fingerprint", "SHA256:abc", "tls://localhost:7777"},
		{"-tls-ca", "/nonexistent/ca.pem", "localhost:7777"},
	} {
		if code := run(args); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}

func TestScheme(t *testing.T) {
	tests := []struct {
		args []string
		want []string
		tls  bool
		bad  bool
	}{
		{nil, nil, false, false},
		{[]string{"example.org:8000"}, []string{"example.org:8000"}, false, false},
		{[]string{"tls://example.org:8000"}, []string{"example.org:8000"}, true, false},
		{[]string{"TLS://example.org:8000/"}, []string{"example.org:8000"}, true, false},
		{[]string{"tls://[::1]:8000"}, []string{"[::1]:8000"}, true, false},
		{[]string{"tls://example.org", "8000"}, []string{"example.org", "8000"}, true, false},
		{[]string{"tls://"}, []string{}, true, false},
		{[]string{"http://example.org:8000"}, nil, false, true},
	}
	for _, tt := range tests {
		got, tls, err := scheme(tt.args)
		if (err != nil) != tt.bad || tls != tt.tls || !tt.bad && !slices.Equal(got, tt.want) {
			t.Errorf("scheme(%q) = %q, %v, %v; want %q, %v, bad %v", tt.args, got, tls, err, tt.want, tt.tls, tt.bad)
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
