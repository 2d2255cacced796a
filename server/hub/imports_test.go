package hub

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHubImportsOnlyWire keeps the hub pure: besides the standard library
// it may import the wire package and nothing else, so no system call, no
// socket and no clock can creep in through another package.
func TestHubImportsOnlyWire(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	allowed := map[string]bool{"chat/server/hub": true, "chat/internal/wire": true}
	for _, pkg := range strings.Fields(string(out)) {
		if !allowed[pkg] {
			t.Errorf("the hub depends on %s; it may import only chat/internal/wire and the standard library", pkg)
		}
	}
}
