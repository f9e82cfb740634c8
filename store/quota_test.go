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
	if _, err := s.ExpireUnattached(ctx, time.Now(), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Usage(u.ID); n != 0 {
		t.Fatalf("usage after expiry %d", n)
	}
	if _, err := create(3); err != nil {
		t.Fatalf("after freeing room: %v", err)
	}
}

func TestPreferencesQuietHours(t *testing.T) {
	p := store.Preferences{QuietFrom: "22:00", QuietTo: "07:00", UTCOffset: 60} // UTC+1
	at := func(h, m int) time.Time { return time.Date(2026, 11, 26, h, m, 0, 0, time.UTC) }
	for _, c := range []struct {
		t    time.Time
		want bool
	}{{at(20, 59), true}, {at(21, 0), false}, {at(3, 0), false}, {at(5, 59), false}, {at(6, 0), true}, {at(12, 0), true}} {
		if got := p.Pushes(store.ActLike, 1, c.t); got != c.want {
			t.Errorf("%s UTC: pushes %v", c.t.Format("15:04"), got)
		}
	}
	p = store.Preferences{Push: []string{store.ActComment}, Muted: []store.ID{9}}
	if p.Pushes(store.ActLike, 1, at(12, 0)) || !p.Pushes(store.ActComment, 1, at(12, 0)) || p.Pushes(store.ActComment, 9, at(12, 0)) {
		t.Fatal("types or mutes ignored")
	}
}
