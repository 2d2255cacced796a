package e2e_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"github.com/onsi/gomega/gbytes"

	"chat/harness"
	"chat/internal/wire"
)

// A guests-only server in one command: chat-server -guests with no users
// file. The harness's StartServer always writes a users file, so the spec
// starts the binary itself.
var _ = Describe("A guests-only server", func() {
	var (
		addr, users    string
		stdout, stderr *gbytes.Buffer
	)

	BeforeEach(func() {
		dir := GinkgoT().TempDir()
		users = filepath.Join(dir, "users.db")
		cmd := exec.Command(filepath.Join(binDir(), harness.ServerBinary), "-guests", "-addr", "127.0.0.1:0", "-users", users)
		cmd.Dir = dir
		// Its own process group, as StartServer's, so ^C at the runner
		// reaches it through the cleanup only.
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		stdout, stderr = gbytes.NewBuffer(), gbytes.NewBuffer()
		cmd.Stdout, cmd.Stderr = stdout, stderr
		Expect(cmd.Start()).To(Succeed())
		DeferCleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if CurrentSpecReport().Failed() {
				AddReportEntry("server output", "stdout:\n"+string(stdout.Contents())+"\nstderr:\n"+string(stderr.Contents()))
			}
		})
		Eventually(stdout).WithTimeout(deadline).Should(gbytes.Say(harness.ReadyPattern))
		addr = regexp.MustCompile(harness.ReadyPattern).FindStringSubmatch(string(stdout.Contents()))[1]
	})

	It("starts with no users file, saying so, and names-mode guests talk; a login is refused until useradd makes the account [I15.7]", func() {
		Eventually(stderr).WithTimeout(deadline).Should(gbytes.Say(regexp.QuoteMeta(
			"no users file " + users + ": no accounts are registered; guests only (create one with: chat-server useradd -users " + users + " NAME")))

		a := startModeClient(addr, "names")
		b := startModeClient(addr, "names")
		send(a, "NAME A")
		expect(a, `\ANAME A\nHELLO A\n`)
		send(b, "NAME B")
		expect(b, `\ANAME B\nHELLO B\n`)
		send(a, "MSG B no accounts needed")
		expect(b, `A SENT no accounts needed\n`)

		c := dialRawAt(addr)
		Expect(c.Hello(deadline)).To(Succeed())
		r, err := c.Call(&wire.Frame{Type: wire.TypeLogin, Name: "alice", Secret: "wonderland"}, deadline)
		Expect(err).NotTo(HaveOccurred())
		Expect(r.Code).To(Equal(wire.ErrBadLogin))
		Expect(r.Text).To(Equal("login failed: wrong name or password"), "the words an unknown name gets")

		Expect(harness.WriteUsers(binDir(), users, map[string]string{"alice": "wonderland"})).To(Succeed())
		c = dialRawAt(addr)
		Expect(c.Hello(deadline)).To(Succeed())
		Expect(c.Login("alice", "wonderland", deadline)).To(Succeed(), "no restart needed")
	})
})
