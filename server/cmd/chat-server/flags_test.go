package main

import (
	"io"
	"reflect"
	"testing"

	"chat/server"
)

// TestFlagDefaultsAreTheServers: the flags start from server.DefaultConfig,
// so a server started without flags runs with the library's defaults, each
// written once where it is applied.
func TestFlagDefaultsAreTheServers(t *testing.T) {
	cfg, _, _, ok := parseServe(nil, io.Discard)
	if !ok {
		t.Fatal("no flags did not parse")
	}
	want := server.DefaultConfig()
	// Set by the command itself, not defaults of the library.
	cfg.Logf, want.Logf = nil, nil
	cfg.WriteHelpers, cfg.Poller = want.WriteHelpers, want.Poller
	// These depend on where messages are kept (-state, -store, -nats):
	// the flags leave them to New.
	want.Store, want.HistoryLen, want.HistoryBytes = "", 0, 0
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("flags' defaults:\n%+v\nserver's:\n%+v", cfg, want)
	}
	cfg, _, _, _ = parseServe([]string{"-max-rooms", "7", "-msg-burst", "3", "4242"}, io.Discard)
	if cfg.MaxRooms != 7 || cfg.MsgBurst != 3 || cfg.Addr != ":4242" {
		t.Fatalf("flags not applied: %+v", cfg)
	}
}
