package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"aperture/store"
	"aperture/store/storetest"
)

// MustOpen opens a store on a real bbolt file in a temp dir.
func MustOpen(tb testing.TB, dir string) *store.Store {
	tb.Helper()
	if dir == "" {
		dir = tb.TempDir()
	}
	s, err := storetest.Open(dir, store.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

func mustCreate(tb testing.TB, s *store.Store, name string) *store.User {
	tb.Helper()
	u, err := store.Exec(context.Background(), s, store.CreateUser{Meta: store.At(t0), Username: name, PasswordHash: "x"})
	if err != nil {
		tb.Fatalf("create %s: %v", name, err)
	}
	return u
}

func TestUserCreateGetUpdate(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t, "")
	u, err := store.Exec(ctx, s, store.CreateUser{Meta: store.At(t0), Username: "Alice", PasswordHash: "h", Email: "a@example.org", DisplayName: " Alice A "})
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "alice" || u.DisplayName != "Alice A" || u.ID == 0 || u.ID.Shard() != store.ShardForUsername("alice") {
		t.Fatalf("created %+v", u)
	}
	if !u.CreatedAt.Equal(t0) || !u.ID.Time().Equal(t0) {
		t.Fatalf("times come from the command: created %v id %v", u.CreatedAt, u.ID.Time())
	}
	got, err := s.UserByUsername("ALICE")
	if err != nil || got.ID != u.ID {
		t.Fatalf("by username: %v %v", got, err)
	}
	bio, priv, site := "hello", true, "example.org/me"
	up, err := store.Exec(ctx, s, store.UpdateProfile{Meta: store.At(t0.Add(time.Hour)), UserID: u.ID, Bio: &bio, Private: &priv, Website: &site})
	if err != nil {
		t.Fatal(err)
	}
	if up.Bio != "hello" || !up.Private || up.Website != "https://example.org/me" || up.DisplayName != "Alice A" {
		t.Fatalf("updated %+v", up)
	}
	got, _ = s.User(u.ID)
	if got.Bio != "hello" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("read back %+v", got)
	}
	if _, err := s.User(u.ID + 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown id: %v", err)
	}
}

func TestUsernameRules(t *testing.T) {
	s := MustOpen(t, "")
	mustCreate(t, s, "bob")
	for _, tc := range []struct {
		name string
		want error
	}{
		{"BOB", store.ErrConflict},
		{" Bob ", store.ErrConflict},
		{"", store.ErrInvalid},
		{"a-b", store.ErrInvalid},
		{"ünïcode", store.ErrInvalid},
		{".dot", store.ErrInvalid},
		{"a..b", store.ErrInvalid},
		{"admin", store.ErrInvalid},
		{"API", store.ErrInvalid},
		{"media", store.ErrInvalid},
		{"static", store.ErrInvalid},
		{"abcdefghijabcdefghijabcdefghija", store.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Exec(context.Background(), s, store.CreateUser{Meta: store.At(t0), Username: tc.name, PasswordHash: "x"})
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if _, ok := store.Safe(err); !ok {
				t.Fatalf("error %v has no safe sentence", err)
			}
		})
	}
	if _, err := store.Exec(context.Background(), s, store.CreateUser{Meta: store.At(t0), Username: "abcdefghijabcdefghijabcdefghij", PasswordHash: "x"}); err != nil {
		t.Fatalf("30 characters are allowed: %v", err)
	}
}

func TestProfileValidation(t *testing.T) {
	s := MustOpen(t, "")
	u := mustCreate(t, s, "carol")
	long := string(make([]rune, 151))
	for field, cmd := range map[string]store.UpdateProfile{
		"bio":          {UserID: u.ID, Bio: &long},
		"website":      {UserID: u.ID, Website: ptr("javascript:alert(1)")},
		"email":        {UserID: u.ID, Email: ptr("not-an-email")},
		"display_name": {UserID: u.ID, DisplayName: ptr("two\nlines")},
	} {
		cmd.Meta = store.At(t0)
		_, err := store.Exec(context.Background(), s, cmd)
		var e *store.Error
		if !errors.As(err, &e) || e.Field != field || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: got %v", field, err)
		}
	}
	got, _ := s.User(u.ID)
	if got.Bio != "" || got.Website != "" || got.Email != "" {
		t.Fatalf("a failed update left a trace: %+v", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	s, err := storetest.Open(dir, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u := mustCreate(t, s, "dave")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Exec(context.Background(), s, store.CreateUser{Meta: store.At(t0), Username: "late", PasswordHash: "x"}); !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("exec after close: %v", err)
	}
	s2 := MustOpen(t, dir)
	got, err := s2.UserByUsername("dave")
	if err != nil || got.ID != u.ID {
		t.Fatalf("after reopen: %v %v", got, err)
	}
	if v, _ := s2.Schema(); v != store.SchemaVersion() {
		t.Fatalf("schema %d", v)
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	dir := t.TempDir()
	MustOpen(t, dir)
	start := time.Now()
	_, err := storetest.Open(dir, store.Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("second open: %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("second open took %v", d)
	}
}
