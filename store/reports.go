package store

import (
	"cmp"
	"context"
	"slices"
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
// reporter cannot see. The report lives in the reporter's partition;
// prepare checks what it names, which lives in another.
type FileReport struct {
	Meta
	ReporterID ID     `json:"reporter_id"`
	PostID     ID     `json:"post_id,omitempty"`
	UserID     ID     `json:"user_id,omitempty"`
	Reason     string `json:"reason"`
}

// Shard returns the reporter's shard.
func (c FileReport) Shard() uint16 { return c.ReporterID.Shard() }

func (c FileReport) prepare(_ context.Context, s *Store) (Command[*Report], func(*Report, error) (*Report, error), error) {
	if _, err := checkReason(c.Reason); err != nil {
		return nil, nil, err
	}
	err := s.view(func(tx *Tx) error {
		switch {
		case c.PostID != 0:
			p, err := tx.post(c.PostID)
			if err != nil {
				return err
			}
			if _, err := tx.canSeePost(c.ReporterID, p); err != nil {
				return err
			}
			c.UserID = p.AuthorID
		case c.UserID != 0:
			u, err := tx.user(c.UserID)
			if err != nil {
				return err
			}
			if tx.blocked(c.ReporterID, u.ID) && !tx.has(bBlocks, pair(c.ReporterID, u.ID)) || u.Suspended {
				return Errorf(ErrNotFound, "That account was not found.")
			}
		default:
			return Invalid("post_id", "Say which post or account you are reporting.")
		}
		return nil
	})
	return c, nil, err
}

func checkReason(r string) (string, error) {
	reason := strings.TrimSpace(r)
	if reason == "" || utf8.RuneCountInString(reason) > 500 {
		return "", Invalid("reason", "Say in 1 to 500 characters what is wrong.")
	}
	return reason, nil
}

func (c FileReport) apply(tx *Tx) (*Report, error) {
	reason, err := checkReason(c.Reason)
	if err != nil {
		return nil, err
	}
	if c.UserID == 0 {
		return nil, Invalid("post_id", "Say which post or account you are reporting.")
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return nil, err
	}
	r := &Report{ID: id, ReporterID: c.ReporterID, PostID: c.PostID, UserID: c.UserID, Reason: reason, CreatedAt: tx.now, Status: ReportOpen}
	return r, tx.put(bReports, id.key(), r)
}

// JobModerate carries out a report resolved with "remove" in the
// partition of what it names.
const JobModerate = "moderate" // Report

// ResolveReport closes an open report: Remove deletes the reported post
// (or, for an account, suspends it, unless it is an administrator's)
// through the outbox; otherwise the report is dismissed. Only an
// administrator may (checked by prepare). It returns the report.
type ResolveReport struct {
	Meta
	AdminID  ID   `json:"admin_id"`
	ReportID ID   `json:"report_id"`
	Remove   bool `json:"remove"`
}

// Shard returns the report's shard.
func (c ResolveReport) Shard() uint16 { return c.ReportID.Shard() }

func (c ResolveReport) prepare(_ context.Context, s *Store) (Command[*Report], func(*Report, error) (*Report, error), error) {
	if err := s.requireAdmin(c.AdminID); err != nil {
		return nil, nil, err
	}
	return c, nil, nil
}

func (c ResolveReport) apply(tx *Tx) (*Report, error) {
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
		if err := tx.moderate(r); err != nil {
			return nil, err
		}
	}
	return r, tx.put(bReports, r.ID.key(), r)
}

// moderate carries out a report resolved with "remove": at once when what
// it names lives in this partition, else through a moderation job.
func (t *Tx) moderate(r *Report) error {
	if t.parts > 1 && int(r.UserID.Shard())%t.parts != t.part {
		return t.enqueue(JobModerate, r)
	}
	if r.PostID != 0 {
		if p, err := t.post(r.PostID); err == nil {
			return t.deletePost(p)
		}
		return nil
	}
	u, err := t.user(r.UserID)
	if err != nil || u.Admin || u.Suspended {
		return nil
	}
	return t.suspend(u, true)
}

// Reports returns reports newest first, from every partition; open only
// when openOnly.
func (s *Store) Reports(openOnly bool, limit int) ([]*Report, error) {
	var out []*Report
	err := s.view(func(tx *Tx) error {
		return tx.eachPart(func(pt *Tx) error {
			c := pt.bucket(bReports).Cursor()
			n := 0
			for k, v := c.Last(); k != nil && n < limit; k, v = c.Prev() {
				r := new(Report)
				if err := decode(v, r); err != nil {
					return err
				}
				if !openOnly || r.Status == ReportOpen {
					out = append(out, r)
					n++
				}
			}
			return nil
		})
	})
	slices.SortFunc(out, func(a, b *Report) int { return cmp.Compare(b.ID, a.ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}
