package client

import (
	"fmt"
	"strconv"

	"chat/internal/wire"
)

// Reading a room's history (mode rooms): the history command asks for a
// page of the room's kept messages (History, HistoryBefore), and entering
// a room shows the last few said since the user was last in it (the Enter
// reply's Count). A page is shown whole when its reply comes, apart from
// live messages (PageShower).
//
// Telling a page from live messages. Every page the client asks for ends
// before a Seq it has seen: the one after the last message seen (the
// latest page), the oldest message shown (history more), or the one after
// the Seq the user entered the room at. Live messages, which the server
// sends in order of Seq, all come after it. So while a History of the
// user's is unanswered, a message of its room said before its bound is the
// page's, however the server interleaves the page with live messages (a
// server reading the page from its store sends the live ones meanwhile).
// The server sends a page's messages just before its reply, so the reply
// ends the page. The automatic History of a re-entry (resume.go) is a
// request of the client's own (request.auto), answered by replayReply;
// its messages are held by holdForResume before they get here.

// HistoryAsk is the page of history a history command asks for.
type HistoryAsk struct {
	Count int  // how many messages; 0: a screenful
	More  bool // the page before the oldest message shown, not the latest
}

// Page is a page of a room's history as a PageShower shows it.
type Page struct {
	Room string
	Msgs []wire.Frame // oldest first
	// Asked is how many messages were asked for: fewer means the server
	// keeps no older ones.
	Asked int
	// Before is the Seq the page ends before: nothing at all was said
	// before it when it is 1.
	Before uint64
	// Earlier: the page before one already shown (history more), not the
	// latest.
	Earlier bool
	// Unread is, on entering a room, how many messages were said in it
	// since the user was last in it (0: this page is not about that).
	Unread uint64
	Time   int64 // the reply's time (Unix ms)
}

// pageAsk is how to show the page a History request of the user's asks
// for (request.page).
type pageAsk struct {
	earlier bool
	unread  uint64
}

// pageState is the history the user pages through, and the page being
// received.
type pageState struct {
	room   string // the room of the pages shown
	oldest uint64 // the Seq of the oldest message shown of room (0: none)
	count  int    // how many messages the last history of room asked for
	// more counts the history more typed while a page of room was on its
	// way: each is asked for when the page before it has come, so that it
	// goes on from that page's oldest message.
	more int
	// msgs are the messages of the page being received, until its reply.
	msgs []wire.Frame
}

const (
	// pageChrome is what a page shows besides its messages, with the
	// input line below it: a screenful of messages leaves room for these.
	pageChrome = 3
	// defaultPage is a screenful when the height is unknown (the input
	// is not a terminal).
	defaultPage = 20
	// unreadShown bounds the messages shown on entering a room of those
	// said since the user was last there; history more shows the others.
	unreadShown = 5
)

// historyUsage is the usage line of the history command.
var historyUsage = fmt.Sprintf("usage: history [N] (N from 1 to %d), or history more", wire.MaxHistoryPage)

// parseHistory makes the command of a line whose first word is history
// (words are the line's words): history [N] | history more. The word is
// always the command, so a usage error never goes out as a message.
func parseHistory(words []string) Command {
	usage := Command{Kind: CmdReport, Text: historyUsage}
	switch {
	case len(words) == 1:
		return Command{Kind: CmdHistory}
	case len(words) > 2:
		return usage
	case words[1] == "more":
		return Command{Kind: CmdHistory, History: HistoryAsk{More: true}}
	}
	n, err := strconv.Atoi(words[1])
	if err != nil || n < 1 || n > wire.MaxHistoryPage {
		return usage
	}
	return Command{Kind: CmdHistory, History: HistoryAsk{Count: n}}
}

// screenful is how many messages a page shows by default: as many as fit
// the terminal with the page's first and last lines and the input line,
// within the protocol's bound of a page.
func (c *Client) screenful() int {
	if c.rows <= 0 {
		return defaultPage
	}
	return min(max(c.rows-pageChrome, 1), wire.MaxHistoryPage)
}

