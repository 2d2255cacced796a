package tlspipe

// Gate bounds how many handshakes compute at once. A handshake holds a
// token from the moment its peer's flight is there to be read until it
// waits for the next one, which covers its key exchange and signature:
// the costly part. Set below the number of Ps (GOMAXPROCS), it leaves the
// loop one to run on however many handshakes arrive together, so that a
// storm of them queues behind the Gate rather than ahead of the sessions
// already in. A nil *Gate does not bound.
type Gate struct {
	tokens chan struct{}
}

// NewGate returns a Gate of n tokens (at least one).
func NewGate(n int) *Gate {
	return &Gate{tokens: make(chan struct{}, max(n, 1))}
}

func (g *Gate) acquire() {
	if g != nil {
		g.tokens <- struct{}{}
	}
}

func (g *Gate) release() {
	if g != nil {
		<-g.tokens
	}
}
