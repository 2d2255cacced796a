package loadgen

import "testing"

func TestReadyAddrTakesOnlyTheAddress(t *testing.T) {
	for _, tt := range []struct {
		line, addr string
		ok         bool
	}{
		{"chat-server: listening on 127.0.0.1:7777", "127.0.0.1:7777", true},
		{"chat-server: listening on 127.0.0.1:7777 (TLS)", "127.0.0.1:7777", true},
		{"chat-server: listening on [::1]:7777 (TLS)", "[::1]:7777", true},
		{"chat-server: TLS listening on 127.0.0.1:7778", "", false},
		{"chat-server: IRC listening on 127.0.0.1:6667", "", false},
		{"chat-server: TLS certificate SHA256:00", "", false},
		{"chat-server: listening on ", "", false},
	} {
		addr, ok := readyAddr(tt.line)
		if addr != tt.addr || ok != tt.ok {
			t.Errorf("readyAddr(%q) = %q, %v; want %q, %v", tt.line, addr, ok, tt.addr, tt.ok)
		}
	}
}

func TestIRCAddrTakesTheListenerAsked(t *testing.T) {
	for _, tt := range []struct {
		line string
		tls  bool
		addr string
		ok   bool
	}{
		{"chat-server: IRC listening on 127.0.0.1:6667", false, "127.0.0.1:6667", true},
		{"chat-server: IRC TLS listening on 127.0.0.1:6697", true, "127.0.0.1:6697", true},
		{"chat-server: IRC TLS listening on 127.0.0.1:6697", false, "", false},
		{"chat-server: IRC listening on 127.0.0.1:6667", true, "", false},
		{"chat-server: listening on 127.0.0.1:7777", false, "", false},
		{"chat-server: IRC listening on ", false, "", false},
	} {
		addr, ok := ircAddr(tt.line, tt.tls)
		if addr != tt.addr || ok != tt.ok {
			t.Errorf("ircAddr(%q, %v) = %q, %v; want %q, %v", tt.line, tt.tls, addr, ok, tt.addr, tt.ok)
		}
	}
}
