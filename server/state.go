package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"chat/internal/wire"
	"chat/server/hub"
)

// StateFileName is the file in the state directory (Config.StateDir) that
// keeps the room list across restarts.
const StateFileName = "rooms.json"

// stateVersion is the format of the state file.
const stateVersion = 1

// stateFile is the state file's content:
//
//	{"version": 1, "exact": false, "rooms": [{"name": "lounge", "seq": 1065}]}
//
// exact is true only in the file a graceful shutdown writes last: each seq
// is then the room's last sequence number; otherwise it is a high-water mark
// (see hub/state.go).
type stateFile struct {
	Version int             `json:"version"`
	Exact   bool            `json:"exact"`
	Rooms   []hub.RoomState `json:"rooms"`
}

// LoadState reads the state file in dir. A missing file is an empty state
// (a first start); a file that cannot be read or parsed is an error naming
// the file, so that the server refuses to start rather than drop rooms.
func LoadState(dir string) (rooms []hub.RoomState, exact bool, err error) {
	path := filepath.Join(dir, StateFileName)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("cannot read state file %s: %w", path, unwrapPath(err))
	}
	var st stateFile
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return nil, false, fmt.Errorf("corrupt state file %s: %v (repair it, or move it away to start with no rooms)", path, err)
	}
	if dec.More() {
		return nil, false, fmt.Errorf("corrupt state file %s: data after the end (repair it, or move it away to start with no rooms)", path)
	}
	if st.Version != stateVersion {
		return nil, false, fmt.Errorf("state file %s has version %d; this server reads version %d", path, st.Version, stateVersion)
	}
	return st.Rooms, st.Exact, nil
}

// unwrapPath drops the *fs.PathError wrapper, whose text repeats the path.
func unwrapPath(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// SaveState writes the state file in dir atomically: a temporary file in
// the same directory, written and fsynced, renamed over the old one, and
// the directory fsynced so that the rename itself survives a power cut. A
// reader sees the old file or the new one, never a part of either.
func SaveState(dir string, rooms []hub.RoomState, exact bool) error {
	if rooms == nil {
		rooms = []hub.RoomState{}
	}
	data, err := json.MarshalIndent(stateFile{Version: stateVersion, Exact: exact, Rooms: rooms}, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	tmp, err := os.CreateTemp(dir, "."+StateFileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("save state in %s: %w", dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, StateFileName)); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	ok = true
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("save state: sync %s: %w", dir, err)
	}
	return nil
}

// stateWriter saves snapshots of the state on its own goroutine, so the
// poll loop never waits for the disk (an fsync can take tens of
// milliseconds, far longer on a busy disk). Snapshots coalesce: while one
// is being written, newer ones replace each other in a one-slot channel,
// and only the latest is written next.
type stateWriter struct {
	dir  string
	ch   chan []hub.RoomState
	done chan struct{}
	logf func(string, ...any)

	lastErr error // owned by run: a failure is logged once, not per save
}

func startStateWriter(dir string, logf func(string, ...any)) *stateWriter {
	w := &stateWriter{dir: dir, ch: make(chan []hub.RoomState, 1), done: make(chan struct{}), logf: logf}
	go w.run()
	return w
}

// save hands a snapshot to the writer without blocking. Only the loop
// goroutine calls it, so after taking out a stale snapshot the send finds
// the slot free.
func (w *stateWriter) save(rooms []hub.RoomState) {
	for {
		select {
		case w.ch <- rooms:
			return
		default:
			select {
			case <-w.ch:
			default:
			}
		}
	}
}

func (w *stateWriter) run() {
	defer close(w.done)
	for rooms := range w.ch {
		err := SaveState(w.dir, rooms, false)
		if err != nil && (w.lastErr == nil || w.lastErr.Error() != err.Error()) {
			w.logf("cannot save the room list: %v", err)
		} else if err == nil && w.lastErr != nil {
			w.logf("room list saved again")
		}
		w.lastErr = err
	}
}

// close writes what is pending and stops the writer.
func (w *stateWriter) close() {
	close(w.ch)
	<-w.done
}

// restoreState loads the state directory into the hub and starts the
// writer. It runs in New, before the loop, so its synchronous write blocks
// nobody.
func (s *Server) restoreState() error {
	dir := s.cfg.StateDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("cannot use state directory %s: %w", dir, unwrapPath(err))
	}
	rooms, exact, err := LoadState(dir)
	if err != nil {
		return err
	}
	if err := s.hub.Restore(rooms, exact); err != nil {
		return fmt.Errorf("corrupt state file %s: %v (repair it, or move it away to start with no rooms)",
			filepath.Join(dir, StateFileName), err)
	}
	// From now on the file must reserve the blocks the restored rooms
	// number from, and must no longer claim exact numbers: a crash from
	// here on leaves a file the next start reads correctly.
	if err := SaveState(dir, s.hub.RoomStates(false), false); err != nil {
		return fmt.Errorf("cannot write the state file in %s: %w", dir, err)
	}
	s.savedVer = s.hub.StateVersion()
	s.state = startStateWriter(dir, s.cfg.Logf)
	s.cfg.Logf("state in %s: %s restored", dir, wire.Plural(len(rooms), "room", "rooms"))
	return nil
}

// saveState hands the state to the writer when it changed. It costs one
// comparison per loop round; the snapshot is taken only on a change.
func (s *Server) saveState() {
	if s.durable != nil {
		s.saveToStore()
		return
	}
	if s.state != nil && s.hub.StateVersion() != s.savedVer {
		s.savedVer = s.hub.StateVersion()
		s.state.save(s.hub.RoomStates(false))
	}
}

// finishState stops the writer after the loop ended. After a graceful
// shutdown no message can come any more, so the file then records each
// room's exact last Seq: the restarted rooms continue without a gap.
func (s *Server) finishState(graceful bool) {
	if s.state == nil {
		return
	}
	s.state.close()
	s.state = nil
	if graceful {
		if err := SaveState(s.cfg.StateDir, s.hub.RoomStates(true), true); err != nil {
			s.cfg.Logf("cannot save the room list: %v", err)
		}
	}
}
