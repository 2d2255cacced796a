package loadgen

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Profiles name the shapes of load, one for each question asked of the
// server: memory held, latency, churn, recovery from a storm or an
// overload, logins.
const (
	ProfileIdle      = "idle"            // hold N sessions, measure memory
	ProfileRooms     = "rooms"           // many rooms of ~100
	ProfileBigroom   = "bigroom"         // one room of everyone
	ProfileChurn     = "churn"           // rooms, plus sessions that come, chat and go
	ProfileReconnect = "reconnect-storm" // every session cut at once, then back
	ProfileOverload  = "overload"        // more than the server sustains, then a recovery probe
	ProfileLogin     = "login-storm"     // every session logs in at once; a probe pings meanwhile
	ProfileHandshake = "handshake-storm" // every session connects at once; a probe pair chats meanwhile
	ProfileCrash     = "crash"           // rooms, while the server is killed (SIGKILL) and restarted on its state
	ProfileChaos     = "chaos"           // rooms over several servers on a NATS cluster, while servers, nodes and routes fail
	ProfileFailover  = "failover"        // rooms over several servers on a NATS cluster; one is killed, its sessions go elsewhere
)

// Profiles lists every profile, for usage and validation.
var Profiles = []string{ProfileIdle, ProfileRooms, ProfileBigroom, ProfileChurn, ProfileReconnect, ProfileOverload, ProfileLogin, ProfileHandshake, ProfileCrash, ProfileChaos, ProfileFailover}

// Protocols the sessions speak (-proto).
const (
	ProtoChat = "chat" // the chat protocol (docs/PROTOCOL.md)
	ProtoIRC  = "irc"  // IRC (RFC 1459/2812), to our server's IRC listener or any IRC server
)

// ircProfiles are the profiles that run over IRC: those whose sessions
// only join a channel and send to it. The others need what IRC has not:
// a reply to each message (churn), a probe pair and a login to time
// (the storms, the overload's recovery).
var ircProfiles = map[string]bool{ProfileIdle: true, ProfileRooms: true, ProfileBigroom: true}

// maxIRCSize is the longest message text over IRC: the line a server
// relays ("PRIVMSG", the channel, and the sender's nick!user@host, up to
// about 110 bytes) must stay within 512 bytes, or servers cut it.
const maxIRCSize = 300

// Login modes.
const (
	LoginGuest   = "guest"   // Claim a generated name
	LoginAccount = "account" // Login with a password from the users file
)

// Config is one run, as the flags resolved it. The parent sends it to its
// child processes as JSON, so every field is exported.
type Config struct {
	Addr     string
	Proto    string // ProtoChat (also when empty) or ProtoIRC
	Profile  string
	Sessions int           // stable sessions in the whole run (all processes)
	Rooms    int           // rooms they are spread over: session i is in room i % Rooms
	Rate     float64       // room messages per second offered by the whole run
	Duration time.Duration // measured run, after the ramp
	Ramp     time.Duration // how long opening all sessions is spread over
	// SetupInFlight bounds the sessions of each process that are between
	// their dial and their room at once (0: no bound), so a server whose
	// listen backlog is short (ngircd's is 10) is not offered more
	// connections than it has room for; the ramp then takes as long as
	// the server needs.
	SetupInFlight int
	Drain         time.Duration // longest wait for in-flight deliveries after the run
	Timeout       time.Duration // longest wait for one dial or one reply

	Login    string // LoginGuest or LoginAccount
	Names    []string
	Password string
	Prefix   string // generated user and room names start with it

	ChurnRate float64 // churn sessions started per second (whole run)
	ChurnMsgs int     // messages each churn session sends before it leaves

	Kills int // crash: times the server is killed, evenly over Duration
	// Away is the share of sessions (crash) whose connections are cut a
	// quarter of the interval before each kill, and which stay away until
	// the server is back: what was acknowledged meanwhile can reach them
	// only from the history the server kept across its death.
	Away float64

	// Servers is how many chat servers the chaos and failover profiles,
	// and idle and rooms given -servers, start on a NATS cluster; Seed
	// chooses the chaos profile's faults (chaos_schedule.go).
	Servers int
	Seed    uint64
	Faults  string // what the chaos profile does: kill, stop, partition, takeover
	// Addrs are the chat servers of a cluster run (cluster.go): stable
	// session i connects to Addrs[serverFor(i, Rooms, len(Addrs))].
	// Empty: every session connects to Addr.
	Addrs []string
	// ServerPIDs are the cluster run's servers, whose /proc stats are
	// summed in the report and shown each.
	ServerPIDs []int
	// KillAfter is when the failover profile kills a server, after the
	// start of the measured run.
	KillAfter time.Duration

	// TLS, when set, makes every connection a TLS client's.
	TLS *TLSOptions

	Size  int // message text length in bytes (at least the stamp)
	Procs int // processes sharing the sessions

	ServerPID int  // whose /proc stats to report; 0 for none
	Quiet     bool // no progress lines
}

