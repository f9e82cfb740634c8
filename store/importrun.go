package store

import (
	"context"
	"time"
)

// An ImportRun is one archive being brought into an account, a few posts
// at a time by JobImport jobs through the outbox: it survives restarts,
// and what it reports is what the account page shows as progress.
type ImportRun struct {
	ID        ID             `json:"id"`
	UserID    ID             `json:"user_id"`
	Source    string         `json:"source"` // SourceInstagram or SourceAperture
	File      string         `json:"file"`   // the archive's name in the data directory's imports folder
	State     string         `json:"state"`  // ImportQueued, ImportRunning, ImportDone or ImportFailed
	Total     int            `json:"total"`  // posts in the archive, once read
	Next      int            `json:"next"`   // how many of them have been gone through
	Posts     int            `json:"posts"`  // posts made
	Photos    int            `json:"photos"`
	Skipped   map[string]int `json:"skipped,omitempty"`   // what was left out, by reason
	Suggested []string       `json:"suggested,omitempty"` // accounts here that the archive followed
	Error     string         `json:"error,omitempty"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// Import states.
const (
	ImportQueued  = "queued"
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// Finished reports whether the run has ended, well or not.
func (r *ImportRun) Finished() bool { return r.State == ImportDone || r.State == ImportFailed }

// JobImport runs the next step of an import.
const JobImport = "import" // ImportJob

// ImportJob names the run a JobImport job advances.
type ImportJob struct {
	User ID `json:"user"`
	Run  ID `json:"run"`
}

// StartImport records a new import of the archive File for UserID and
// queues its first step. It returns the run, or an ErrConflict error
// while another import of the account is under way (one at a time).
type StartImport struct {
	Meta
	UserID ID     `json:"user_id"`
	Source string `json:"source"`
	File   string `json:"file"`
}

// Shard returns the account's shard.
func (c StartImport) Shard() uint16 { return c.UserID.Shard() }

func (c StartImport) apply(tx *Tx) (*ImportRun, error) {
	if _, err := tx.user(c.UserID); err != nil {
		return nil, err
	}
	if c.Source != SourceInstagram && c.Source != SourceAperture {
		return nil, Invalid("source", "Posts can be imported from instagram or aperture, not %q.", c.Source)
	}
	if c.File == "" {
		return nil, Invalid("file", "Choose the archive to import.")
	}
	busy := false
	tx.walkNewest(bImportRuns, c.UserID, 0, func(id ID) bool {
		r := new(ImportRun)
		if tx.get(bImportRuns, pair(c.UserID, id), r, "The import") == nil && !r.Finished() {
			busy = true
		}
		return !busy
	})
	if busy {
		return nil, Errorf(ErrConflict, "An import into this account is already under way; wait for it to finish.")
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return nil, err
	}
	r := &ImportRun{ID: id, UserID: c.UserID, Source: c.Source, File: c.File, State: ImportQueued, CreatedAt: tx.now, UpdatedAt: tx.now}
	if err := tx.put(bImportRuns, pair(c.UserID, id), r); err != nil {
		return nil, err
	}
	return r, tx.enqueue(JobImport, ImportJob{User: c.UserID, Run: id})
}

// ImportStep records how far an import has come and, unless it is done
// or failed, queues its next step. A step for a run that has already
// finished changes nothing. It returns the run.
type ImportStep struct {
	Meta
	UserID    ID             `json:"user_id"`
	RunID     ID             `json:"run_id"`
	Total     int            `json:"total"`
	Next      int            `json:"next"`
	Posts     int            `json:"posts"`
	Photos    int            `json:"photos"`
	Skipped   map[string]int `json:"skipped,omitempty"`
	Suggested []string       `json:"suggested,omitempty"`
	Done      bool           `json:"done,omitempty"`
	Error     string         `json:"error,omitempty"`
}

// Shard returns the account's shard.
func (c ImportStep) Shard() uint16 { return c.UserID.Shard() }

func (c ImportStep) apply(tx *Tx) (*ImportRun, error) {
	r := new(ImportRun)
	if err := tx.get(bImportRuns, pair(c.UserID, c.RunID), r, "The import"); err != nil {
		return nil, err
	}
	if r.Finished() {
		return r, nil
	}
	r.Total, r.Next, r.Posts, r.Photos, r.Skipped, r.UpdatedAt = c.Total, c.Next, c.Posts, c.Photos, c.Skipped, tx.now
	if c.Suggested != nil {
		r.Suggested = c.Suggested
	}
	switch {
	case c.Error != "":
		r.State, r.Error = ImportFailed, c.Error
	case c.Done:
		r.State = ImportDone
	default:
		r.State = ImportRunning
		if err := tx.enqueue(JobImport, ImportJob{User: c.UserID, Run: c.RunID}); err != nil {
			return nil, err
		}
	}
	return r, tx.put(bImportRuns, pair(c.UserID, c.RunID), r)
}

// ImportRuns returns an account's imports, newest first (at most limit).
func (s *Store) ImportRuns(user ID, limit int) ([]*ImportRun, error) {
	return newestRuns[ImportRun](s, bImportRuns, user, limit)
}

// newestRuns returns up to limit of an account's records in b (keyed
// user | run ID), newest first: its imports or its exports.
func newestRuns[T any](s *Store, b []byte, user ID, limit int) ([]*T, error) {
	var out []*T
	err := s.view(func(tx *Tx) error {
		tx.walkNewest(b, user, 0, func(id ID) bool {
			r := new(T)
			if tx.get(b, pair(user, id), r, "") == nil {
				out = append(out, r)
			}
			return len(out) < limit
		})
		return nil
	})
	return out, err
}

// ImportRun returns one of an account's imports, or an ErrNotFound error.
func (s *Store) ImportRun(user, id ID) (*ImportRun, error) {
	r := new(ImportRun)
	err := s.view(func(tx *Tx) error { return tx.get(bImportRuns, pair(user, id), r, "The import") })
	return r, err
}

// ActiveImports returns every import not yet finished, on every
// partition, for the administrators' view.
func (s *Store) ActiveImports(ctx context.Context) ([]*ImportRun, error) {
	var out []*ImportRun
	for part := range s.Partitions() {
		err := s.viewPart(part, func(tx *Tx) error {
			return tx.bucket(bImportRuns).ForEach(func(_, v []byte) error {
				r := new(ImportRun)
				if err := decode(v, r); err != nil {
					return err
				}
				if !r.Finished() {
					out = append(out, r)
				}
				return ctx.Err()
			})
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
