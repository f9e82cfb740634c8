package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"aperture/store"
)

const hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestMediaLifecycle(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, "")
	u := mustCreate(t, s, "photographer")
	create := func(at time.Time, hash string) *store.Media {
		t.Helper()
		m, err := store.Exec(ctx, s, store.CreateMedia{Meta: store.At(at), OwnerID: u.ID, Hash: hash, Width: 1080, Height: 1350,
			Alt: "a cat", Variants: map[string]store.MediaVariant{"large": {Width: 1080, Height: 1350}}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a := create(t0, hashA)
	b := create(t0.Add(time.Hour), hashA) // same photo again
	if a.ID.Shard() != u.ID.Shard() || a.Alt != "a cat" {
		t.Fatalf("media %+v", a)
	}
	users, _ := s.BlobUsers(hashA, 10)
	if len(users) != 2 {
		t.Fatalf("%d users of the blob", len(users))
	}
	// After 24 h the first is unattached and expires; the blob is still used.
	ex, err := s.ExpireUnattached(ctx, t0.Add(25*time.Hour), t0.Add(30*time.Minute))
	if err != nil || ex.Count != 1 || len(ex.Orphans) != 0 {
		t.Fatalf("expired %+v %v", ex, err)
	}
	if _, err := s.Media(a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired media still there: %v", err)
	}
	if unused, _ := s.BlobUnused(hashA); unused {
		t.Fatal("blob reported unused while b uses it")
	}
	ex, _ = s.ExpireUnattached(ctx, t0.Add(26*time.Hour), t0.Add(2*time.Hour))
	if ex.Count != 1 || len(ex.Orphans) != 1 || ex.Orphans[0] != hashA {
		t.Fatalf("expired %+v", ex)
	}
	if _, err := s.Media(b.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("b not expired")
	}
	if unused, _ := s.BlobUnused(hashA); !unused {
		t.Fatal("blob still referenced")
	}
	queued, _ := s.BlobsToCollect(t0.Add(27*time.Hour), 10)
	if len(queued) != 1 {
		t.Fatalf("queue %v", queued)
	}
	// Re-uploading the photo takes it off the queue.
	create(t0.Add(26*time.Hour), hashA)
	if queued, _ := s.BlobsToCollect(t0.Add(27*time.Hour), 10); len(queued) != 0 {
		t.Fatalf("re-used blob still queued: %v", queued)
	}
	s.BlobsGone(ctx, t0, []string{hashA})
}

func TestMediaValidation(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, "")
	u := mustCreate(t, s, "val")
	if _, err := store.Exec(ctx, s, store.CreateMedia{Meta: store.At(t0), OwnerID: u.ID, Hash: "nope"}); !errors.Is(err, store.ErrInvalid) {
		t.Fatalf("bad hash: %v", err)
	}
	_, err := store.Exec(ctx, s, store.CreateMedia{Meta: store.At(t0), OwnerID: u.ID, Hash: hashA, Alt: strings.Repeat("x", 1501)})
	var e *store.Error
	if !errors.As(err, &e) || e.Field != "alt" {
		t.Fatalf("long alt: %v", err)
	}
	if _, err := store.Exec(ctx, s, store.CreateMedia{Meta: store.At(t0), OwnerID: 999, Hash: hashA}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown owner: %v", err)
	}
}