// defaults for each profile: a flag the user gave overrides them. Zero
// Rooms means "one room per 100 sessions".
var profileDefaults = map[string]Config{
	ProfileIdle:      {Sessions: 1000, Rate: 0, Duration: 10 * time.Second},
	ProfileRooms:     {Sessions: 1000, Rate: 100, Duration: 10 * time.Second},
	ProfileBigroom:   {Sessions: 1000, Rooms: 1, Rate: 200, Duration: 10 * time.Second},
	ProfileChurn:     {Sessions: 1000, Rate: 100, Duration: 10 * time.Second, ChurnRate: 50},
	ProfileReconnect: {Sessions: 1000, Rate: 0, Duration: 5 * time.Second},
	// About twice what one room of 1000 sustains (DESIGN.md, Performance),
	// so the backlog grows for the whole run.
	ProfileOverload: {Sessions: 1000, Rooms: 1, Rate: 1000, Duration: 3 * time.Second},
	ProfileLogin:    {Sessions: 200, Rate: 0, Duration: time.Second},
	// Resumption off: a storm of new clients makes full handshakes.
	ProfileHandshake: {Sessions: 1000, Rate: 0, Duration: time.Second},
	// Registered accounts, whose logins after each kill are real password
	// checks (some 60 a second on two cores): 200 are back within about
	// 3 to 5 s, a kill every 6 s.
	ProfileCrash: {Sessions: 200, Rate: 100, Duration: 24 * time.Second, Login: LoginAccount},
	// Rooms of ten with members on each of three servers, half a message
	// a second each: the faults are the load.
	ProfileChaos: {Sessions: 60, Rooms: 6, Rate: 30, Duration: time.Minute, Login: LoginAccount},
	// 5,000 sessions a server on three, in rooms of 100 at 10,000
	// deliveries/s; account logins, as the chat client's after a loss.
	ProfileFailover: {Sessions: 15000, Rate: 100, Duration: time.Minute, Login: LoginAccount},
}

// roomsFor is the default room count: rooms of about 100.
func roomsFor(sessions int) int { return max(1, (sessions+50)/100) }

// Validate checks the configuration of a run.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, ok := profileDefaults[c.Profile]; !ok {
		bad("unknown profile %q: use one of %s", c.Profile, strings.Join(Profiles, ", "))
	}
	if c.Addr == "" {
		bad("no server address: give -addr HOST:PORT or -spawn-server PATH")
	}
	switch c.Proto {
	case "", ProtoChat:
	case ProtoIRC:
		if _, known := profileDefaults[c.Profile]; known && !ircProfiles[c.Profile] {
			bad("-proto irc runs the idle, rooms and bigroom profiles, not %s: its sessions need replies or probes the chat protocol has and IRC has not", c.Profile)
		}
		if c.Login != LoginGuest {
			bad("-proto irc registers with NICK alone: use -login guest (a server of ours needs -guests)")
		}
		if c.Size > maxIRCSize {
			bad("-size must be at most %d with -proto irc, so a relayed line stays within IRC's 512 bytes", maxIRCSize)
		}
	default:
		bad("unknown -proto %q: use chat or irc", c.Proto)
	}
	if c.Sessions < 1 {
		bad("-sessions must be at least 1")
	}
	if c.Rooms < 1 || c.Rooms > c.Sessions {
		bad("-rooms must be from 1 to the number of sessions (%d), not %d", c.Sessions, c.Rooms)
	}
	if c.Rate < 0 || c.ChurnRate < 0 {
		bad("-rate and -churn-rate cannot be negative")
	}
	if c.Profile == ProfileReconnect && c.Rate > 0 {
		bad("-rate must be 0 for %s: membership changes during the storm, so deliveries cannot be checked", ProfileReconnect)
	}
	if (c.Profile == ProfileLogin || c.Profile == ProfileHandshake) && c.Rate > 0 {
		bad("-rate must be 0 for %s: the storm is the load", c.Profile)
	}
	if c.Profile == ProfileCrash {
		if c.Rate <= 0 {
			bad("-rate must be positive for %s: the messages are what it checks", ProfileCrash)
		}
		if c.Kills < 0 {
			bad("-kills cannot be negative")
		}
		if c.Away < 0 || c.Away > 1 {
			bad("-away is a share of the sessions, from 0 to 1")
		}
		if c.Procs != 1 {
			bad("%s runs in one process (-procs 1), whose checker sees every session: use fewer sessions than its descriptor limit", ProfileCrash)
		}
	}
	if c.Profile == ProfileChaos {
		c.validateChaos(bad)
	}
	if c.Profile == ProfileFailover {
		c.validateFailover(bad)
	}
	if len(c.Addrs) > 0 {
		if c.Profile != ProfileIdle && c.Profile != ProfileRooms {
			bad("a run over several servers (-servers) is the idle or the rooms profile, not %s", c.Profile)
		}
		if c.Proto == ProtoIRC || c.TLS != nil {
			bad("-servers runs over the chat protocol without TLS")
		}
	}
	if c.Profile == ProfileOverload && c.Drain < 2*time.Second {
		bad("-drain must be at least 2s for %s: the recovery probes run in it", ProfileOverload)
	}
	if c.Duration <= 0 || c.Timeout <= 0 {
		bad("-duration and -timeout must be positive")
	}
	if c.SetupInFlight < 0 {
		bad("-setup-in-flight cannot be negative")
	}
	if c.Ramp < 0 || c.Drain < 0 {
		bad("-ramp and -drain cannot be negative")
	}
	switch c.Login {
	case LoginGuest:
	case LoginAccount:
		if c.Password == "" {
			bad("-login account needs -password")
		}
		if len(c.Names) < c.Sessions+c.probeAccounts() {
			bad("-login account needs %d account names, the users file has %d (write one with -make-users)", c.Sessions+c.probeAccounts(), len(c.Names))
		}
	default:
		bad("unknown -login %q: use guest or account", c.Login)
	}
	if c.Procs < 1 {
		bad("-procs must be at least 1")
	}
	if len(c.Prefix) == 0 || len(c.Prefix) > 8 {
		bad("-prefix must be 1 to 8 characters, so generated names stay within %d", 20)
	}
	return errors.Join(errs...)
}

