package store

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Report is a user's complaint about a post or an account, until an
// administrator resolves it.
type Report struct {
	ID         ID        `json:"id"`
	ReporterID ID        `json:"reporter_id"`
	PostID     ID        `json:"post_id,omitempty"`
	UserID     ID        `json:"user_id"` // the account reported, or the post's author
	Reason     string    `json:"reason"`
	CreatedAt  time.Time `json:"created_at"`
	Status     string    `json:"status"` // open, removed, dismissed
	ResolvedBy ID        `json:"resolved_by,omitempty"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
}

// Report statuses.
const (
	ReportOpen      = "open"
	ReportRemoved   = "removed"
	ReportDismissed = "dismissed"
)

// FileReport reports a post (PostID) or an account (UserID) that the
// reporter can see, with a reason of 1–500 characters. It fails with
// ErrInvalid for a missing or long reason, ErrNotFound for what the
// reporter cannot see.
type FileReport struct {
	Meta
	ReporterID ID     `json:"reporter_id"`
	PostID     ID     `json:"post_id,omitempty"`
	UserID     ID     `json:"user_id,omitempty"`
	Reason     string `json:"reason"`
}

// Shard returns the reporter's shard.
func (c FileReport) Shard() uint16 { return c.ReporterID.Shard() }

func (c FileReport) apply(tx *Tx) (*Report, error) {
	reason := strings.TrimSpace(c.Reason)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return nil, Invalid("reason", "Say in 1 to 500 characters what is wrong.")
	}
	r := &Report{ReporterID: c.ReporterID, Reason: reason, CreatedAt: tx.now, Status: ReportOpen}
	switch {
	case c.PostID != 0:
		p, err := tx.post(c.PostID)
		if err != nil {
			return nil, err
		}
		if _, err := tx.canSeePost(c.ReporterID, p); err != nil {
			return nil, err
		}
		r.PostID, r.UserID = p.ID, p.AuthorID
	case c.UserID != 0:
		u, err := tx.user(c.UserID)
		if err != nil {
			return nil, err
		}
		if tx.blocked(c.ReporterID, u.ID) && !tx.has(bBlocks, pair(c.ReporterID, u.ID)) || u.Suspended {
			return nil, Errorf(ErrNotFound, "That account was not found.")
		}
		r.UserID = u.ID
	default:
		return nil, Invalid("post_id", "Say which post or account you are reporting.")
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return nil, err
	}
	r.ID = id
	return r, tx.put(bReports, id.key(), r)
}

// ResolveReport closes an open report: Remove deletes the reported post
// (or, for an account, suspends it); otherwise the report is dismissed.
// Only an administrator may. It returns the report.
type ResolveReport struct {
	Meta
	AdminID  ID   `json:"admin_id"`
	ReportID ID   `json:"report_id"`
	Remove   bool `json:"remove"`
}

// Shard returns the report's shard.
func (c ResolveReport) Shard() uint16 { return c.ReportID.Shard() }

func (c ResolveReport) apply(tx *Tx) (*Report, error) {
	if err := tx.requireAdmin(c.AdminID); err != nil {
		return nil, err
	}
	r := new(Report)
	if err := tx.get(bReports, c.ReportID.key(), r, "That report"); err != nil {
		return nil, err
	}
	if r.Status != ReportOpen {
		return nil, Errorf(ErrConflict, "That report was already resolved.")
	}
	r.Status, r.ResolvedBy, r.ResolvedAt = ReportDismissed, c.AdminID, tx.now
	if c.Remove {
		r.Status = ReportRemoved
		if r.PostID != 0 {
			if p, err := tx.post(r.PostID); err == nil {
				if err := tx.deletePost(p); err != nil {
					return nil, err
				}
			}
		} else if u, err := tx.user(r.UserID); err == nil && !u.Admin && !u.Suspended {
			if err := tx.suspend(u, true); err != nil {
				return nil, err
			}
		}
	}
	return r, tx.put(bReports, r.ID.key(), r)
}

// Reports returns reports newest first; open only when openOnly.
func (s *Store) Reports(openOnly bool, limit int) ([]*Report, error) {
	var out []*Report
	err := s.view(func(tx *Tx) error {
		c := tx.bucket(bReports).Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			r := new(Report)
			if err := decode(v, r); err != nil {
				return err
			}
			if !openOnly || r.Status == ReportOpen {
				out = append(out, r)
			}
		}
		return nil
	})
	return out, err
}
