package e2e_test

import (
	"os"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"chat/harness"
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Chat end-to-end suite")
}

// The binaries are built once, on the first parallel process, and every
// process finds them through CHAT_BIN_DIR.
var _ = SynchronizedBeforeSuite(func() []byte {
	dir, err := harness.Binaries()
	Expect(err).NotTo(HaveOccurred())
	return []byte(dir)
}, func(dir []byte) {
	Expect(os.Setenv(harness.BinDirEnv, string(dir))).To(Succeed())
})

// Process 1 built the binaries; it removes them once every process is done.
var _ = SynchronizedAfterSuite(func() {}, func() {
	Expect(harness.RemoveBuilt()).To(Succeed())
})
