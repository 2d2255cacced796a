package client

import (
	"bytes"
	"fmt"
	"time"

	"chat/internal/term"
	"chat/internal/wire"
)

// maxLineBytes bounds a line read from a non-terminal input that has no
// newline yet: the longest message in four-byte characters, and some.
const maxLineBytes = wire.MaxTextRunes*4 + 1024

// keyboard handles bytes read from a terminal in raw mode.
func (c *Client) keyboard(data []byte) {
	c.inbuf = append(c.inbuf, data...)
	for len(c.inbuf) > 0 && !c.done {
		if c.pw != nil {
			c.passwordInput()
			continue
		}
		k, rest := term.DecodeKey(c.inbuf)
		if k.Kind == term.KeyNone {
			break // a partial key: wait for the rest
		}
		c.inbuf = rest
		c.key(k)
	}
	if len(c.inbuf) == 0 {
		c.inbuf = c.inbuf[:0:0]
	}
	c.escAt = time.Time{}
	if len(c.inbuf) > 0 && c.inbuf[0] == term.Esc && c.pw == nil {
		// The Escape key alone looks like the start of a sequence; if
		// nothing follows soon, it was just Escape (see escapeTimeout).
		c.escAt = c.now().Add(escapeWait)
	}
}

// escapeWait is how long a lone ESC waits for the rest of a sequence. A
// terminal sends a whole sequence at once; a person pressing Escape and then
// another key takes far longer.
const escapeWait = 50 * time.Millisecond

// escapeTimeout drops a lone Escape that no sequence followed, so that the
// next key is not taken as part of it.
func (c *Client) escapeTimeout() {
	c.escAt = time.Time{}
	if len(c.inbuf) > 0 && c.inbuf[0] == term.Esc {
		c.inbuf = c.inbuf[:0:0]
	}
}

// passwordInput feeds the password editor. It consumes c.inbuf up to the
// key that ends the password, or all of it.
func (c *Client) passwordInput() {
	before := c.pw.Len()
	echo, res, rest := c.pw.Feed(c.inbuf, nil)
	clear(c.inbuf[:len(c.inbuf)-len(rest)]) // typed password bytes
	c.inbuf = rest
	if c.r.Fits(passwordPrompt, make([]rune, before+bytes.Count(echo, []byte{'*'}))) {
		c.r.Echo(echo)
	} else {
		c.r.Invalidate()
	}
	switch res {
	case term.PasswordDone:
		// The line with the stars stays on the screen, as typed.
		c.drawInput()
		c.r.Newline()
		secret := c.pw.Value()
		c.pw.Wipe()
		c.pw = nil
		c.login(c.pwName, secret)
	case term.PasswordCancel:
		c.drawInput()
		c.r.Newline()
		c.pw = nil
		c.report("login cancelled")
	case term.PasswordInterrupt:
		c.drawInput()
		c.r.Newline()
		c.pw = nil
		c.interrupt()
	}
}

// key handles one key on the input line.
func (c *Client) key(k term.Key) {
	switch k.Kind {
	case term.KeyEnter:
		c.drawInput()
		c.r.Newline()
		if c.asking() {
			// An answer, not a line worth keeping in the history.
			answer := string(c.ed.Runes())
			c.ed.Reset()
			c.trustAnswer(answer)
			return
		}
		c.line(c.ed.Submit())
	case term.KeyCtrlC:
		c.drawInput()
		c.r.Newline()
		c.interrupt()
	case term.KeyCtrlD:
		if c.ed.Empty() && c.asking() {
			c.drawInput()
			c.r.Newline()
			c.trustAnswer("no")
			return
		}
		if c.ed.Empty() {
			c.r.Hide()
			c.logout()
			return
		}
		// As in readline: on a non-empty line Ctrl-D deletes forward.
		c.ed.Edit(term.Key{Kind: term.KeyDelete})
		c.r.Invalidate()
	case term.KeyCtrlL:
		c.r.Raw("\x1b[H\x1b[2J")
		c.r.Forget()
	default:
		atEnd := c.ed.Cursor() == len(c.ed.Runes())
		if !c.ed.Edit(k) {
			return
		}
		// The common case: a character typed at the end of the line is
		// echoed as itself, no redraw, at a cost that does not grow with
		// the line (a pasted or long line comes many keys to a read).
		if k.Kind == term.KeyRune && atEnd && c.r.EchoAtEnd(k.Rune) {
			return
		}
		if k.Kind != term.KeyIgnored {
			c.r.Invalidate()
		}
	}
}

// drawInput brings the input line on the screen up to date.
func (c *Client) drawInput() {
	if c.pw != nil {
		stars := []rune(string(bytes.Repeat([]byte{'*'}, c.pw.Len())))
		c.r.Draw(passwordPrompt, stars, len(stars))
		return
	}
	if c.asking() {
		c.r.Draw(trustPrompt, c.ed.Runes(), c.ed.Cursor())
		return
	}
	c.r.Draw(c.mode.Prompt(), c.ed.Runes(), c.ed.Cursor())
}

// lines takes bytes read from an input that is not a terminal. They are
// acted on by pumpLines, a line at a time.
func (c *Client) lines(data []byte) {
	c.inbuf = append(c.inbuf, data...)
}

