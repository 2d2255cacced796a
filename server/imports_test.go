package server

import (
	"os/exec"
	"strings"
	"testing"
)

// TestPurePackagesImportOnlyWire keeps the hub and the IRC codec pure:
// besides the standard library they may import the wire package and
// nothing else, so no system call, socket or clock can creep in through
// another package (docs/DESIGN.md, "The map").
func TestPurePackagesImportOnlyWire(t *testing.T) {
	for _, pkg := range []string{"chat/server/hub", "chat/server/irc"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep != pkg && dep != "chat/internal/wire" {
				t.Errorf("%s depends on %s; it may import only chat/internal/wire and the standard library", pkg, dep)
			}
		}
	}
}
