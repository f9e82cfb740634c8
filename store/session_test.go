package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"aperture/store"
)

func TestSessionRotateAndReuse(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, "")
	u := mustCreate(t, s, "erin")
	sess, err := store.Exec(ctx, s, store.CreateSession{Meta: store.At(t0), UserID: u.ID, RefreshHash: []byte("h1"), TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if sess.ID.Shard() != u.ID.Shard() {
		t.Fatalf("session shard %d, user shard %d", sess.ID.Shard(), u.ID.Shard())
	}
	rot := func(old, nw string, at time.Time) (*store.Session, error) {
		return store.Exec(ctx, s, store.RotateRefresh{Meta: store.At(at), SessionID: sess.ID, OldHash: []byte(old), NewHash: []byte(nw), TTL: time.Hour})
	}
	got, err := rot("h1", "h2", t0.Add(time.Minute))
	if err != nil || !got.Active(t0.Add(time.Minute)) || string(got.RefreshHash) != "h2" {
		t.Fatalf("rotate: %+v %v", got, err)
	}
	if _, err := rot("nope", "h3", t0.Add(2*time.Minute)); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("unknown hash: %v", err)
	}
	// h1 was spent: presenting it again revokes the whole session.
	got, err = rot("h1", "h3", t0.Add(3*time.Minute))
	if err != nil || got.Active(t0.Add(3*time.Minute)) {
		t.Fatalf("reuse must revoke: %+v %v", got, err)
	}
	if _, err := rot("h2", "h4", t0.Add(4*time.Minute)); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("the current token of a revoked session still works: %v", err)
	}
	stored, _ := s.Session(sess.ID)
	if stored.RevokedAt.IsZero() {
		t.Fatal("revocation was not stored")
	}
}

func TestSessionExpiryAndRevoke(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, "")
	u := mustCreate(t, s, "fred")
	sess, _ := store.Exec(ctx, s, store.CreateSession{Meta: store.At(t0), UserID: u.ID, RefreshHash: []byte("a"), TTL: time.Hour})
	if _, err := store.Exec(ctx, s, store.RotateRefresh{Meta: store.At(t0.Add(2 * time.Hour)), SessionID: sess.ID, OldHash: []byte("a"), NewHash: []byte("b"), TTL: time.Hour}); !errors.Is(err, store.ErrUnauthorized) {
		t.Fatalf("expired session refreshed: %v", err)
	}
	r, err := store.Exec(ctx, s, store.RevokeSession{Meta: store.At(t0.Add(time.Minute)), SessionID: sess.ID})
	if err != nil || r.Active(t0.Add(time.Minute)) {
		t.Fatalf("revoke: %v", err)
	}
	if _, err := store.Exec(ctx, s, store.CreateSession{Meta: store.At(t0), UserID: 12345, TTL: time.Hour}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session for unknown user: %v", err)
	}
}
