package server

import (
	"context"
	"time"

	"chat/server/auth"
)

// Resume tokens (auth.Resume): the login reply's token lets a client back
// from a lost connection, on this server or another of the cluster, log
// in again without a password check. The key is the chat's, from the
// store, so that every server takes every other's tokens; without a store
// it is this process's own, and tokens last until a restart.

// usersRecheck is how often the users file is looked at for a change
// while tokens are on: a new password or a removed account ends its
// tokens within it.
const usersRecheck = time.Second

// resumeKeyWait bounds the wait for the store's key at start: as long as
// Open waits for a cluster that is electing its leaders.
const resumeKeyWait = 30 * time.Second

// newResume makes the server's resume tokens, off when ResumeTTL is
// negative. It runs in New, once the Verifier is there.
func (s *Server) newResume() *auth.Resume {
	r := auth.NewResume(max(s.cfg.ResumeTTL, 0), s.ver.PasswordHash)
	if r.On() {
		s.ver.KeepCurrent(usersRecheck)
	}
	return r
}

// loadResumeKey takes the chat's key from the message store, making it if
// no server has. A store that cannot give it leaves this server with a key
// of its own: its tokens are then good only here, and a client whose token
// another server refuses logs in with its password, which is slower but
// not wrong.
func (s *Server) loadResumeKey() {
	if !s.tokens.On() || s.durable == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), resumeKeyWait)
	defer cancel()
	key, err := s.durable.st.ResumeKey(ctx)
	if err == nil {
		err = s.tokens.SetKey(key)
	}
	if err != nil {
		s.cfg.Logf("resume tokens: %v; this server's tokens are good only on it, until it restarts", err)
	}
}
