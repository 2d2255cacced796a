package irc

// A handler applies one command whose shared checks (commandTable.dispatch)
// have passed, appending its direct answers to dst.
type handler func(s *Session, dst []byte, m *message) []byte

// command is an entry of the command table.
type command struct {
	handler handler
	// minParams is how many parameters the command needs. The last of
	// them may not be empty (a trailing ":") unless emptyLast is set.
	minParams int
	emptyLast bool
	// tooFew answers a line with fewer parameters than minParams, where
	// the command's answer is not 461 (nil: 461).
	tooFew handler
	// usablePreReg lets the command in before registration completes;
	// any other command is answered 451 until then.
	usablePreReg bool
	// registration marks a command that only registration takes: once
	// registration has begun it is answered 462, whatever its parameters.
	registration bool
}

// commands holds every command a client may send. A command not in it is
// answered 421 once registered, and 451 before.
var commands = map[string]command{
	"AUTHENTICATE": {handler: authenticateHandler, minParams: 1, usablePreReg: true},
	"AWAY":         {handler: awayHandler},
	"CAP":          {handler: capHandler, minParams: 1, emptyLast: true, usablePreReg: true},
	"CHATHISTORY":  {handler: chathistoryHandler, minParams: 1},
	"INFO":         {handler: infoHandler},
	"INVITE":       {handler: inviteHandler, minParams: 2},
	"ISON":         {handler: isonHandler, minParams: 1},
	"JOIN":         {handler: joinHandler, minParams: 1},
	"KILL":         {handler: killHandler, minParams: 1},
	"KICK":         {handler: kickHandler, minParams: 2},
	"LIST":         {handler: listHandler},
	"LUSERS":       {handler: lusersHandler},
	"MODE":         {handler: modeHandler, minParams: 1},
	"MOTD":         {handler: motdHandler},
	"NAMES":        {handler: namesHandler},
	"NICK":         {handler: nickHandler, minParams: 1, tooFew: noNicknameGiven, usablePreReg: true},
	"NOTICE":       {handler: noticeHandler, minParams: 2, tooFew: noRecipientOrText},
	"OPER":         {handler: operHandler, minParams: 2},
	"PART":         {handler: partHandler, minParams: 1},
	"PASS":         {handler: passHandler, minParams: 1, usablePreReg: true, registration: true},
	"PING":         {handler: pingHandler, minParams: 1, emptyLast: true, tooFew: noOrigin, usablePreReg: true},
	"PONG":         {handler: pongHandler, usablePreReg: true},
	"PRIVMSG":      {handler: privmsgHandler, minParams: 2, tooFew: noRecipientOrText},
	"QUIT":         {handler: quitHandler, usablePreReg: true},
	"TAGMSG":       {handler: tagmsgHandler, minParams: 1},
	"TIME":         {handler: timeHandler},
	"TOPIC":        {handler: topicHandler, minParams: 1},
	"USER":         {handler: userHandler, minParams: 4, emptyLast: true, usablePreReg: true, registration: true},
	"USERHOST":     {handler: userhostHandler, minParams: 1},
	"VERSION":      {handler: versionHandler},
	"WHO":          {handler: whoHandler},
	"WHOIS":        {handler: whoisHandler},
	"WHOWAS":       {handler: whowasHandler, minParams: 1},
}

// dispatch handles one line from the client: the checks every command
// shares, in this order (the order decides which numeric a line that
// fails several gets), then the command's handler.
func (s *Session) dispatch(dst []byte, line []byte) []byte {
	m, ok := parseLine(line)
	if !ok {
		return dst
	}
	cmd, known := commands[m.Command]
	if (!known || !cmd.usablePreReg) && s.state != registered {
		return s.numeric(dst, errNotRegistered, "You have not registered")
	}
	switch {
	case !known:
		return s.numeric(dst, errUnknownCommand, m.Command, "Unknown command")
	case cmd.registration && s.state != unregistered:
		return s.numeric(dst, errAlreadyRegistered, "You may not reregister")
	case !cmd.enough(m.Params):
		if cmd.tooFew != nil {
			return cmd.tooFew(s, dst, &m)
		}
		return s.numeric(dst, errNeedMoreParams, m.Command, "Not enough parameters")
	}
	return cmd.handler(s, dst, &m)
}

// enough reports whether p holds the parameters the command needs. Only
// the last parameter of a line can be empty, so only the last needed one
// is checked.
func (c *command) enough(p []string) bool {
	if len(p) < c.minParams {
		return false
	}
	return c.minParams == 0 || c.emptyLast || p[c.minParams-1] != ""
}

// noNicknameGiven is NICK's answer to a missing nick.
func noNicknameGiven(s *Session, dst []byte, _ *message) []byte {
	return s.numeric(dst, errNoNicknameGiven, "No nickname given")
}

// noOrigin is PING's answer to a missing token (RFC 2812 3.7.2); an empty
// one is echoed like any other.
func noOrigin(s *Session, dst []byte, _ *message) []byte {
	return s.numeric(dst, errNoOrigin, "No origin specified")
}

// noRecipientOrText is PRIVMSG's answer to a missing target or text;
// NOTICE is never answered with an error (RFC 2812 3.3.2).
func noRecipientOrText(s *Session, dst []byte, m *message) []byte {
	switch {
	case m.Command == "NOTICE":
		return dst
	case len(m.Params) == 0 || m.Params[0] == "":
		return s.numeric(dst, errNoRecipient, "No recipient given ("+m.Command+")")
	}
	return s.numeric(dst, errNoTextToSend, "No text to send")
}
