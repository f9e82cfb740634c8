package store

import (
	"crypto/subtle"
	"time"
)

// Session is one signed-in device. Its refresh token is stored only as a
// SHA-256 hash; every refresh replaces it, and the spent hashes are kept so
// that a replayed token can be recognised and the session revoked.
type Session struct {
	ID          ID        `json:"id"`
	UserID      ID        `json:"user_id"`
	RefreshHash []byte    `json:"refresh_hash"`
	UserAgent   string    `json:"user_agent,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	RefreshedAt time.Time `json:"refreshed_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	RevokedAt   time.Time `json:"revoked_at,omitzero"`
}

// Active reports whether the session can be used at time t.
func (s *Session) Active(t time.Time) bool {
	return s.RevokedAt.IsZero() && t.Before(s.ExpiresAt)
}

// CreateSession starts a session for a user. Its result is the new
// *Session, on the user's shard. It fails with ErrNotFound for an unknown
// user.
type CreateSession struct {
	Meta
	UserID      ID            `json:"user_id"`
	RefreshHash []byte        `json:"refresh_hash"`
	TTL         time.Duration `json:"ttl"`
	UserAgent   string        `json:"user_agent,omitempty"`
}

// Shard returns the user's shard.
func (c CreateSession) Shard() uint16 { return c.UserID.Shard() }

func (c CreateSession) apply(tx *Tx) (*Session, error) {
	if _, err := tx.user(c.UserID); err != nil {
		return nil, err
	}
	id, err := tx.NewID(c.Shard())
	if err != nil {
		return nil, err
	}
	s := &Session{ID: id, UserID: c.UserID, RefreshHash: c.RefreshHash, UserAgent: truncate(c.UserAgent, 200),
		CreatedAt: tx.now, RefreshedAt: tx.now, ExpiresAt: tx.now.Add(c.TTL)}
	return s, tx.put(bSessions, id.key(), s)
}

// RotateRefresh spends the refresh token whose hash is OldHash and makes
// NewHash the session's refresh token, valid for TTL from now. Its result
// is the session. If OldHash was spent before, the token was stolen or
// replayed: the session is revoked, and the result is the revoked session
// (check Active). It fails with ErrUnauthorized if the session is unknown,
// expired, revoked or ended with its account's suspension or deletion
// (see User.SessionEnded), or the hash matches nothing; then nothing
// changes.
type RotateRefresh struct {
	Meta
	SessionID ID            `json:"session_id"`
	OldHash   []byte        `json:"old_hash"`
	NewHash   []byte        `json:"new_hash"`
	TTL       time.Duration `json:"ttl"`
}

// Shard returns the session's shard.
func (c RotateRefresh) Shard() uint16 { return c.SessionID.Shard() }

var (
	errBadRefresh   = Errorf(ErrUnauthorized, "Your session has ended; sign in again.")
	errEndedSession = Errorf(ErrUnauthorized, "This account is suspended or deleted, or its sessions were ended; sign in again if you can.")
)

func (c RotateRefresh) apply(tx *Tx) (*Session, error) {
	s := new(Session)
	if err := tx.get(bSessions, c.SessionID.key(), s, "That session"); err != nil {
		return nil, errBadRefresh
	}
	if !s.Active(tx.now) {
		return nil, errBadRefresh
	}
	if u, err := tx.user(s.UserID); err != nil || u.SessionEnded(s.CreatedAt) {
		return nil, errEndedSession
	}
	spent := tx.bucket(bSpent)
	if subtle.ConstantTimeCompare(s.RefreshHash, c.OldHash) != 1 {
		if spent.Get(spentKey(s.ID, c.OldHash)) == nil {
			return nil, errBadRefresh
		}
		s.RevokedAt = tx.now
		return s, tx.put(bSessions, s.ID.key(), s)
	}
	if err := tx.set(bSpent, spentKey(s.ID, c.OldHash), []byte{1}); err != nil {
		return nil, err
	}
	s.RefreshHash, s.RefreshedAt, s.ExpiresAt = c.NewHash, tx.now, tx.now.Add(c.TTL)
	return s, tx.put(bSessions, s.ID.key(), s)
}

func spentKey(sid ID, hash []byte) []byte {
	return append(sid.key(), hash...)
}

// RevokeSession ends a session at once. Its result is the session;
// revoking a revoked session changes nothing. It fails with ErrNotFound
// for an unknown session.
type RevokeSession struct {
	Meta
	SessionID ID `json:"session_id"`
}

// Shard returns the session's shard.
func (c RevokeSession) Shard() uint16 { return c.SessionID.Shard() }

func (c RevokeSession) apply(tx *Tx) (*Session, error) {
	s := new(Session)
	if err := tx.get(bSessions, c.SessionID.key(), s, "That session"); err != nil {
		return nil, err
	}
	if s.RevokedAt.IsZero() {
		s.RevokedAt = tx.now
		if err := tx.put(bSessions, s.ID.key(), s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Session returns the session with this ID, or ErrNotFound.
func (s *Store) Session(id ID) (*Session, error) {
	// A session made through another node a moment ago is here too.
	if err := s.synced(id); err != nil {
		return nil, err
	}
	out := new(Session)
	err := s.view(func(tx *Tx) error { return tx.get(bSessions, id.key(), out, "That session") })
	if err != nil {
		return nil, err
	}
	return out, nil
}
