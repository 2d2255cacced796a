package e2e_test

import (
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
	"chat/internal/wire"
)

// Terminal safety: a peer's message is text, never terminal control. The
// rooms client runs on a pseudo-terminal whose screen the harness emulates;
// bob, a raw client in the same room, sends messages full of escape
// sequences and control characters, and the screen must show them as
// harmless characters (the client shows a control character as '?' and a
// tab as a space) on bob's own message line, with nothing moved, cleared or
// faked.
var _ = Describe("Terminal safety", func() {
	var (
		alice *harness.Terminal
		bob   *harness.RawClient
	)

	// tsSay sends text from bob and waits until alice's client shows it as
	// shown.
	tsSay := func(text, shown string) {
		GinkgoHelper()
		r, err := bob.Call(&wire.Frame{Type: wire.TypeSay, Text: text}, deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Code).To(Equal(wire.OK), r.Text)
		expect(alice, `bob `+ts+` `+regexp.QuoteMeta(shown)+`\n`)
	}

	// tsOnScreen: the screen has a whole line "bob HH:MM:SS shown".
	tsOnScreen := func(shown string) {
		GinkgoHelper()
		Expect(alice.Screen()).To(MatchRegexp(`(?m)^bob `+ts+` `+regexp.QuoteMeta(shown)+`$`),
			"%q is not a line of its own on the screen", shown)
	}

	BeforeEach(func() {
		srv := startServer(accounts)
		alice = loginClient(srv, "alice")
		createRoom(alice, "lounge")
		bob = dialRaw(srv)
		Expect(bob.Hello(deadline)).To(Succeed())
		Expect(bob.Login("bob", accounts["bob"], deadline)).To(Succeed())
		Expect(bob.Enter("lounge", false, deadline)).To(Succeed())
		expect(alice, server(`bob entered lounge`))
		tsSay("before the attack", "before the attack")
	})

	It("shows escape sequences and control characters in a message as text [S0.5 S0.19]", func() {
		attacks := []struct{ text, shown string }{
			{"\x1b[2J\x1b[Hwiped", "?[2J?[Hwiped"},       // clear the screen, cursor home
			{"\x1b[31mred\x1b[0m", "?[31mred?[0m"},       // colours
			{"\x1b]0;pwned\x07title", "?]0;pwned?title"}, // OSC: the window title
			{"\x1b[1A\x1b[2Kup", "?[1A?[2Kup"},           // cursor up, erase that line
			{"\u009b2J\u009dc1", "?2J?c1"},               // C1 CSI and OSC
			{"abc\b\b\bXYZ", "abc???XYZ"},                // backspaces over text
			{"one\ntwo", "one?two"},                      // a second line
			{"a\tb", "a b"},                              // a tab is a space
			{"\r* 12:00:00 the server is shutting down", "?* 12:00:00 the server is shutting down"}, // a fake server line
		}
		for _, a := range attacks {
			tsSay(a.text, a.shown)
		}
		tsSay("after the attack", "after the attack")

		screen := alice.Screen()
		GinkgoWriter.Printf("alice's screen:\n%s\n", screen)
		// Nothing was cleared or overwritten: the earlier lines are there,
		// and each attack is a line of its own, prefixed by bob's name.
		Expect(screen).To(ContainSubstring("you entered lounge"))
		tsOnScreen("before the attack")
		for _, a := range attacks {
			tsOnScreen(a.shown)
		}
		tsOnScreen("after the attack")
		// The fake server line appears only inside bob's message.
		Expect(screen).NotTo(MatchRegexp(`(?m)^\* 12:00:00`))
		Expect(screen).NotTo(MatchRegexp(`(?m)^(wiped|red|title|up|XYZ|two)$`))
		// The cursor is on the input line, at the prompt, and typing works.
		Expect(alice.BeforeCursor()).To(Equal("> "))
		typeText(alice, "still mine")
		Eventually(alice.BeforeCursor).WithTimeout(quick).Should(Equal("> still mine"))
		Expect(strings.Count(alice.Screen(), "still mine")).To(Equal(1))
	})

	It("does not pass bidirectional overrides to the terminal [S0.5]", func() {
		// U+202E RIGHT-TO-LEFT OVERRIDE makes a terminal that implements
		// bidi show what follows reversed: "evil\u202etxt.exe" reads as
		// "evilexe.txt". The text around it must still show, the override
		// must not reach the terminal.
		const text = "evil\u202etxt.exe\u202c and \u2066isolate\u2069"
		r, err := bob.Call(&wire.Frame{Type: wire.TypeSay, Text: text}, deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Code).To(Equal(wire.OK), r.Text)
		m := expect(alice, `bob `+ts+` (evil[^\n]*isolate[^\n]*)\n`)
		for _, c := range []string{"\u202e", "\u202c", "\u2066", "\u2069"} {
			Expect(m[1]).NotTo(ContainSubstring(c), "%U reached the terminal: %q", []rune(c)[0], m[1])
		}
	})
})
