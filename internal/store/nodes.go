package store

import "fmt"

// CheckNode refuses a node id that is not safe in a subject and a key
// (chat.node.<node>.takeover, the nodes bucket's key, an Owner's Node):
// only ASCII letters, digits, '-' and '_'. The store refuses the others
// at once, with this error; a server can check its own id with it before
// it starts.
func CheckNode(node string) error {
	if node == "" {
		return fmt.Errorf("store: no node id")
	}
	for _, r := range node {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return fmt.Errorf("store: node id %q has %q: only letters, digits, '-' and '_' may be in a node id", node, r)
		}
	}
	return nil
}
