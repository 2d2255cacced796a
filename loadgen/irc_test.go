package loadgen

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// show renders a parsed message for comparison: prefix, command, and each
// parameter in brackets.
func show(m *ircMessage) string {
	var b strings.Builder
	fmt.Fprintf(&b, "prefix=%q cmd=%q", m.prefix, m.command)
	for _, p := range m.params {
		fmt.Fprintf(&b, " [%s]", p)
	}
	return b.String()
}

func TestParseIRCLine(t *testing.T) {
	fifteen := "CMD 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16"
	tests := []struct {
		line string
		want string // "" for a line without a command
	}{
		// A delivery, as every server relays it.
		{":lg0001!~lg0001@127.0.0.1 PRIVMSG #lgroom1 :lg 1 2 3 xx",
			`prefix="lg0001!~lg0001@127.0.0.1" cmd="PRIVMSG" [#lgroom1] [lg 1 2 3 xx]`},
		{"PING :peer.loadgen", `prefix="" cmd="PING" [peer.loadgen]`},
		{"PING token", `prefix="" cmd="PING" [token]`},
		// The trailing parameter may be empty, and may hold colons.
		{"PING :", `prefix="" cmd="PING" []`},
		{":s 332 n #c :a: b :c", `prefix="s" cmd="332" [n] [#c] [a: b :c]`},
		{":s 366 lg0001 #lgroom1 :End of NAMES list", `prefix="s" cmd="366" [lg0001] [#lgroom1] [End of NAMES list]`},
		// Extra spaces between parameters are tolerated.
		{":s  001   nick  :Welcome", `prefix="s" cmd="001" [nick] [Welcome]`},
		// Message tags are skipped.
		{"@time=2024-01-01T00:00:00Z :a!b@c PRIVMSG #r :hi", `prefix="a!b@c" cmd="PRIVMSG" [#r] [hi]`},
		// The fifteenth parameter takes the rest of the line, spaces and all.
		{fifteen, `prefix="" cmd="CMD" [1] [2] [3] [4] [5] [6] [7] [8] [9] [10] [11] [12] [13] [14] [15 16]`},
		{"", ""},
		{":prefix-only", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		var m ircMessage
		ok := parseIRCLine([]byte(tt.line), &m)
		got := ""
		if ok {
			got = show(&m)
		}
		if got != tt.want {
			t.Errorf("parseIRCLine(%q)\n got %s\nwant %s", tt.line, got, tt.want)
		}
	}
}

func TestIRCMessageNumeric(t *testing.T) {
	for cmd, want := range map[string]int{"001": 1, "366": 366, "433": 433, "PRIVMSG": 0, "36": 0, "3a6": 0, "1234": 0} {
		m := ircMessage{command: []byte(cmd)}
		if got := m.numeric(); got != want {
			t.Errorf("numeric of %q = %d, want %d", cmd, got, want)
		}
	}
}

// TestLineBufferAtEveryByte feeds a stream of lines split at every byte,
// and in one piece, and checks the same lines come out: CR LF and bare LF
// endings alike, a partial line kept for the next read.
func TestLineBufferAtEveryByte(t *testing.T) {
	stream := ":a PRIVMSG #r :one\r\nPING :x\n\r\n:s 366 n #r :End\r\n"
	want := []string{":a PRIVMSG #r :one", "PING :x", "", ":s 366 n #r :End"}
	for split := 0; split <= len(stream); split++ {
		for _, chunk := range []int{1, 3, len(stream)} {
			b := lineBuffer{buf: make([]byte, 64)}
			var got []string
			feed := func(p string) {
				for len(p) > 0 {
					space, err := b.space()
					if err != nil {
						t.Fatalf("split %d: %v", split, err)
					}
					n := copy(space, p[:min(len(p), chunk)])
					b.filled(n)
					p = p[n:]
					for {
						line, ok := b.next()
						if !ok {
							break
						}
						got = append(got, string(line))
					}
				}
			}
			feed(stream[:split])
			feed(stream[split:])
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("split at %d, chunks of %d: got %q, want %q", split, chunk, got, want)
			}
		}
	}
}

