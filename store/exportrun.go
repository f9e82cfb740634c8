package store

import (
	"context"
	"encoding/binary"
	"time"
)

// An ExportRun is one "Download your data" request: a JobExport job
// writes the archive, and it may be downloaded until it expires.
type ExportRun struct {
	ID        ID        `json:"id"`
	UserID    ID        `json:"user_id"`
	State     string    `json:"state"`          // ImportQueued, ImportDone or ImportFailed
	File      string    `json:"file,omitempty"` // in the data directory's exports folder, once written
	Bytes     int64     `json:"bytes,omitempty"`
	Error     string    `json:"error,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ReadyAt   time.Time `json:"ready_at,omitempty"`
	Expires   time.Time `json:"expires,omitempty"`
}

// Export limits: how long a download stays, and how often one is made.
const (
	ExportKept  = 24 * time.Hour
	ExportEvery = time.Hour
)

// JobExport writes an account's export.
const JobExport = "export" // ImportJob{User, Run}

// StartExport queues an export of the account. It returns the run, or an
// ErrConflict error while one is being made or when one was asked for
// within ExportEvery.
type StartExport struct {
	Meta
	UserID ID `json:"user_id"`
}

// Shard returns the account's shard.
func (c StartExport) Shard() uint16 { return c.UserID.Shard() }

func (c StartExport) apply(tx *Tx) (*ExportRun, error) {
	if _, err := tx.user(c.UserID); err != nil {
		return nil, err
	}
	var last *ExportRun
	tx.walkNewest(bExportRuns, c.UserID, 0, func(id ID) bool {
		last = new(ExportRun)
		if tx.get(bExportRuns, pair(c.UserID, id), last, "The export") != nil {
			last = nil
		}
		return false
	})
	switch {
	case last != nil && last.State == ImportQueued:
		return nil, Errorf(ErrConflict, "Your data is being gathered already; the download appears here when it is ready.")
	case last != nil && tx.now.Sub(last.CreatedAt) < ExportEvery:
		return nil, Errorf(ErrConflict, "You asked for your data %d minutes ago; you can ask again in %d minutes.",
			int(tx.now.Sub(last.CreatedAt).Minutes()), int((ExportEvery-tx.now.Sub(last.CreatedAt)).Minutes())+1)
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return nil, err
	}
	r := &ExportRun{ID: id, UserID: c.UserID, State: ImportQueued, CreatedAt: tx.now}
	if err := tx.put(bExportRuns, pair(c.UserID, id), r); err != nil {
		return nil, err
	}
	return r, tx.enqueue(JobExport, ImportJob{User: c.UserID, Run: id})
}

// ExportDone records that an export was written (File, Bytes) or failed
// (Error). It returns the run.
type ExportDone struct {
	Meta
	UserID ID     `json:"user_id"`
	RunID  ID     `json:"run_id"`
	File   string `json:"file,omitempty"`
	Bytes  int64  `json:"bytes,omitempty"`
	Error  string `json:"error,omitempty"`
}

// Shard returns the account's shard.
func (c ExportDone) Shard() uint16 { return c.UserID.Shard() }

func (c ExportDone) apply(tx *Tx) (*ExportRun, error) {
	r := new(ExportRun)
	if err := tx.get(bExportRuns, pair(c.UserID, c.RunID), r, "The export"); err != nil {
		return nil, err
	}
	if r.State != ImportQueued {
		return r, nil
	}
	if c.Error != "" {
		r.State, r.Error = ImportFailed, c.Error
	} else {
		r.State, r.File, r.Bytes, r.ReadyAt, r.Expires = ImportDone, c.File, c.Bytes, tx.now, tx.now.Add(ExportKept)
	}
	return r, tx.put(bExportRuns, pair(c.UserID, c.RunID), r)
}

// ExportRuns returns an account's exports, newest first (at most limit).
func (s *Store) ExportRuns(user ID, limit int) ([]*ExportRun, error) {
	return newestRuns[ExportRun](s, bExportRuns, user, limit)
}

// LikeGiven is a post an account likes, and since when.
type LikeGiven struct {
	PostID ID        `json:"post_id"`
	At     time.Time `json:"at"`
}

// WrittenBy returns, for an account's export, every comment it wrote and
// every post it likes, oldest first, from every partition (they are kept
// with the posts).
func (s *Store) WrittenBy(ctx context.Context, user ID) ([]*Comment, []LikeGiven, error) {
	var comments []*Comment
	var likes []LikeGiven
	for part := range s.Partitions() {
		err := s.viewPart(part, func(tx *Tx) error {
			var ids []ID
			tx.walkOldest(bUserComms, user, 0, func(id ID) bool { ids = append(ids, id); return true })
			for _, id := range ids {
				cm := new(Comment)
				if decode(tx.bucket(bComments).Get(id.key()), cm) == nil {
					comments = append(comments, cm)
				}
			}
			tx.walkOldest(bUserLikes, user, 0, func(post ID) bool {
				l := LikeGiven{PostID: post}
				if v := tx.bucket(bLikes).Get(pair(post, user)); len(v) == 8 {
					l.At = time.UnixMilli(int64(binary.BigEndian.Uint64(v))).UTC()
				}
				likes = append(likes, l)
				return ctx.Err() == nil
			})
			return ctx.Err()
		})
		if err != nil {
			return nil, nil, err
		}
	}
	return comments, likes, nil
}
