package e2e_test

import (
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/sys/unix"

	"chat/harness"
)

var _ = Describe("The password prompt", func() {
	const prompt = "Password: "
	var (
		srv  *harness.Server
		term *harness.Terminal
	)

	// showsStars waits until the input line is the prompt and n stars with
	// the cursor right after them: what a person sees, however the client
	// moved the cursor to get there.
	showsStars := func(n int) {
		GinkgoHelper()
		Eventually(term.BeforeCursor).WithTimeout(quick).Should(Equal(prompt+strings.Repeat("*", n)),
			func() string { return "screen:\n" + term.Screen() })
		Expect(term.Line()).To(Equal(strings.TrimRight(prompt+strings.Repeat("*", n), " ")), "nothing after the cursor")
	}

	BeforeEach(func() {
		srv = startServer(map[string]string{"alice": "wonderland", "ezra": "é日x"})
		term = startClient(srv)
	})

	Context("when the user types login NAME", func() {
		BeforeEach(func() {
			send(term, "login alice")
			expect(term, prompt+`$`)
			showsStars(0)
		})

		It("turns echo off itself and shows one star per key at once [S0.8 S0.9]", func() {
			tio, err := term.Termios()
			Expect(err).NotTo(HaveOccurred())
			Expect(tio.Lflag&unix.ECHO).To(BeZero(), "the terminal echoes while the password is typed")
			for i, c := range "wonderland" {
				typeText(term, string(c))
				showsStars(i + 1)
			}
			keys(term, harness.Enter)
			expect(term, server(`welcome alice`))
			Expect(term.Contains("wonderland")).To(BeFalse(), "the password showed on the screen:\n%s", term.Output())
		})

		It("erases one star per Backspace, DEL or ^H alike [S0.9]", func() {
			typeText(term, "wonderXY")
			showsStars(8)
			keys(term, harness.Backspace)
			showsStars(7)
			keys(term, harness.CtrlH)
			showsStars(6)
			typeText(term, "land")
			showsStars(10)
			keys(term, harness.Enter)
			expect(term, server(`welcome alice`))
		})

		It("erases nothing of the prompt on Backspace with nothing typed [S0.9]", func() {
			keys(term, harness.Backspace, harness.Backspace, harness.CtrlH)
			// A later key proves the Backspaces were handled before it.
			typeText(term, "w")
			showsStars(1)
			keys(term, harness.Backspace)
			showsStars(0)
			keys(term, harness.Backspace)
			typeText(term, "wonderland")
			showsStars(10)
			Expect(term.Screen()).To(ContainSubstring("> login alice\n"+prompt+"**********"), "the prompt line was damaged")
			keys(term, harness.Enter)
			expect(term, server(`welcome alice`))
		})

		It("clears the whole password on Ctrl-U [S0.9]", func() {
			typeText(term, "wrong guess")
			showsStars(11)
			keys(term, harness.CtrlU)
			showsStars(0)
			typeText(term, "wonderland")
			showsStars(10)
			keys(term, harness.Enter)
			expect(term, server(`welcome alice`))
		})

		It("cancels the login on Ctrl-D [S0.9]", func() {
			typeText(term, "wonder")
			showsStars(6)
			keys(term, harness.CtrlD)
			expectWithin(term, client(`login cancelled`), quick)
			send(term, "who")
			expect(term, server(`please log in first`))
		})

		It("exits on Ctrl-C with the terminal restored [S0.9]", func() {
			typeText(term, "wonder")
			showsStars(6)
			keys(term, harness.CtrlC)
			code, err := term.Wait(quick)
			Expect(err).NotTo(HaveOccurred())
			Expect(code).NotTo(BeZero())
			tio, err := term.Termios()
			Expect(err).NotTo(HaveOccurred())
			Expect(tio.Lflag&(unix.ECHO|unix.ICANON)).To(Equal(uint32(unix.ECHO|unix.ICANON)), "echo and line mode were not restored")
		})

		It("refuses a wrong password [S0.14 S0.17]", func() {
			send(term, "wonderwall")
			expect(term, server(`login failed: wrong name or password`))
			Expect(term.Contains("wonderwall")).To(BeFalse(), "the password showed on the screen")
			send(term, "who")
			expect(term, server(`please log in first`))
		})
	})

	Context("when the password has multi-byte characters", func() {
		It("shows one star per character, however many bytes [S0.9]", func() {
			send(term, "login ezra")
			expect(term, prompt+`$`)
			typeText(term, "é")
			showsStars(1)
			// 日 in two writes: the client must wait for the whole character.
			typeText(term, "\xe6")
			typeText(term, "\x97\xa5")
			typeText(term, "x")
			showsStars(3)
			keys(term, harness.Enter)
			expect(term, server(`welcome ezra`))
		})
	})

	Context("when standard input is not a terminal", func() {
		It("reads the password as the next line, without prompting [S0.8 S0.9]", func() {
			cmd := exec.Command(filepath.Join(binDir(), harness.ClientBinary), srv.Addr)
			cmd.Stdin = strings.NewReader("login alice\nwonderland\nwho\nlogout\n")
			out := runWithin(cmd, deadline)
			Expect(out).To(MatchRegexp(server(`welcome alice`)))
			Expect(out).To(MatchRegexp(server(`1 users? connected`)))
			Expect(out).NotTo(ContainSubstring("wonderland"))
			Expect(out).NotTo(ContainSubstring("*"+"*"), "stars on a pipe")
			Expect(out).NotTo(ContainSubstring("Password:"), "a prompt on a pipe")
			Expect(out).NotTo(MatchRegexp(`(?m)^> `), "an input prompt on a pipe")
			Expect(out).NotTo(ContainSubstring("\x1b"), "escape sequences on a pipe")
		})
	})
})