func TestLineBufferRefusesALineLongerThanItself(t *testing.T) {
	b := lineBuffer{buf: make([]byte, 8)}
	space, _ := b.space()
	b.filled(copy(space, "PRIVMSG #"))
	if _, ok := b.next(); ok {
		t.Fatal("a partial line was taken as complete")
	}
	if _, err := b.space(); !errors.Is(err, errIRCLineTooLong) {
		t.Fatalf("a full buffer without a line end: %v, want errIRCLineTooLong", err)
	}
}

// TestIRCClient drives one session's state machine through the lines a
// server sends, one table row per line, and checks what it answers and
// makes of each.
func TestIRCClient(t *testing.T) {
	type step struct {
		line    string // from the server
		reply   string // what the client answers, "" for nothing
		text    string // a delivery's text
		joined  bool
		problem string
		err     string // the start of the kind of the error that ends the session
		phase   ircPhase
	}
	welcome := []step{
		{line: ":s NOTICE * :*** Looking up your hostname", phase: ircRegistering},
		{line: ":s 001 lg0001 :Welcome", reply: "JOIN #lgroom1\r\n", phase: ircJoining},
		{line: ":s 422 lg0001 :MOTD File is missing", phase: ircJoining},
		{line: ":lg0001!~lg0001@h JOIN :#lgroom1", phase: ircJoining},
		// Names of another channel do not end this join.
		{line: ":s 366 lg0001 #other :End of NAMES list", phase: ircJoining},
		{line: ":s 353 lg0001 = #lgroom1 :lg0001 lg0002", phase: ircJoining},
		{line: ":s 366 lg0001 #LGroom1 :End of NAMES list", joined: true, phase: ircJoined},
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"registers, joins, takes its channel's messages and answers pings", append(append([]step{}, welcome...),
			step{line: ":lg0002!~lg0002@h PRIVMSG #lgroom1 :lg 2 1 5 xx", text: "lg 2 1 5 xx", phase: ircJoined},
			step{line: "PING :s", reply: "PONG :s\r\n", phase: ircJoined},
			step{line: ":lg0003!~lg0003@h JOIN #lgroom1", phase: ircJoined},
			step{line: ":lg0003!~lg0003@h QUIT :bye", phase: ircJoined},
		)},
		{"counts what the run should not see", append(append([]step{}, welcome...),
			step{line: ":lg0002!~lg0002@h PRIVMSG lg0001 :psst", problem: "irc PRIVMSG not to the session's channel", phase: ircJoined},
			step{line: ":s 404 lg0001 #lgroom1 :Cannot send to channel", problem: "irc 404: Cannot send to channel", phase: ircJoined},
			step{line: ":s NOTICE lg0001 :Message refused (too fast)", problem: "irc NOTICE: Message refused", phase: ircJoined},
			step{line: ":s 422 lg0001 :MOTD File is missing", phase: ircJoined},
		)},
		{"a pong during registration", []step{
			{line: "PING :123", reply: "PONG :123\r\n", phase: ircRegistering},
			{line: ":s 001 lg0001 :Welcome", reply: "JOIN #lgroom1\r\n", phase: ircJoining},
		}},
		{"a nick in use is tried again with another", []step{
			{line: ":s 433 * lg0001 :Nickname is already in use", reply: "NICK lg0001_1\r\n", phase: ircRegistering},
			{line: ":s 433 * lg0001_1 :Nickname is already in use", reply: "NICK lg0001_2\r\n", phase: ircRegistering},
			{line: ":s 437 * lg0001_2 :Nick is temporarily unavailable", reply: "NICK lg0001_3\r\n", phase: ircRegistering},
			{line: ":s 436 * lg0001_3 :Nickname collision", reply: "NICK lg0001_4\r\n", phase: ircRegistering},
			{line: ":s 433 * lg0001_4 :Nickname is already in use", err: "irc registration refused 433", phase: ircRegistering},
		}},
		{"an erroneous nick ends the session", []step{
			{line: ":s 432 * lg0001 :Erroneous Nickname", err: "irc registration refused 432", phase: ircRegistering},
		}},
		{"a channel it may not join ends the session", []step{
			{line: ":s 001 lg0001 :Welcome", reply: "JOIN #lgroom1\r\n", phase: ircJoining},
			{line: ":s 471 lg0001 #lgroom1 :Cannot join channel (+l)", err: "irc join refused 471", phase: ircJoining},
		}},
		{"ERROR ends the session with the reason the server gives", []step{
			{line: "ERROR :Closing link: (~lg0001@127.0.0.1) [Excess Flood]", err: "irc ERROR: Excess Flood", phase: ircRegistering},
		}},
		{"ERROR in parentheses", []step{
			{line: "ERROR :Closing connection: lg0001[127.0.0.1] (Ping timeout: 20 seconds)", err: "irc ERROR: Ping timeout: 20 seconds", phase: ircRegistering},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newIRCClient("lg0001", "lgroom1")
			if got := string(c.register(nil)); got != "NICK lg0001\r\nUSER lg0001 0 * :loadgen\r\n" {
				t.Fatalf("register: %q", got)
			}
			for i, s := range tt.steps {
				var m ircMessage
				if !parseIRCLine([]byte(s.line), &m) {
					t.Fatalf("step %d: %q does not parse", i, s.line)
				}
				reply, st := c.handle(&m, nil)
				errKind := ""
				if st.err != nil {
					errKind = st.err.(*ircError).kind()
				}
				if string(reply) != s.reply || string(st.text) != s.text || st.joined != s.joined ||
					!strings.HasPrefix(st.problem, s.problem) || (s.problem == "") != (st.problem == "") ||
					!strings.HasPrefix(errKind, s.err) || (s.err == "") != (errKind == "") || c.phase != s.phase {
					t.Fatalf("step %d %q:\n got reply %q text %q joined %v problem %q err %q phase %d\nwant reply %q text %q joined %v problem %q err %q phase %d",
						i, s.line, reply, st.text, st.joined, st.problem, errKind, c.phase,
						s.reply, s.text, s.joined, s.problem, s.err, s.phase)
				}
			}
		})
	}
}

