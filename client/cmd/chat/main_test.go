package main

import "testing"

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
	} {
		if code := run(args); code != 2 {
			t.Errorf("run(%q) = %d, want 2", args, code)
		}
	}
}
