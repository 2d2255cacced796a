package irc

import (
	"strings"

	"chat/internal/wire"
)

// The channel commands. A channel is a room: "#lounge" is the room
// "lounge". The hub keeps the channels' state and rules (members,
// operators, topics, modes); these handlers only turn IRC's syntax into
// its requests, and replies.go its answers into IRC's numerics.

// channelRoom returns the room a channel parameter names, ok false if it
// names none we could have: not a channel name (it must start with '#'),
// or a room name the naming rules do not allow.
func channelRoom(ch string) (string, bool) {
	if len(ch) < 2 || ch[0] != '#' || wire.ValidName(ch[1:]) != nil {
		return "", false
	}
	return ch[1:], true
}

// badChannel answers a JOIN of a channel parameter that names no room we
// could have: 403, or 479 for a channel name the rooms do not allow.
func (s *Session) badChannel(dst []byte, ch string) []byte {
	if len(ch) < 2 || ch[0] != '#' {
		return s.numeric(dst, errNoSuchChannel, ch, "No such channel")
	}
	return s.numeric(dst, errBadChanName, ch, "Illegal channel name: "+wire.BadNameText("room", ch[1:]))
}

// JOIN <channel>{,<channel>} [<key>{,<key>}] / JOIN 0
//
// A channel that does not exist yet is created, its creator its operator.
func joinHandler(s *Session, dst []byte, m *message) []byte {
	list := m.Params[0]
	if list == "0" {
		if len(s.joined) > 0 {
			s.request(kindPartAll, "", false, wire.Frame{Type: wire.TypeLeave})
		}
		return dst
	}
	var keys []string
	if len(m.Params) > 1 {
		keys = strings.Split(m.Params[1], ",")
	}
	for i, ch := range strings.Split(list, ",") {
		room, ok := channelRoom(ch)
		if !ok {
			dst = s.badChannel(dst, ch)
			continue
		}
		key := ""
		if i < len(keys) {
			key = keys[i]
		}
		s.request(kindJoin, ch, false, wire.Frame{Type: wire.TypeJoin, Room: room, Secret: key})
	}
	return dst
}

// PART <channel>{,<channel>} [<message>]
func partHandler(s *Session, dst []byte, m *message) []byte {
	words := ""
	if len(m.Params) > 1 {
		words = decodeText(m.Params[1])
	}
	for _, ch := range strings.Split(m.Params[0], ",") {
		room, ok := channelRoom(ch)
		if !ok {
			dst = s.numeric(dst, errNoSuchChannel, ch, "No such channel")
			continue
		}
		s.request(kindPart, ch, false, wire.Frame{Type: wire.TypeLeave, Room: room, Text: words}).words = words
	}
	return dst
}

// TOPIC <channel> [<topic>]
//
// An empty topic clears it.
func topicHandler(s *Session, dst []byte, m *message) []byte {
	ch := m.Params[0]
	room, ok := channelRoom(ch)
	if !ok {
		return s.numeric(dst, errNoSuchChannel, ch, "No such channel")
	}
	if len(m.Params) > 1 {
		// The TOPIC line comes with the hub's notice to the channel.
		s.request(kindTopicSet, ch, false, wire.Frame{Type: wire.TypeTopic, Room: room, Code: wire.TopicSet, Text: decodeText(m.Params[1])})
		return dst
	}
	s.request(kindTopic, ch, false, wire.Frame{Type: wire.TypeTopic, Room: room})
	return dst
}

// KICK <channel>{,<channel>} <user>{,<user>} [<comment>]
//
// One channel and several users, or as many channels as users, in pairs
// (RFC 2812 3.2.8).
func kickHandler(s *Session, dst []byte, m *message) []byte {
	chans, nicks := strings.Split(m.Params[0], ","), strings.Split(m.Params[1], ",")
	if len(chans) != 1 && len(chans) != len(nicks) {
		return s.numeric(dst, errNeedMoreParams, "KICK", "Give one channel, or one channel for each user")
	}
	reason := ""
	if len(m.Params) > 2 {
		reason = decodeText(m.Params[2])
	}
	for i, nick := range nicks {
		ch := chans[min(i, len(chans)-1)]
		room, ok := channelRoom(ch)
		if !ok {
			dst = s.numeric(dst, errNoSuchChannel, ch, "No such channel")
			continue
		}
		s.request(kindKick, ch, false, wire.Frame{Type: wire.TypeKick, Room: room, Name: nick, Text: reason}).words = nick
	}
	return dst
}

