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