func TestValidateIRC(t *testing.T) {
	base := Config{
		Addr: "127.0.0.1:6667", Proto: ProtoIRC, Profile: ProfileRooms, Sessions: 10, Rooms: 1, Rate: 1,
		Duration: time.Second, Timeout: time.Second, Login: LoginGuest, Prefix: "lg", Size: 64, Procs: 1,
	}
	tests := []struct {
		change func(*Config)
		want   string // in the error; "" for none
	}{
		{func(*Config) {}, ""},
		{func(c *Config) { c.Profile = ProfileIdle }, ""},
		{func(c *Config) { c.Profile = ProfileBigroom }, ""},
		{func(c *Config) { c.Profile = ProfileChurn }, "-proto irc runs the idle, rooms and bigroom profiles, not churn"},
		{func(c *Config) { c.Profile, c.Rate = ProfileReconnect, 0 }, "not reconnect-storm"},
		{func(c *Config) { c.Profile, c.Drain = ProfileOverload, 2*time.Second }, "not overload"},
		{func(c *Config) { c.Profile, c.Rate = ProfileLogin, 0 }, "not login-storm"},
		{func(c *Config) { c.Profile, c.Rate = ProfileHandshake, 0 }, "not handshake-storm"},
		{func(c *Config) { c.Login, c.Password, c.Names = LoginAccount, "pw", make([]string, 10) }, "use -login guest"},
		{func(c *Config) { c.Size = maxIRCSize + 1 }, "-size must be at most 300"},
		{func(c *Config) { c.Proto = "xmpp" }, `unknown -proto "xmpp"`},
		{func(c *Config) { c.Proto = "" }, ""},
		{func(c *Config) { c.SetupInFlight = 8 }, ""},
		{func(c *Config) { c.SetupInFlight = -1 }, "-setup-in-flight cannot be negative"},
	}
	for _, tt := range tests {
		cfg := base
		tt.change(&cfg)
		err := cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s over %q: %v", cfg.Profile, cfg.Proto, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s over %q: error %v, want one saying %q", cfg.Profile, cfg.Proto, err, tt.want)
		}
	}
}