// askHistory asks the server for the page of the room's history the user
// asked for: the latest messages, up to the last one seen (what arrives
// meanwhile is live, not part of the page), or those before the oldest
// shown.
func (c *Client) askHistory(ask HistoryAsk) {
	if c.room == "" {
		c.report("no history to show: you are not in a room; enter one with: enter ROOM")
		return
	}
	paging := c.pages.room != "" && sameRoom(c.pages.room, c.room)
	if !paging {
		c.pages = pageState{room: c.room, msgs: c.pages.msgs}
	}
	if ask.More && c.pageOnItsWay(c.room, 0) {
		c.pages.more++
		return
	}
	n, before, earlier := ask.Count, c.lastSeq+1, false
	switch {
	case ask.More && c.pages.oldest > 0:
		n, before, earlier = c.pages.count, c.pages.oldest, true
	case !ask.More:
		c.pages.count = n
	}
	if n == 0 {
		n = c.screenful()
	}
	f := wire.Frame{Type: wire.TypeHistory, Code: wire.HistoryBefore, Room: c.room, Seq: before, Count: uint64(n)}
	c.submit(request{frame: f, page: pageAsk{earlier: earlier}})
}

// entered starts paging afresh in the room the user entered, and shows
// the last few messages said in it since the user was last there, when
// the server counted any (the Enter reply's Count). Only the user's own
// enter comes here: the automatic re-entry after a reconnection replays
// what was missed by itself (resume.go).
func (c *Client) entered(f *wire.Frame) {
	c.pages = pageState{room: c.room, msgs: c.pages.msgs}
	if _, ok := c.mode.(PageShower); !ok || f.Count == 0 || c.state != stateReady {
		return
	}
	// The page ends at the Seq the user entered at: what comes later
	// comes live.
	page := wire.Frame{Type: wire.TypeHistory, Code: wire.HistoryBefore, Room: c.room, Seq: f.Seq + 1, Count: min(f.Count, unreadShown)}
	c.transmit(request{frame: page, page: pageAsk{unread: f.Count}})
}

// takePage keeps a message of a page of history being received, to be
// shown with the page when its reply comes (see the top of this file). It
// reports whether f was the page's.
func (c *Client) takePage(f *wire.Frame) bool {
	if f.Seq == 0 || !c.pageOnItsWay(f.Room, f.Seq) {
		return false
	}
	c.pages.msgs = append(c.pages.msgs, *f)
	return true
}

// pageOnItsWay reports whether a page of room's history the user asked
// for, one that ends after seq (0: any), is unanswered.
func (c *Client) pageOnItsWay(room string, seq uint64) bool {
	for _, req := range c.pending {
		if !req.auto && req.frame.Type == wire.TypeHistory && seq < req.frame.Seq && sameRoom(req.frame.Room, room) {
			return true
		}
	}
	return false
}

// pageReply shows a page of history, complete with its reply.
func (c *Client) pageReply(f *wire.Frame, req *request) {
	msgs := c.pages.msgs
	c.pages.msgs = nil
	ps, ok := c.mode.(PageShower)
	if f.Code != wire.OK || !ok {
		c.pages.more = 0
		c.show(f, req)
		return
	}
	if len(msgs) > 0 && c.room != "" && sameRoom(req.frame.Room, c.room) {
		c.pages.room, c.pages.oldest = c.room, msgs[0].Seq
	}
	p := Page{
		Room:    textOr(f.Room, req.frame.Room),
		Msgs:    msgs,
		Asked:   int(req.frame.Count),
		Before:  req.frame.Seq,
		Earlier: req.page.earlier,
		Unread:  req.page.unread,
		Time:    f.Time,
	}
	for _, l := range ps.ShowPage(p, c.now()) {
		c.r.Print(l)
	}
	if c.pages.more > 0 && !c.pageOnItsWay(c.room, 0) {
		c.pages.more--
		c.askHistory(HistoryAsk{More: true})
	}
}