// INVITE <nickname> <channel>
func inviteHandler(s *Session, dst []byte, m *message) []byte {
	nick, ch := m.Params[0], m.Params[1]
	room, ok := channelRoom(ch)
	if !ok {
		return s.numeric(dst, errNoSuchChannel, ch, "No such channel")
	}
	s.request(kindInvite, ch, false, wire.Frame{Type: wire.TypeInvite, Room: room, Name: nick}).words = nick
	return dst
}

// MODE <channel> [<modes> [<arguments>]] / MODE <nickname> [<modes>]
//
// Channel modes are the hub's: b, i, k, l, m, n, o, s, t, v.
func modeHandler(s *Session, dst []byte, m *message) []byte {
	p := m.Params
	if !strings.HasPrefix(p[0], "#") {
		return s.userMode(dst, p)
	}
	ch := p[0]
	room, ok := channelRoom(ch)
	if !ok {
		return s.numeric(dst, errNoSuchChannel, ch, "No such channel")
	}
	for _, arg := range p[min(len(p), 2):] {
		if arg == "" || strings.ContainsAny(arg, " ,") {
			// A key or mask cannot hold a space or a comma (nor be empty):
			// the hub takes the arguments as words.
			// The parameter is shown as "*": it may hold the spaces that
			// make it invalid, and a middle parameter cannot.
			letter := strings.Trim(p[1], "+-") + "*"
			return s.numeric(dst, errInvalidModeParam, ch, letter[:1], "*", "Invalid mode parameter: "+arg)
		}
	}
	change := strings.Join(p[1:], " ")
	k := kindMode
	if letters := strings.Trim(strings.Fields(change + " x")[0], "+-"); letters == "b" && len(p) == 2 {
		k = kindBans
	}
	s.request(k, ch, false, wire.Frame{Type: wire.TypeMode, Room: room, Mode: change}).words = change
	return dst
}

// NAMES [<channel>{,<channel>}]
//
// Without a channel: the channels the user is in.
func namesHandler(s *Session, dst []byte, m *message) []byte {
	var chans []string
	if len(m.Params) > 0 && m.Params[0] != "" {
		chans = strings.Split(m.Params[0], ",")
	} else {
		for _, r := range s.joined {
			chans = append(chans, "#"+r)
		}
		if len(chans) == 0 {
			return s.numeric(dst, rplEndOfNames, "*", "End of /NAMES list.")
		}
	}
	if len(chans) == 1 {
		room, ok := channelRoom(chans[0])
		if !ok {
			return s.numeric(dst, rplEndOfNames, chans[0], "End of /NAMES list.")
		}
		s.request(kindNames, chans[0], false, wire.Frame{Type: wire.TypeWho, Room: room}).words = chans[0]
		return dst
	}
	// Several channels: their 353s, then one 366 naming the list, as
	// modern servers answer (the words of the last request carry it).
	var last *pending
	for _, ch := range chans {
		if room, ok := channelRoom(ch); ok {
			last = s.request(kindNames, ch, false, wire.Frame{Type: wire.TypeWho, Room: room})
		}
	}
	if last == nil {
		return s.numeric(dst, rplEndOfNames, m.Params[0], "End of /NAMES list.")
	}
	last.words = m.Params[0]
	return dst
}

// LIST [<channel>{,<channel>}]
func listHandler(s *Session, dst []byte, m *message) []byte {
	only := ""
	if len(m.Params) > 0 {
		only = m.Params[0]
	}
	s.request(kindList, only, false, wire.Frame{Type: wire.TypeRooms})
	return dst
}