// wantInput reports whether the loop should read more input: on a terminal
// always (Ctrl-C must work), otherwise only while no whole line is waiting,
// so that a script is read no faster than the server answers it.
func (c *Client) wantInput() bool {
	if c.stdinEOF {
		return false
	}
	if c.tty {
		return true
	}
	return bytes.IndexByte(c.inbuf, '\n') < 0 && len(c.inbuf) <= maxLineBytes
}

// acceptLine reports whether the next line of a non-terminal input may be
// acted on now. A script's lines are taken one at a time, each once the
// answer to the one before has arrived, so its output comes in the order of
// its input. While the connection is down they are queued, as typed lines
// are.
func (c *Client) acceptLine() bool {
	if c.reconnecting() {
		return len(c.queue) < maxQueue
	}
	if !c.ready() {
		return false
	}
	for _, req := range c.pending {
		if !req.auto {
			return false
		}
	}
	return true
}

// pumpLines acts on the whole lines of a non-terminal input, however the
// bytes were split across reads, while acceptLine allows.
func (c *Client) pumpLines() {
	for !c.done && len(c.inbuf) > 0 && c.acceptLine() {
		i := bytes.IndexByte(c.inbuf, '\n')
		var l []byte
		switch {
		case i >= 0:
			l, c.inbuf = c.inbuf[:i], c.inbuf[i+1:]
		case c.stdinEOF:
			// A last line without a newline is still a line.
			l, c.inbuf = c.inbuf, nil
		case len(c.inbuf) > maxLineBytes:
			c.report("an input line over " + wire.Plural(maxLineBytes, "byte", "bytes") + " was cut there")
			l, c.inbuf = c.inbuf, nil
		default:
			return
		}
		c.plainLine(string(bytes.TrimSuffix(l, []byte{'\r'})))
		clear(l) // it may have been a password
	}
	if len(c.inbuf) == 0 {
		c.inbuf = nil
	}
}

// inputEnded handles the end of a non-terminal input.
func (c *Client) inputEnded() {
	c.stdinEOF = true
	if c.state == stateBackingOff {
		c.giveUp(c.failure)
	}
}

// inputDone handles a non-terminal input that has ended and been acted on
// completely: once every request is answered, log out and exit.
func (c *Client) inputDone() {
	if c.pwLine != "" {
		c.pwLine = ""
		c.report("login cancelled: the input ended before the password")
	}
	if c.state != stateQuitting && c.conn != nil && c.idle() {
		c.logout()
	}
}

// plainLine is a line from a non-terminal input: a password if one was
// asked for, otherwise a typed line.
func (c *Client) plainLine(l string) {
	if c.pwLine != "" {
		name := c.pwLine
		c.pwLine = ""
		c.login(name, l)
		return
	}
	c.line(l)
}

// line acts on one typed line.
func (c *Client) line(l string) {
	cmd := c.mode.Parse(l)
	defer func() {
		for _, l := range cmd.Lines {
			c.r.Print(l)
		}
		if !c.tty && c.promptsReady() {
			c.promptLine()
		}
	}()
	switch cmd.Kind {
	case CmdNothing:
	case CmdSend:
		if cmd.Frame.Type == wire.TypeFetch && c.transferCount(false) >= maxReceiving {
			c.report(fmt.Sprintf("no file requested: %d files are on their way already; wait for one to finish", maxReceiving))
			break
		}
		if cmd.InRoom {
			if c.room == "" {
				c.report("not sent: you are not in a room; enter one with: enter ROOM")
				break
			}
			cmd.Frame.Room = c.room
		}
		c.submit(request{frame: cmd.Frame, view: cmd.View})
	case CmdLogin:
		if c.tty {
			c.pw = &term.PasswordEditor{}
			c.pwName = cmd.Name
		} else {
			c.pwLine = cmd.Name
		}
	case CmdLogout:
		c.logout()
	case CmdReport:
		c.report(cmd.Text)
	case CmdPrint:
		c.r.Print(cmd.Text)
	case CmdHelp:
		for _, h := range c.mode.Help() {
			c.report(h)
		}
	case CmdHistory:
		c.askHistory(cmd.History)
	}
}

// promptsReady reports whether the input line may be shown. A mode whose
// prompts ask questions (LinePrompter: menu asks the name first) asks only
// once the server has been reached, so that "! connected to ..." comes
// first and the question is not asked of a client that cannot act on it.
func (c *Client) promptsReady() bool {
	if c.asking() {
		return true
	}
	if _, ok := c.mode.(LinePrompter); ok {
		return c.everConnected
	}
	return true
}

// promptLine prints the mode's prompt as a line when it changed, on an
// input that is not a terminal, for the modes whose prompts are part of
// what they show (LinePrompter).
func (c *Client) promptLine() {
	lp, ok := c.mode.(LinePrompter)
	if !ok || !lp.PromptLine() {
		return
	}
	p := c.mode.Prompt()
	if p == c.promptShown {
		return
	}
	c.promptShown = p
	if t := trimRightSpace(p); t != "" {
		c.r.Print(t)
	}
}

// login sends a login with the password just typed.
func (c *Client) login(name, secret string) {
	if len(secret) > wire.MaxSecretBytes {
		c.report("login not sent: the password is longer than the server accepts")
		return
	}
	c.submit(request{frame: wire.Frame{Type: wire.TypeLogin, Name: name}, secret: secret})
}

// interrupt is Ctrl-C: leave at once with status 130.
func (c *Client) interrupt() {
	c.hastyLogout()
	c.exit(ExitInterrupt)
}
