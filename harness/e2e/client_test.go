package e2e_test

import (
	"net"
	"regexp"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("The client", func() {
	Context("when no server listens at the address", func() {
		It("says what failed and when it will try again [S0.6]", func() {
			// A port that was free a moment ago and has nobody listening.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			Expect(err).NotTo(HaveOccurred())
			addr := ln.Addr().String()
			Expect(ln.Close()).To(Succeed())

			term := startClientProcess(addr)
			m := expect(term, client(`cannot connect to `+regexp.QuoteMeta(addr)+`: connection refused; retrying in \S+`))
			GinkgoWriter.Printf("the client said: %s\n", m[0])
		})
	})

	Context("when the server goes away", func() {
		It("reports the lost connection and what it does next [S0.6]", func() {
			srv := startServer(accounts)
			alice := loginClient(srv, "alice")
			srv.Kill()
			m := expect(alice, client(`[^\n]*`+regexp.QuoteMeta(srv.Addr)+`[^\n]*(retry|reconnect)[^\n]*\n`))
			GinkgoWriter.Printf("the client said: %s", m[0])
		})
	})
})
