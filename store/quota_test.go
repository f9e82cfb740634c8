package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"aperture/store"
)

// TestQuota: photos count against their owner's quota; over it the
// upload is refused with what is used, and deleting photos frees room.
func TestQuota(t *testing.T) {
	s := MustOpen(t, t.TempDir())
	ctx := context.Background()
	u := mustCreate(t, s, "saver")
	create := func(i int) (*store.Media, error) {
		return store.Exec(ctx, s, store.CreateMedia{Meta: store.At(time.Now()), OwnerID: u.ID, Hash: fmt.Sprintf("%064x", i),
			Width: 10, Height: 10, Quota: 1 << 20, Variants: map[string]store.MediaVariant{"large": {Width: 10, Height: 10, Bytes: 400 << 10}}})
	}
	for i := range 2 {
		if _, err := create(i); err != nil {
			t.Fatal(err)
		}
	}
	_, err := create(2)
	if !errors.Is(err, store.ErrTooLarge) || !strings.Contains(err.Error(), "you already use 0.8 MB of your 1.0 MB") {
		t.Fatalf("over quota: %v", err)
	}
	if n, _ := s.Usage(u.ID); n != 800<<10 {
		t.Fatalf("usage %d", n)
	}
	// Unattached photos expire; their bytes are freed.
	if _, err := store.Exec(ctx, s, store.ExpireMedia{Meta: store.At(time.Now()), Before: time.Now().Add(time.Hour), Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Usage(u.ID); n != 0 {
		t.Fatalf("usage after expiry %d", n)
	}
	if _, err := create(3); err != nil {
		t.Fatalf("after freeing room: %v", err)
	}
}