// validateOverServers checks what the chaos and failover profiles both
// need, whose sessions move from server to server: messages to check, a
// second server, account logins, no TLS. serversWhy and loginWhy end the
// refusals of too few servers and of guests with the profile's reason.
func (c *Config) validateOverServers(bad func(string, ...any), serversWhy, loginWhy string) {
	if c.Rate <= 0 {
		bad("-rate must be positive for %s: the messages are what it checks", c.Profile)
	}
	if c.Servers < 2 {
		bad("-servers must be at least 2 for %s: %s", c.Profile, serversWhy)
	}
	if c.Login != LoginAccount {
		bad("%s logs its sessions in to accounts (-login account)%s", c.Profile, loginWhy)
	}
	if c.TLS != nil {
		bad("%s runs without TLS", c.Profile)
	}
}

// validateChaos checks what the chaos profile needs.
func (c *Config) validateChaos(bad func(string, ...any)) {
	c.validateOverServers(bad, "a session fails over to another server",
		": a login elsewhere takes a session over, a guest's claim is refused")
	if c.Procs != 1 {
		bad("%s runs in one process (-procs 1), whose checker sees every session: use fewer sessions than its descriptor limit", ProfileChaos)
	}
	if _, _, err := parseFaults(c.Faults); err != nil {
		bad("%v", err)
	}
}

// addrFor is the address stable session id connects to: its server's in
// a cluster run, Addr otherwise.
func (c *Config) addrFor(id uint32) string {
	if len(c.Addrs) == 0 {
		return c.Addr
	}
	return c.Addrs[serverFor(id, c.Rooms, len(c.Addrs))]
}

// userName is the name of stable session i or, with churn set, of churn
// session i.
func (c *Config) userName(i uint32, churn bool) string {
	if c.Login == LoginAccount {
		k := int(i)
		if churn {
			k += c.Sessions
		}
		if k < len(c.Names) {
			return c.Names[k]
		}
		// Not enough accounts: a name the server refuses, counted as a
		// login error rather than a takeover of another session.
		return fmt.Sprintf("%snoacct%d", c.Prefix, k)
	}
	if churn {
		return fmt.Sprintf("%sc%04d", c.Prefix, i)
	}
	return fmt.Sprintf("%s%04d", c.Prefix, i)
}

// roomName is the name of room r.
func (c *Config) roomName(r uint32) string {
	return fmt.Sprintf("%sroom%d", c.Prefix, r)
}

// churnTotal is how many churn sessions the whole run starts.
func (c *Config) churnTotal() int {
	if c.Profile != ProfileChurn || c.ChurnRate <= 0 {
		return 0
	}
	return int(c.ChurnRate * c.Duration.Seconds())
}

// hasProbes reports whether the profile measures the server with a probe
// pair apart from the load.
func (c *Config) hasProbes() bool {
	return c.Profile == ProfileOverload || c.Profile == ProfileLogin || c.Profile == ProfileHandshake
}

// probeAccounts is how many accounts the probe sessions use after the
// stable sessions' (account logins only): the chaos profile's observers
// use one on each server.
func (c *Config) probeAccounts() int {
	switch {
	case c.hasProbes():
		return 2
	case c.Profile == ProfileChaos:
		return c.Servers
	}
	return 0
}

// probeName is the name of probe session k (0 or 1).
func (c *Config) probeName(k int) string {
	if c.Login == LoginAccount {
		if i := c.Sessions + c.churnTotal() + k; i < len(c.Names) {
			return c.Names[i]
		}
	}
	return fmt.Sprintf("%sprobe%d", c.Prefix, k)
}
